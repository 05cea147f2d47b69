import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';

describe('connectors over HTTP (/v1/connectors)', () => {
  let patchbay: TestPatchbay;
  let writer: string;
  let reader: string;

  before(async () => {
    patchbay = await startPatchbay();
    writer = await patchbay.accessKey(['connectors:read', 'connectors:write']);
    reader = await patchbay.accessKey(['connectors:read']);
  });

  after(() => patchbay.close());

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
      { type: 'oauth2', default: true, authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize', tokenUrl: 'https://login.salesforce.com/services/oauth2/token', clientId: 'abc', clientSecret: 'super-secret-client-value', scopes: ['api', 'refresh_token'], authorizeParams: { prompt: 'consent' } },
      { type: 'bearer' },
    ],
    actions: { accounts: { method: 'GET', path: '/sobjects/Account', query: { limit: '{limit}' } } },
    ...extra,
  });

  async function count(): Promise<number> {
    return ((await (await call('')).json()) as { data: unknown[] }).data.length;
  }

  it('creates a connector (201) with a slug made from its name, readable by slug, with the client secret never shown', async () => {
    const created = await call('', { method: 'POST', json: salesforce() });
    assert.equal(created.status, 201);
    const text = await created.text();
    assert.ok(!text.includes('super-secret-client-value'), 'the client secret is not in the answer');
    const connector = JSON.parse(text) as { slug: string; visibility: string; authMethods: Array<{ type: string; hasClientSecret?: boolean; default?: boolean }> };
    assert.equal(connector.slug, 'salesforce-sandbox');
    assert.equal(connector.visibility, 'shared');
    assert.deepEqual(connector.authMethods.map((method) => method.type), ['oauth2', 'bearer']);
    assert.equal(connector.authMethods[0]!.hasClientSecret, true);
    const read = await call('/salesforce-sandbox', { key: reader });
    assert.equal(read.status, 200);
    assert.ok(!(await read.text()).includes('super-secret-client-value'));
    const list = await (await call('', { key: reader })).text();
    assert.ok(list.includes('salesforce-sandbox') && !list.includes('super-secret-client-value'));
  });

  it('gives a clashing name the next free suffix (-2, -3), never an error, even for concurrent creates', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => call('', { method: 'POST', json: salesforce({ name: 'Zendesk' }) })));
    assert.deepEqual(answers.map((answer) => answer.status), [201, 201, 201]);
    const slugs = await Promise.all(answers.map(async (answer) => ((await answer.json()) as { slug: string }).slug));
    assert.deepEqual(slugs.sort(), ['zendesk', 'zendesk-2', 'zendesk-3']);
  });

  const badInputs: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown auth method', { authMethods: [{ type: 'kerberos' }] }, /authMethods/],
    ['an apiKey method without its header name', { authMethods: [{ type: 'apiKey', in: 'header' }] }, /authMethods\.0\.name|authMethods/],
    ['an oauth2 method without client id', { authMethods: [{ type: 'oauth2', issuer: 'https://id.example.com' }] }, /authMethods/],
    ['an oauth2 method with neither issuer nor endpoints', { authMethods: [{ type: 'oauth2', clientId: 'x' }] }, /authMethods/],
    ['two default methods', { authMethods: [{ type: 'bearer', default: true }, { type: 'basic', default: true }] }, /authMethods: at most one method is the default/],
    ['no auth method at all', { authMethods: [] }, /authMethods/],
    ['a custom handler this server does not have', { authMethods: [{ type: 'custom', handler: 'nope' }] }, /no custom auth method "nope"/],
    ['a base URL that is not http(s)', { baseUrl: 'file:///etc/passwd' }, /baseUrl/],
    ['a visibility other than private or shared', { visibility: 'public' }, /visibility/],
    ['a verify action that does not exist', { verifyAction: 'ghost' }, /verifyAction/],
    ['an unknown field', { colour: 'red' }, /colour/],
  ];

  for (const [what, change, named] of badInputs) {
    it(`answers ${what} with 400 naming the field, and creates nothing`, async () => {
      const before = await count();
      const answer = await call('', { method: 'POST', json: salesforce({ name: `Bad ${what}`, ...change }) });
      assert.equal(answer.status, 400);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      assert.match(error.message, named);
      assert.equal(await count(), before);
    });
  }

  it('answers malformed JSON with 400, not 500', async () => {
    const answer = await fetch(`${patchbay.origin}/v1/connectors`, { method: 'POST', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(answer.status, 400);
  });

  it('needs connectors:write to create and connectors:read to read', async () => {
    assert.equal((await call('', { method: 'POST', json: salesforce({ name: 'Reader try' }), key: reader })).status, 403);
    const installsOnly = await patchbay.accessKey(['installs:read']);
    assert.equal((await call('', { key: installsOnly })).status, 403);
  });

  it('answers 404 connector_not_found for an unknown slug', async () => {
    const answer = await call('/no-such-connector');
    assert.equal(answer.status, 404);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'connector_not_found');
  });
});
