import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createConnection } from '../src/connections/service.js';
import type { Credentials } from '../src/connectors/auth-methods.js';
import { resolveUnderBase } from '../src/connectors/upstream.js';
import type { Declarations } from '../src/index.js';
import { closeServer, listenOnLoopback, startPatchbay, type TestPatchbay } from './support/harness.js';
import { signedRequests, STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

/** Placeholder in the SSRF table for the other loopback host, known only once it listens. */
const OTHER = '{other}';

describe('the proxy and connector actions', () => {
  let api: StandInApi;
  let elsewhere: { origin: string; host: string; hits: number; close(): Promise<void> };
  let patchbay: TestPatchbay;
  let accessKey: string;
  let connectionId: string;

  before(async () => {
    api = await startStandInApi();
    // Another host the proxy must never reach, whatever the path or the upstream's redirects say.
    const other = await listenOnLoopback();
    elsewhere = { origin: other.origin, host: new URL(other.origin).host, hits: 0, close: () => closeServer(other.server) };
    other.server.on('request', (_req, res) => {
      elsewhere.hits += 1;
      res.end('you should not be here');
    });
    const connector = (slug: string, auth: Record<string, unknown>) => ({
      slug,
      name: `${slug} API`,
      description: '',
      baseUrl: `${api.origin}/${slug}`,
      visibility: 'shared',
      authMethods: [auth],
      actions: {
        me: { method: 'GET', path: '/me', query: {} },
        echo: { method: 'GET', path: '/echo', query: { token: STAND_IN.bearer } },
        missing: { method: 'GET', path: '/not-found', query: {} },
        stall: { method: 'GET', path: '/stall', query: {} },
      },
    });
    const declarations = {
      connectors: [
        connector('bearer', { type: 'bearer' }),
        connector('basic', { type: 'basic' }),
        connector('api-key-header', { type: 'apiKey', in: 'header', name: 'X-API-Key' }),
        connector('api-key-query', { type: 'apiKey', in: 'query', name: 'api_key' }),
        connector('custom', { type: 'custom', handler: 'signed-requests' }),
      ],
      integrations: [],
    } as unknown as Declarations;
    patchbay = await startPatchbay({ declarations, config: { upstreamTimeoutMs: 300 }, authMethods: { 'signed-requests': signedRequests() } });
    accessKey = await patchbay.accessKey(['installs:read', 'installs:write', 'connectors:read', 'connectors:write']);
    connectionId = await createConnection(patchbay.patchbay.ctx, {
      connector: 'bearer',
      tenantId: 't1',
      credentials: { type: 'bearer', token: STAND_IN.bearer },
    });
  });

  after(async () => {
    await patchbay.close();
    await api.close();
    await elsewhere.close();
  });

  const call = (path: string, init: { method?: string; json?: unknown; key?: string } = {}) =>
    fetch(`${patchbay.origin}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? accessKey}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      redirect: 'manual',
    });

  /** A GET with the request target written exactly as given, bypassing URL normalisation. */
  function rawGet(target: string): Promise<{ status: number; body: string }> {
    const url = new URL(patchbay.origin);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'GET', path: target, headers: { authorization: `Bearer ${accessKey}` } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('forwards a path under the base URL with the credentials applied and the query kept', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/echo?page=2&q=a%20b`);
    assert.equal(answer.status, 200);
    const echo = (await answer.json()) as { path: string; query: Record<string, string> };
    assert.equal(echo.path, '/bearer/echo');
    assert.deepEqual(echo.query, { page: '2', q: 'a b' });
  });

  describe('SSRF: paths that would leave the base URL are refused with 400 before anything is sent', () => {
    // Sent as raw request targets (fetch would normalise some of them away). Malformed escapes are
    // refused by Express itself while decoding the route (code bad_request), before Patchbay's guard.
    const MALFORMED = new Set(['%c0%ae%c0%ae/basic/me']);
    const crafted = [
      '../basic/me',
      'me/../../basic/me',
      '..%2fbasic%2fme',
      '%2e%2e/basic/me',
      '%2E%2E/%2E%2E/admin',
      '.%2e/basic/me',
      '%252e%252e/basic/me',
      '%25252e%25252e/basic/me',
      '%25%32%65%25%32%65/basic/me',
      '%c0%ae%c0%ae/basic/me',
      '..\\basic\\me',
      '..%5cbasic%5cme',
      '%5c%5cevil.example/x',
      '%255c%255cevil.example/x',
      '//evil.example/x',
      `//${OTHER}/x`,
      `http://${OTHER}/x`,
      'HTTPS://evil.example/x',
      'http:%2f%2fevil.example/x',
      'http:%252f%252fevil.example/x',
      'https:/evil.example',
      `http://user@${OTHER}/x`,
      `user:pass@${OTHER}/x`,
      'javascript:alert(1)',
      'file:///etc/passwd',
      'me%00.json',
      'me%0d%0aHost:%20evil.example',
      'me%2fx',
    ];

    for (const template of crafted) {
      const code = MALFORMED.has(template) ? 'bad_request' : 'path_not_allowed';
      it(`refuses ${JSON.stringify(template)} with 400 ${code}; neither the API nor another host sees a request`, async () => {
        const path = template.replaceAll(OTHER, elsewhere.host);
        const seenBefore = api.seen.length;
        const answer = await rawGet(`/v1/connections/${connectionId}/proxy/${path}`);
        assert.equal(answer.status, 400, `answered ${answer.status}: ${answer.body}`);
        const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
        assert.equal(error.code, code);
        assert.ok(error.message.length > 0, 'the error has a message');
        assert.deepEqual(api.seen.slice(seenBefore), [], 'the stand-in saw nothing');
        assert.equal(elsewhere.hits, 0);
      });
    }

    it('keeps every resolved URL under the base, whatever the input (resolveUnderBase)', () => {
      const base = 'https://api.example.com/v2';
      for (const path of ['a/b', 'a?x=1', 'deep/er/path?x=%2F', '', '/a', 'sheets/abc:batchUpdate', 'files/50%25off', '@evil.example']) {
        const url = resolveUnderBase(base, path);
        assert.equal(url.origin, 'https://api.example.com');
        assert.ok(url.pathname.startsWith('/v2/'), url.pathname);
        assert.equal(url.username, '');
      }
    });
  });

  it('keeps an @ in the path as a path segment on the same host', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/@evil.example/me`);
    assert.equal(((await answer.json()) as { path: string }).path, '/bearer/@evil.example/me');
    assert.equal(elsewhere.hits, 0);
  });

  it('passes encoded slashes in the query through as data', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/echo?next=%2Fhome%2Fx`);
    assert.equal(answer.status, 200);
    assert.deepEqual(((await answer.json()) as { query: Record<string, string> }).query, { next: '/home/x' });
  });

  it('lets through legitimate paths the guard must not mistake for escapes: a colon after the first segment, an encoded percent', async () => {
    const colon = await rawGet(`/v1/connections/${connectionId}/proxy/echo/sheets/abc:batchUpdate`);
    assert.equal(colon.status, 200, colon.body);
    assert.equal((JSON.parse(colon.body) as { path: string }).path, '/bearer/echo/sheets/abc:batchUpdate');
    const percent = await rawGet(`/v1/connections/${connectionId}/proxy/echo/files/50%25off`);
    assert.equal(percent.status, 200, percent.body);
    assert.equal((JSON.parse(percent.body) as { target: string }).target, '/bearer/echo/files/50%25off');
  });

  it('does not follow an upstream redirect to another host: the 302 comes back as it is', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/redirect?to=${encodeURIComponent(`${elsewhere.origin}/steal`)}`);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.get('location'), `${elsewhere.origin}/steal`);
    assert.equal(elsewhere.hits, 0, 'the other host was never called');
  });

  it('answers 504 upstream_timeout when the upstream never answers, instead of hanging the request', async () => {
    const started = Date.now();
    const answer = await call(`/v1/connections/${connectionId}/proxy/slow`);
    assert.equal(answer.status, 504);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'upstream_timeout');
    assert.ok(Date.now() - started < 3000, 'answered within the configured timeout, not the client’s');
  });

  it('answers 504 upstream_timeout, not 500, when the upstream sends its headers and then stalls mid-body', async () => {
    const started = Date.now();
    const answer = await call(`/v1/connections/${connectionId}/proxy/stall`);
    assert.equal(answer.status, 504);
    assert.deepEqual(await answer.json(), { error: { code: 'upstream_timeout', message: 'The third-party API did not answer in time.' } });
    assert.ok(Date.now() - started < 3000, 'answered within the configured timeout');
  });

  it('answers 404 connection_not_found for an unknown connection, and 401 without a key', async () => {
    assert.equal((await call('/v1/connections/con_0000000000000000000000/proxy/me')).status, 404);
    assert.equal((await fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/me`)).status, 401);
  });

  it('answers the same through its fast lane (the plain path) and through Express (an escaped id): success, every refusal, auth events', async () => {
    // `con%5F…` is the same connection to Express's router; the fast lane takes only the plain form.
    const escaped = (id: string) => id.replace('_', '%5F');
    const otherTenant = await patchbay.accessKey(['installs:write'], { tenantId: 'someone-else' });
    const readOnly = await patchbay.accessKey(['installs:read']);
    const cases: Array<{ name: string; id: string; path: string; init: RequestInit }> = [
      {
        name: 'a POST forwarded with its body',
        id: connectionId,
        path: 'echo?q=1',
        init: { method: 'POST', body: 'plain text', headers: { 'content-type': 'text/plain' } },
      },
      { name: 'no key', id: connectionId, path: 'me', init: {} },
      { name: 'an unknown key', id: connectionId, path: 'me', init: { headers: { authorization: 'Bearer pb_live_nope' } } },
      { name: 'a key without the scope', id: connectionId, path: 'me', init: { headers: { authorization: `Bearer ${readOnly}` } } },
      { name: 'a key of another tenant', id: connectionId, path: 'me', init: { headers: { authorization: `Bearer ${otherTenant}` } } },
      { name: 'an unknown connection', id: 'con_0000000000000000000000', path: 'me', init: {} },
      { name: 'a body over 1 MB', id: connectionId, path: 'echo', init: { method: 'PUT', body: 'x'.repeat(1_100_000) } },
      { name: 'a path leaving the base URL', id: connectionId, path: '..%2fbasic%2fme', init: {} },
    ];
    const answerOf = async (id: string, path: string, init: RequestInit) => {
      const answer = await fetch(`${patchbay.origin}/v1/connections/${id}/proxy/${path}`, {
        ...init,
        headers: { authorization: `Bearer ${accessKey}`, ...(init.headers as Record<string, string>) },
      });
      const text = await answer.text();
      const headers = ['content-type', 'cache-control', 'retry-after', 'allow'].map((name) => `${name}: ${answer.headers.get(name)}`);
      // The echo shows the upstream's view of the call; only its own connection header may differ.
      return { status: answer.status, headers, body: text.replace(/"connection":"[^"]*",?/, '') };
    };
    const { ctx } = patchbay.patchbay;
    const eventCount = async () => {
      await ctx.authEvents.flush();
      const { count } = await ctx.store.db
        .selectFrom('auth_events')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      return Number(count);
    };
    for (const { name, id, path, init } of cases) {
      const before = await eventCount();
      const lane = await answerOf(id, path, init);
      const afterLane = await eventCount();
      const routed = await answerOf(escaped(id), path, init);
      assert.deepEqual(lane, routed, name);
      assert.equal(afterLane - before, (await eventCount()) - afterLane, `${name}: as many auth events either way`);
    }
    const notForwarded = await fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/me`, {
      method: 'PROPFIND',
      headers: { authorization: `Bearer ${accessKey}` },
    });
    assert.equal(notForwarded.status, 405, 'a method the proxy refuses goes to Express, which answers 405');
  });

  describe('testing an action (POST /v1/connectors/{slug}/actions/{name}/test)', () => {
    it('shows status, headers and body, with every secret masked', async () => {
      const answer = await call('/v1/connectors/bearer/actions/echo/test', { method: 'POST', json: { connectionId } });
      assert.equal(answer.status, 200);
      const text = await answer.text();
      assert.ok(!text.includes(STAND_IN.bearer), 'the token appears nowhere in the answer');
      const result = JSON.parse(text) as {
        status: number;
        headers: Record<string, string>;
        body: { headers: Record<string, string>; query: Record<string, string> };
      };
      assert.equal(result.status, 200);
      assert.equal(result.headers['content-type'], 'application/json');
      assert.equal(result.body.headers.authorization, 'Bearer ••••');
      assert.equal(result.body.query.token, '••••');
    });

    /** Every way a secret could be written in an answer: raw, URL-encoded, form-encoded, JSON-escaped. */
    const formsOf = (secret: string) => [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
    ];

    const perMethod: Array<{ connector: string; credentials: Credentials; secrets: string[] }> = [
      {
        connector: 'basic',
        credentials: { type: 'basic', ...STAND_IN.basic },
        secrets: [STAND_IN.basic.password, Buffer.from(`${STAND_IN.basic.username}:${STAND_IN.basic.password}`).toString('base64')],
      },
      { connector: 'bearer', credentials: { type: 'bearer', token: STAND_IN.bearer }, secrets: [STAND_IN.bearer] },
      { connector: 'api-key-header', credentials: { type: 'apiKey', key: STAND_IN.apiKey }, secrets: [STAND_IN.apiKey] },
      { connector: 'api-key-query', credentials: { type: 'apiKey', key: STAND_IN.apiKey }, secrets: [STAND_IN.apiKey] },
      { connector: 'custom', credentials: { type: 'custom', handler: 'signed-requests', values: { ...STAND_IN.custom } }, secrets: [STAND_IN.custom.secret] },
    ];

    for (const { connector, credentials, secrets } of perMethod) {
      it(`${connector}: an upstream echoing the whole request back shows no secret in the test result`, async () => {
        const id = await createConnection(patchbay.patchbay.ctx, { connector, tenantId: 't-mask', credentials });
        const answer = await call(`/v1/connectors/${connector}/actions/echo/test`, { method: 'POST', json: { connectionId: id } });
        assert.equal(answer.status, 200);
        const text = await answer.text();
        assert.equal((JSON.parse(text) as { status: number }).status, 200, 'the stand-in accepted the credentials');
        for (const secret of secrets) for (const form of formsOf(secret)) assert.ok(!text.includes(form), `${JSON.stringify(form)} is in the answer`);
      });
    }

    it('masks a secret with characters that need escaping, as the upstream quotes it URL-encoded or JSON-escaped', async () => {
      const awkward = 'k"ey\\with/+&= spaces';
      api.rotate({ apiKey: awkward, bearer: awkward });
      try {
        const queryKey = await createConnection(patchbay.patchbay.ctx, {
          connector: 'api-key-query',
          tenantId: 't-mask',
          credentials: { type: 'apiKey', key: awkward },
        });
        const bearer = await createConnection(patchbay.patchbay.ctx, {
          connector: 'bearer',
          tenantId: 't-mask',
          credentials: { type: 'bearer', token: awkward },
        });
        const quoted = await call('/v1/connectors/api-key-query/actions/missing/test', { method: 'POST', json: { connectionId: queryKey } });
        assert.equal(quoted.status, 200);
        const quotedText = await quoted.text();
        const result = JSON.parse(quotedText) as { status: number; body: { error: string } };
        assert.equal(result.status, 404, 'the upstream’s own answer is shown');
        assert.match(result.body.error, /^no route for \/api-key-query\/not-found\?api_key=••••$/);
        const echoed = await call('/v1/connectors/bearer/actions/echo/test', { method: 'POST', json: { connectionId: bearer } });
        assert.equal(echoed.status, 200);
        const echoedText = await echoed.text();
        assert.equal((JSON.parse(echoedText) as { body: { headers: Record<string, string> } }).body.headers.authorization, 'Bearer ••••');
        for (const text of [quotedText, echoedText])
          for (const form of formsOf(awkward)) assert.ok(!text.includes(form), `${JSON.stringify(form)} is in the answer`);
      } finally {
        api.reset();
      }
    });

    it('answers 504 upstream_timeout when the action’s upstream stalls', async () => {
      const answer = await call('/v1/connectors/bearer/actions/stall/test', { method: 'POST', json: { connectionId } });
      assert.equal(answer.status, 504);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'upstream_timeout');
    });

    it('refuses a key restricted to another tenant with 403, before anything is sent upstream', async () => {
      const otherTenant = await patchbay.accessKey(['connectors:read', 'connectors:write'], { tenantId: 'someone-else' });
      const seenBefore = api.seen.length;
      const answer = await call('/v1/connectors/bearer/actions/echo/test', { method: 'POST', json: { connectionId }, key: otherTenant });
      assert.equal(answer.status, 403);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'tenant_forbidden');
      assert.equal(api.seen.length, seenBefore);
    });

    it('refuses a connection of another connector, an unknown action or an unknown field with 4xx {error}', async () => {
      const basic = await createConnection(patchbay.patchbay.ctx, { connector: 'basic', tenantId: 't1', credentials: { type: 'basic', ...STAND_IN.basic } });
      const cases: Array<[string, unknown, number, string]> = [
        ['/v1/connectors/bearer/actions/nope/test', { connectionId }, 404, 'action_not_found'],
        // A name every object inherits is no action of the connector (it was a 500, found by the fuzzer).
        ['/v1/connectors/bearer/actions/constructor/test', { connectionId }, 404, 'action_not_found'],
        ['/v1/connectors/bearer/actions/me/test', { connectionId: 'con_0000000000000000000000' }, 400, 'connection_not_found'],
        ['/v1/connectors/bearer/actions/me/test', { connectionId: basic }, 400, 'connection_not_found'],
        ['/v1/connectors/bearer/actions/me/test', { connectionId, extra: 1 }, 400, 'invalid_request'],
        ['/v1/connectors/bearer/actions/me/test', {}, 400, 'invalid_request'],
        ['/v1/connectors/nope/actions/me/test', { connectionId }, 404, 'connector_not_found'],
      ];
      for (const [path, json, status, code] of cases) {
        const answer = await call(path, { method: 'POST', json });
        assert.equal(answer.status, status, `${path} ${JSON.stringify(json)}`);
        const { error } = (await answer.json()) as { error: { code: string; message: string } };
        assert.equal(error.code, code);
        assert.ok(error.message.length > 0, 'the error has a message');
      }
    });
  });
});
