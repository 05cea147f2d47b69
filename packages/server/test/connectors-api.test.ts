import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection } from '../src/connections/service.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

interface ConnectorView {
  slug: string;
  name: string;
  visibility: string;
  authMethods: Array<{ type: string; hasClientSecret?: boolean; default?: boolean }>;
}

describe('connectors over HTTP (/v1/connectors)', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let writer: string;
  let reader: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay();
    writer = await patchbay.accessKey(['connectors:read', 'connectors:write']);
    reader = await patchbay.accessKey(['connectors:read']);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const call = (path: string, init: { method?: string; json?: unknown; key?: string } = {}) =>
    fetch(`${patchbay.origin}/v1/connectors${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? writer}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
    });

  const salesforce = (extra: Record<string, unknown> = {}) => ({
    name: 'Salesforce Sandbox',
    description: 'CRM',
    domain: 'salesforce.com',
    visibility: 'shared',
    iconUrl: 'https://cdn.example.com/salesforce.svg',
    baseUrl: 'https://example.my.salesforce.com/services/data/v60.0',
    authMethods: [
      {
        type: 'oauth2',
        default: true,
        authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize',
        tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
        clientId: 'abc',
        clientSecret: 'super-secret-client-value',
        scopes: ['api', 'refresh_token'],
        authorizeParams: { prompt: 'consent' },
      },
      { type: 'bearer' },
    ],
    actions: { accounts: { method: 'GET', path: '/sobjects/Account', query: { limit: '{limit}' } } },
    ...extra,
  });

  async function all(): Promise<ConnectorView[]> {
    const out: ConnectorView[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = (await (await call(`?limit=100${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { data: ConnectorView[]; next: string | null };
      out.push(...page.data);
      cursor = page.next;
    }
    return out;
  }

  async function create(body: Record<string, unknown>): Promise<ConnectorView> {
    const answer = await call('', { method: 'POST', json: body });
    assert.equal(answer.status, 201, await answer.clone().text());
    return (await answer.json()) as ConnectorView;
  }

  it('creates a connector (201) with a slug made from its name, readable by slug, with the client secret never shown', async () => {
    const created = await call('', { method: 'POST', json: salesforce() });
    assert.equal(created.status, 201);
    const text = await created.text();
    assert.ok(!text.includes('super-secret-client-value'), 'the client secret is not in the answer');
    const connector = JSON.parse(text) as ConnectorView;
    assert.equal(connector.slug, 'salesforce-sandbox');
    assert.equal(connector.visibility, 'shared');
    assert.deepEqual(
      connector.authMethods.map((method) => method.type),
      ['oauth2', 'bearer'],
    );
    assert.equal(connector.authMethods[0]!.hasClientSecret, true);
    const read = await call('/salesforce-sandbox', { key: reader });
    assert.equal(read.status, 200);
    assert.ok(!(await read.text()).includes('super-secret-client-value'), 'a read does not show the client secret');
    const list = await (await call('', { key: reader })).text();
    assert.ok(list.includes('salesforce-sandbox') && !list.includes('super-secret-client-value'), 'the list shows the connector, not its client secret');
  });

  it('stores the client secret encrypted: the connectors table holds no plaintext copy of it', async () => {
    await create(
      salesforce({
        name: 'Secret keeper',
        authMethods: [
          {
            type: 'oauth2',
            tokenUrl: 'https://id.example.com/t',
            authorizationUrl: 'https://id.example.com/a',
            clientId: 'c',
            clientSecret: 'plaintext-never-stored-1234',
          },
        ],
      }),
    );
    const rows = await patchbay.patchbay.ctx.store.db.selectFrom('connectors').selectAll().where('slug', '=', 'secret-keeper').execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes('plaintext-never-stored-1234'), 'the row holds no plaintext secret');
    assert.equal(await patchbay.patchbay.ctx.catalog.clientSecret('secret-keeper'), 'plaintext-never-stored-1234');
  });

  it('makes the slug from the name: accents dropped, punctuation to dashes, non-Latin names to "connector"', async () => {
    assert.equal((await create(salesforce({ name: 'Café Société — EU (v2)' }))).slug, 'cafe-societe-eu-v2');
    assert.equal((await create(salesforce({ name: '日本語' }))).slug, 'connector');
  });

  it('gives a clashing name the next free suffix (-2, -3), never an error, even for concurrent creates', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => call('', { method: 'POST', json: salesforce({ name: 'Zendesk' }) })));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [201, 201, 201],
    );
    const slugs = await Promise.all(answers.map(async (answer) => ((await answer.json()) as { slug: string }).slug));
    assert.deepEqual(slugs.sort(), ['zendesk', 'zendesk-2', 'zendesk-3']);
  });

  it('gives a clashing explicit slug the next free suffix too', async () => {
    assert.equal((await create(salesforce({ name: 'Mail one', slug: 'mail' }))).slug, 'mail');
    assert.equal((await create(salesforce({ name: 'Mail two', slug: 'mail' }))).slug, 'mail-2');
  });

  it('marks exactly one auth method as the default: the one marked, else the first', async () => {
    const unmarked = await create(salesforce({ name: 'Unmarked', authMethods: [{ type: 'bearer' }, { type: 'basic' }, { type: 'apiKey', name: 'X-Key' }] }));
    assert.deepEqual(
      unmarked.authMethods.map((method) => [method.type, method.default]),
      [
        ['bearer', true],
        ['basic', false],
        ['apiKey', false],
      ],
    );
    const marked = await create(salesforce({ name: 'Marked', authMethods: [{ type: 'bearer' }, { type: 'basic', default: true }] }));
    assert.deepEqual(
      marked.authMethods.map((method) => [method.type, method.default]),
      [
        ['bearer', false],
        ['basic', true],
      ],
    );
    const read = (await (await call('/marked', { key: reader })).json()) as ConnectorView;
    assert.deepEqual(
      read.authMethods.filter((method) => method.default).map((method) => method.type),
      ['basic'],
    );
  });

  it('stores the seed\'s "public" as shared, makes shared the default visibility, and marks API connectors source "api"', async () => {
    const aliased = await create(salesforce({ name: 'Seed word', visibility: 'public' }));
    assert.equal(aliased.visibility, 'shared');
    const unset = await create(salesforce({ name: 'No visibility', visibility: undefined }));
    assert.equal(unset.visibility, 'shared');
    const own = await create(salesforce({ name: 'Own test', visibility: 'private' }));
    assert.equal(own.visibility, 'private');
    const read = (await (await call('/seed-word', { key: reader })).json()) as ConnectorView & { source: string };
    assert.equal(read.visibility, 'shared');
    assert.equal(read.source, 'api');
  });

  const badInputs: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown auth method', { authMethods: [{ type: 'kerberos' }] }, /^authMethods\.0\.type: /],
    ['an apiKey method without its header name', { authMethods: [{ type: 'apiKey', in: 'header' }] }, /^authMethods\.0\.name: /],
    [
      'an apiKey method sent somewhere other than a header or the query',
      { authMethods: [{ type: 'apiKey', in: 'body', name: 'key' }] },
      /^authMethods\.0\.in: /,
    ],
    ['an oauth2 method without client id', { authMethods: [{ type: 'oauth2', issuer: 'https://id.example.com' }] }, /^authMethods\.0\.clientId: /],
    [
      'an oauth2 method with neither issuer nor endpoints',
      { authMethods: [{ type: 'oauth2', clientId: 'x' }] },
      /^authMethods\.0: .*issuer.*authorizationUrl.*tokenUrl/,
    ],
    [
      'an oauth2 client secret given as an environment reference',
      { authMethods: [{ type: 'oauth2', issuer: 'https://id.example.com', clientId: 'x', clientSecret: { env: 'HOME' } }] },
      /^authMethods\.0\.clientSecret: /,
    ],
    ['a field another method has (basic with a header name)', { authMethods: [{ type: 'basic', name: 'X-Key' }] }, /Unknown field: name/],
    ['a custom method without its handler', { authMethods: [{ type: 'custom' }] }, /^authMethods\.0\.handler: /],
    [
      'two default methods',
      {
        authMethods: [
          { type: 'bearer', default: true },
          { type: 'basic', default: true },
        ],
      },
      /^authMethods: at most one method is the default/,
    ],
    ['the same method twice', { authMethods: [{ type: 'bearer' }, { type: 'bearer' }] }, /^authMethods: each method type at most once/],
    ['no auth method at all', { authMethods: [] }, /^authMethods: /],
    ['a custom handler this server does not have', { authMethods: [{ type: 'custom', handler: 'nope' }] }, /no custom auth method "nope"/],
    ['a base URL that is not http(s)', { baseUrl: 'file:///etc/passwd' }, /^baseUrl: /],
    ['a missing base URL', { baseUrl: undefined }, /^baseUrl: /],
    ['a missing name', { name: undefined }, /^name: /],
    ['a visibility other than private, shared or public', { visibility: 'everyone' }, /^visibility: /],
    ['a verify action that does not exist', { verifyAction: 'ghost' }, /^verifyAction: /],
    ['an action path that does not start with /', { actions: { a: { method: 'GET', path: 'x' } } }, /^actions\.a\.path: /],
    ['an unknown field', { colour: 'red' }, /colour/],
  ];

  for (const [what, change, named] of badInputs) {
    it(`answers ${what} with 400 {error: {code, message}} naming the field, and creates nothing`, async () => {
      const before = (await all()).length;
      const body = salesforce({ name: `Bad ${what}`, ...change });
      const answer = await call('', { method: 'POST', json: body });
      assert.equal(answer.status, 400);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'invalid_request');
      assert.match(error.message, named);
      assert.equal((await all()).length, before, 'no connector was written');
    });
  }

  it('answers malformed JSON, an array or a non-JSON body with 400, not 500', async () => {
    for (const [type, body] of [
      ['application/json', '{"name":'],
      ['application/json', '[]'],
      ['text/plain', 'name=x'],
    ] as const) {
      const answer = await fetch(`${patchbay.origin}/v1/connectors`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writer}`, 'content-type': type },
        body,
      });
      assert.equal(answer.status, 400, `${type} ${body}`);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      assert.ok(error.code && error.message, 'the error has a code and a message');
    }
  });

  it('pages through the list with ?limit= and the cursor in next, without repeating or skipping', async () => {
    const everything = (await all()).map((connector) => connector.slug);
    assert.ok(everything.length >= 5, `only ${everything.length} connectors to page through`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await call(`?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: reader });
      const page = (await answer.json()) as { data: ConnectorView[]; next: string | null };
      assert.ok(page.data.length <= 2, `a page of ${page.data.length} for limit=2`);
      seen.push(...page.data.map((connector) => connector.slug));
      cursor = page.next;
    } while (cursor !== null);
    assert.deepEqual(seen, everything);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal((await call('?limit=0')).status, 400);
  });

  it('needs connectors:write to create and connectors:read to list or read (403 insufficient_scope otherwise)', async () => {
    const refusedCreate = await call('', { method: 'POST', json: salesforce({ name: 'Reader try' }), key: reader });
    assert.equal(refusedCreate.status, 403);
    assert.equal(((await refusedCreate.json()) as { error: { code: string } }).error.code, 'insufficient_scope');
    assert.ok(!(await all()).some((connector) => connector.name === 'Reader try'), 'the refused create wrote nothing');
    const installsOnly = await patchbay.accessKey(['installs:read']);
    assert.equal((await call('', { key: installsOnly })).status, 403);
    assert.equal((await call('/salesforce-sandbox', { key: installsOnly })).status, 403);
    assert.equal((await call('/salesforce-sandbox', { key: reader })).status, 200);
    assert.equal((await call('', { key: 'pbk_not-a-real-key' })).status, 401);
  });

  it('answers 404 connector_not_found for an unknown slug', async () => {
    const answer = await call('/no-such-connector');
    assert.equal(answer.status, 404);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'connector_not_found');
  });

  describe('testing an action of a connector created over the API', () => {
    let connectionId: string;

    before(async () => {
      await create({
        name: 'Stand-in API key',
        baseUrl: `${api.origin}/api-key-header`,
        authMethods: [{ type: 'apiKey', in: 'header', name: 'X-API-Key' }],
        actions: { echo: { method: 'GET', path: '/echo/{item}', query: { debug: STAND_IN.apiKey } } },
      });
      connectionId = await createConnection(patchbay.patchbay.ctx, {
        connector: 'stand-in-api-key',
        tenantId: 't1',
        credentials: { type: 'apiKey', key: STAND_IN.apiKey },
      });
    });

    it('shows the upstream status, headers and body, with the API key masked wherever it appears', async () => {
      const answer = await call('/stand-in-api-key/actions/echo/test', { method: 'POST', json: { connectionId, input: { item: 'a b' } } });
      assert.equal(answer.status, 200);
      const text = await answer.text();
      assert.ok(!text.includes(STAND_IN.apiKey), 'the key appears nowhere in the answer');
      const result = JSON.parse(text) as {
        status: number;
        headers: Record<string, string>;
        body: { path: string; headers: Record<string, string>; query: Record<string, string> };
      };
      assert.equal(result.status, 200);
      assert.equal(result.headers['content-type'], 'application/json');
      assert.equal(result.body.path, '/api-key-header/echo/a%20b', 'the input filled the path, URL-encoded');
      assert.equal(result.body.headers['x-api-key'], '••••');
      assert.equal(result.body.query.debug, '••••');
    });

    it('needs connectors:write: a read-only key gets 403 and nothing is sent upstream', async () => {
      const seenBefore = api.seen.length;
      const answer = await call('/stand-in-api-key/actions/echo/test', { method: 'POST', json: { connectionId }, key: reader });
      assert.equal(answer.status, 403);
      assert.equal(api.seen.length, seenBefore);
    });
  });
});
