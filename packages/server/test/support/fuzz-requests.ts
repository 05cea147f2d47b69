import fc from 'fast-check';
import type { FuzzRequest, FuzzTarget } from './fuzz-target.js';
import { FLOW_HOST_ORIGIN } from './install-flow.js';

// What the fuzzer sends: drawn by fast-check from the route table, hostile values and the target's credentials.

/** Path segments an attacker tries: traversal, encodings, prototype names, sizes, scripts. */
const hostileSegment = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '..',
    '%2e%2e',
    '%252e%252e',
    '%2f',
    '%5c',
    '%',
    '%ff',
    '%c0%ae',
    '%00',
    '%E0%A4%A',
    '.',
    'null',
    'undefined',
    '-1',
    '0',
    'key_',
    'ses_x',
    'con_0000000000000000000000',
    'ins_0000000000000000000000',
    '%3Cscript%3E',
    'a'.repeat(3000),
  ),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);

const queryKey = fc.oneof(
  fc.constantFrom(
    'limit',
    'cursor',
    'topics',
    'after',
    'tenantId',
    'tag',
    'status',
    'connector',
    'search',
    'active',
    'from',
    'to',
    'keyId',
    'resourceType',
    'resourceId',
    'actor',
    'action',
    'outcome',
    'reason',
    'mode',
    'origin',
    'state',
    'code',
    'error',
    'method',
    'reauth',
    '__proto__',
    'constructor[prototype][x]',
    'tag[]',
    'limit[a]',
  ),
  fc.string({ maxLength: 10 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    '1',
    '0',
    '-1',
    '1e309',
    '500',
    '501',
    'NaN',
    'true',
    'app/*',
    'app/order/created',
    'fusebit.tenantId=fuzz-tenant',
    '=',
    '%',
    '%ff',
    '',
    'key.',
    'a_%.',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 3000, minLength: 1000 }),
);
const query = fc.option(
  fc
    .array(fc.tuple(queryKey, queryValue), { maxLength: 4 })
    .map(
      (pairs) =>
        `?${pairs.map(([key, value]) => `${encodeURIComponent(key)}=${value === '%' || value === '%ff' ? value : encodeURIComponent(value)}`).join('&')}`,
    ),
  { freq: 2 },
);

/** Field names the schemas know, so wrong types reach the validators rather than stopping at unknown keys. */
const FIELDS = [
  'name',
  'scopes',
  'tenantId',
  'topic',
  'payload',
  'appName',
  'appDescription',
  'metadata',
  'code',
  'pattern',
  'environment',
  'send',
  'receive',
  'gracePeriodSeconds',
  'graceSeconds',
  'ttlSeconds',
  'redirectUrl',
  'tags',
  'connector',
  'connectionId',
  'label',
  'slug',
  'baseUrl',
  'authMethods',
  'actions',
  'expiresAt',
  'ipAllowlist',
  'description',
  'input',
  'publish',
  'consume',
  'contact',
  'note',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];

/** Deep nesting, alone and where a valid body carries free-form JSON (an event payload, an action body, metadata). */
const deepJson = fc
  .tuple(
    fc.constantFrom(63, 64, 65, 200, 5000),
    fc.boolean(),
    fc.constantFrom(
      '%s',
      '{"topic":"app/fuzz","payload":%s}',
      '{"note":%s}',
      '{"appName":"Deep","metadata":%s}',
      '{"slug":"deep","name":"Deep","baseUrl":"https://example.com","authMethods":[{"type":"bearer"}],"actions":{"a":{"method":"POST","path":"/x","body":%s}}}',
      '{"tenantId":"fuzz-tenant","tags":%s}',
    ),
  )
  .map(([levels, arrays, template]) =>
    template.replace('%s', arrays ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)),
  );
const wrongTypes = fc
  .dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, -1, 1e308, '', [], {}, true, 'x'.repeat(600))), {
    maxKeys: 5,
  })
  .map((object) => JSON.stringify(object));
/** Known-good shapes with one field spoiled, so the deeper code paths run too. */
const nearlyValid = fc.constantFrom(
  '{"topic":"app/fuzz","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}}',
  '{"name":"fuzz","scopes":["admin"],"ipAllowlist":["300.1.1.1/99"]}',
  '{"name":"fuzz","scopes":["read-only"],"expiresAt":"not a date"}',
  '{"tenantId":"fuzz-tenant","redirectUrl":"javascript:alert(1)"}',
  '{"tenantId":"fuzz-tenant","tags":{"__proto__":"x"}}',
  '{"appName":"x","metadata":{"tags":["a"],"__proto__":{"admin":true}}}',
  '{"pattern":"app/*","receive":true,"environment":"__proto__"}',
  '{"slug":"fuzz","name":"Fuzz","baseUrl":"http://169.254.169.254/","authMethods":[{"type":"bearer"}]}',
  '{"slug":"constructor","name":"x","baseUrl":"https://example.com","authMethods":[{"type":"oauth2","clientSecret":{"env":"HOME"}}]}',
  '{"publish":["app/*"],"consume":["__proto__"]}',
  '{"gracePeriodSeconds":1e308}',
  '{"code":"pbl_0000000000000000000000"}',
  '{"connectionId":"con_0000000000000000000000","input":{"a":"b"}}',
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 4, arbitrary: wrongTypes },
  { weight: 3, arbitrary: nearlyValid },
  { weight: 2, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.constantFrom(300_000, 20_000).map((size) => JSON.stringify({ name: 'x'.repeat(size), payload: 'y' })) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', 'nul', '"', '[1,]', '\u0000', '{"a":1}{"b":2}', 'a=1&b=%ff&__proto__=x') },
);
const bodyBytes = fc.oneof(
  { weight: 10, arbitrary: body.map((text) => Buffer.from(text)) },
  // Invalid UTF-8 inside a JSON string, and raw random bytes.
  { weight: 1, arbitrary: fc.constant(Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xae, 0x22, 0x7d])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

/** A value put where a valid body has a field: deep, of the wrong type, prototype-shaped, huge, odd text. */
const hostileValue = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom(63, 64, 65, 1000, 5000, 5000), fc.boolean())
      .map(([levels, arrays]) => (arrays ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels))),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      '["__proto__","constructor"]',
      '"__proto__"',
      '"\\ud800"',
      '"\\u0000"',
      '1e308',
      '-0',
      '123456789012345678901234567890',
      'null',
      '[]',
      '{}',
      '"javascript:alert(1)"',
      '"http://169.254.169.254/latest"',
      '"2026-02-30T25:61:00Z"',
      '"300.1.1.1/99"',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(20_000, 300_000).map((size) => JSON.stringify('x'.repeat(size))) },
);

/** Valid bodies of each route with one `%s` for a hostile value, so the draw reaches the code behind validation. */
function bodyTemplates(target: FuzzTarget): Record<string, string[]> {
  const connectionId = target.params.connectionId![0]!;
  return {
    'POST /v1/events': ['{"topic":"app/fuzz","payload":%s}', '{"topic":%s,"payload":1}'],
    'POST /v1/keys': [
      '{"name":"fuzz","scopes":["installs:read"],"description":%s}',
      '{"name":%s,"scopes":["installs:read"]}',
      '{"name":"fuzz","scopes":%s}',
      '{"name":"fuzz","scopes":["installs:read"],"ipAllowlist":%s}',
      '{"name":"fuzz","scopes":["installs:read"],"expiresAt":%s}',
      '{"name":"fuzz","scopes":["installs:read"],"tenantId":%s}',
    ],
    'PATCH /v1/keys/:keyId': ['{"description":%s}', '{"name":%s}', '{"ipAllowlist":%s}', '{"expiresAt":%s}', '{"tenantId":%s}'],
    'POST /v1/keys/:keyId/roll': ['{"gracePeriodSeconds":%s}'],
    'POST /v1/tokens': ['{"scopes":%s}', '{"ttlSeconds":%s}', '{"scopes":["installs:read"],"ttlSeconds":%s}'],
    'POST /v1/integrations/:integrationId/session': [
      '{"tenantId":"fuzz-tenant","tags":%s}',
      '{"tenantId":%s}',
      '{"tenantId":"fuzz-tenant","redirectUrl":%s}',
      '{"tenantId":"fuzz-tenant","connector":%s}',
      '{"tenantId":"fuzz-tenant","label":%s}',
      `{"tenantId":"fuzz-tenant","connectionId":%s}`,
      `{"tenantId":"fuzz-tenant","connector":"bearer","connectionId":"${connectionId}","label":%s}`,
    ],
    'POST /v1/integrations/:integrationId/api/tenant/:tenantId/:action': ['{"note":%s}', '%s'],
    'POST /v1/connectors': [
      '{"slug":"fz","name":"Fuzz","baseUrl":"https://example.com","authMethods":[{"type":"bearer"}],"actions":{"a":{"method":"POST","path":"/x","body":%s}}}',
      '{"slug":"fz","name":"Fuzz","baseUrl":%s,"authMethods":[{"type":"bearer"}]}',
      '{"slug":"fz","name":"Fuzz","baseUrl":"https://example.com","authMethods":%s}',
      '{"slug":%s,"name":"Fuzz","baseUrl":"https://example.com","authMethods":[{"type":"none"}]}',
      '{"slug":"fz","name":"Fuzz","baseUrl":"https://example.com","authMethods":[{"type":"oauth2","authorizationUrl":"https://example.com/a","tokenUrl":"https://example.com/t","clientId":"c","clientSecret":%s}]}',
      '{"slug":"fz","name":"Fuzz","baseUrl":"https://example.com","authMethods":[{"type":"apiKey","in":"header","name":%s}]}',
    ],
    'POST /v1/connectors/:slug/actions/:action/test': [`{"connectionId":"${connectionId}","input":%s}`, '{"connectionId":%s}'],
    'POST /api/v1/external/partner': ['{"appName":"Fuzz","metadata":%s}', '{"appName":%s}', '{"appName":"Fuzz","appDescription":%s}'],
    'PATCH /v1/partners/:partnerId': [
      '{"metadata":%s}',
      '{"metadata":{"color":%s}}',
      '{"metadata":{"icon":%s}}',
      '{"metadata":{"tags":%s}}',
      '{"metadata":{"owner":%s}}',
      '{"appName":%s}',
    ],
    'POST /v1/partners/:partnerId/grants': ['{"pattern":%s,"receive":true}', '{"pattern":"app/*","environment":%s}', '{"pattern":"app/*","send":%s}'],
    'POST /v1/partner-portal/redeem': ['{"code":%s}'],
    'PATCH /v1/partner-portal/partner': [
      '{"appName":"Fuzz","contact":%s}',
      '{"appName":%s,"contact":"a@example.com"}',
      '{"appName":"Fuzz","contact":"a@example.com","appDescription":%s}',
    ],
    'PUT /v1/partner-portal/subscriptions': ['{"publish":%s,"consume":[]}', '{"publish":[],"consume":%s}'],
    'POST /v1/partner-portal/keys/:environment/rotate': ['{"graceSeconds":%s}'],
  };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH', 'MKCOL'];

export function requestArbitrary(target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const publicOrigin = target.patchbay.origin;
  const templates = bodyTemplates(target);
  const admin = target.authorizations.valid[0]!;
  // Routes that take a body are drawn more often: most of what can go wrong is behind a body.
  const route = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...target.routes) },
    { weight: 1, arbitrary: fc.constantFrom(...target.routes.filter((entry) => entry.methods.some((method) => `${method} ${entry.path}` in templates))) },
  );
  const filled = route.chain((entry) => {
    const names = [...entry.path.matchAll(/:([A-Za-z]+)|\{\*([A-Za-z]+)\}/g)].map((match) => match[1] ?? match[2]!);
    const values = names.map((name) =>
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(target.params[name] ?? ['x'])) }, { weight: 1, arbitrary: hostileSegment }),
    );
    const methods = entry.methods.filter((method) => method !== '*');
    return fc.record({
      route: fc.constant(entry.path),
      values: fc.tuple(...values),
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(methods.length > 0 ? methods : ['GET', 'POST'])) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
    });
  });
  const stray = fc.record({
    route: fc.constant('(unrouted)'),
    values: fc.array(hostileSegment, { minLength: 1, maxLength: 3 }),
    method: fc.constantFrom(...METHODS),
  });
  const headers = fc
    .record(
      {
        authorization: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...target.authorizations.valid) },
          { weight: 2, arbitrary: fc.constantFrom(...target.authorizations.malformed) },
          { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
        ),
        'content-type': fc.constantFrom(
          'application/json',
          'application/json',
          'application/json; charset=utf-16',
          'application/json; charset=iso-8859-1',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/merge-patch+json',
        ),
        origin: fc.constantFrom(publicOrigin, FLOW_HOST_ORIGIN, 'https://embed.example.com', 'https://evil.example', 'null'),
        'x-patchbay-portal': fc.constant('1'),
        cookie: fc.constantFrom(...target.cookies),
        'last-event-id': fc.oneof(fc.constantFrom('0', '-1', '1e99', '99999999999999999999', ''), fc.string({ maxLength: 20 })),
        'x-forwarded-for': fc.constantFrom('1.2.3.4', 'not-an-ip', '::1'),
        accept: fc.constantFrom('text/event-stream', '*/*', 'application/json', 'text/html'),
      },
      { requiredKeys: [] },
    )
    .map((drawn) => drawn);
  // Most requests carry a credential: without one nearly every route stops at 401.
  const withCredential = fc
    .tuple(headers, fc.constantFrom(...target.authorizations.valid), fc.nat(9))
    .map(([drawn, valid, dice]) => (dice < 6 ? { ...drawn, authorization: drawn.authorization ?? valid } : drawn));
  return fc
    .record({
      target: fc.oneof({ weight: 12, arbitrary: filled }, { weight: 1, arbitrary: stray }),
      query,
      headers: withCredential,
      body: fc.option(bodyBytes, { freq: 3 }),
      templated: fc.tuple(fc.nat(), hostileValue, fc.nat(3)),
    })
    .map(({ target: chosen, query: search, headers: drawn, body: payload, templated: [pick, value, dice] }) => {
      // For a route that takes a body, usually one of its valid shapes with a hostile value in one field.
      const shapes = templates[`${chosen.method} ${chosen.route}`];
      const body = shapes && dice > 0 ? Buffer.from(shapes[pick % shapes.length]!.replace('%s', value)) : (payload ?? undefined);
      // …sent as JSON, mostly by a key that may call the route (the admin key; the portal ignores it).
      const chosenHeaders: Record<string, string> = shapes && dice > 0 && dice < 3 ? { 'content-type': 'application/json', authorization: admin } : {};
      let index = 0;
      const path =
        chosen.route === '(unrouted)'
          ? `/${(chosen.values as string[]).join('/')}`
          : chosen.route.replace(/:([A-Za-z]+)|\{\*([A-Za-z]+)\}/g, () => String((chosen.values as string[])[index++]));
      const cleanHeaders = Object.fromEntries(
        Object.entries(drawn)
          .filter((entry): entry is [string, string] => entry[1] !== undefined)
          // Node's client refuses header values with control characters; the server never sees them.
          // eslint-disable-next-line no-control-regex -- exactly what is dropped
          .map(([name, value]) => [name, value.replace(/[\u0000-\u001f\u007f-\uffff]/g, '?')]),
      );
      return { route: chosen.route, method: chosen.method, path: path + (search ?? ''), headers: { ...cleanHeaders, ...chosenHeaders }, body };
    });
}
