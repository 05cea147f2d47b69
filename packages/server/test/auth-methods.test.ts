import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decryptCredentials } from '../src/connections/credentials.js';
import type { Declarations } from '../src/index.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { signedRequests, STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

const HOST_ORIGIN = 'https://app.example.com';

/** What the custom method's refresh hands out, and how often it was asked. */
const vault = { secret: STAND_IN.custom.secret as string, refreshes: 0 };

const FORM_CONNECTORS = ['none', 'basic', 'bearer', 'api-key-header', 'api-key-query', 'custom'];

function declarations(api: StandInApi): Declarations {
  const connector = (slug: string, name: string, auth: Record<string, unknown>, verify: string | null, standIn = slug) => ({
    slug,
    name,
    description: `Accepts ${name} only`,
    baseUrl: `${api.origin}/${standIn}`,
    visibility: 'shared' as const,
    authMethods: [auth],
    actions: { me: { method: 'GET' as const, path: '/me', query: {} }, slow: { method: 'GET' as const, path: '/slow', query: {} } },
    ...(verify ? { verifyAction: verify } : {}),
  });
  const connectors = [
    connector('none', 'No auth', { type: 'none' }, null),
    connector('basic', 'Basic', { type: 'basic' }, 'me'),
    connector('bearer', 'Bearer', { type: 'bearer' }, 'me'),
    connector('api-key-header', 'API key header', { type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'me'),
    connector('api-key-query', 'API key query', { type: 'apiKey', in: 'query', name: 'api_key' }, null),
    connector('custom', 'Signed', { type: 'custom', handler: 'signed-requests' }, 'me'),
    connector('custom-refresh', 'Signed, refreshing', { type: 'custom', handler: 'signed-refreshing' }, 'me', 'custom'),
    connector('bearer-slow-verify', 'Slow to verify', { type: 'bearer' }, 'slow', 'bearer'),
  ];
  return {
    connectors: connectors as unknown as Declarations['connectors'],
    integrations: [
      {
        id: 'every-method',
        name: 'Every method',
        description: '',
        connectors: connectors.map((c) => c.slug),
        allowedOrigins: [HOST_ORIGIN],
        configFields: [],
        actions: Object.fromEntries(
          FORM_CONNECTORS.map((slug) => [`me-${slug}`, { connector: slug, method: 'GET' as const, path: '/me', forwardBody: false }]),
        ),
      },
    ],
  };
}

describe('the six auth methods, end to end against a stand-in that accepts only each one', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let base: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({
      declarations: declarations(api),
      // Short, so a verify action that hangs ends within the test.
      config: { upstreamTimeoutMs: 1000 },
      authMethods: {
        'signed-requests': signedRequests(),
        'signed-refreshing': signedRequests(async (values) => {
          vault.refreshes += 1;
          return { ...values, secret: vault.secret };
        }),
      },
    });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/every-method`;
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const call = (url: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(url.startsWith('http') ? url : `${patchbay.origin}${url}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${accessKey}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      redirect: 'manual',
    });

  async function openForm(connector: string, tenantId: string, extra: Record<string, string> = {}) {
    const created = await call(`${base}/session`, { method: 'POST', json: { tenantId, connector, ...extra } });
    assert.equal(created.status, 200, await created.clone().text());
    const session = (await created.json()) as { id: string };
    const start = await fetch(`${base}/session/${session.id}/start?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    return { sessionId: session.id, start, page: await start.text() };
  }

  const submit = (sessionId: string, values: Record<string, string>) =>
    fetch(`${base}/session/${sessionId}/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(values).toString(),
      redirect: 'manual',
    });

  async function connections(tenantId: string) {
    return (
      (await (await call(`/v1/connections?tenantId=${tenantId}`)).json()) as {
        data: Array<{ id: string; connector: string; label: string | null; status: string }>;
      }
    ).data;
  }

  async function waitForInstall(targetUrl: string) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const install = (await (await call(targetUrl)).json()) as { operationState: { status: string } };
      if (install.operationState.status !== 'pending') return install;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('install stayed pending');
  }

  /** The whole hosted flow for a form method: form, credentials, commit, install; the connection's id. */
  async function connect(connector: string, tenantId: string, values: Record<string, string>, extra: Record<string, string> = {}) {
    const before = new Set((await connections(tenantId)).map((connection) => connection.id));
    const { sessionId, start, page } = await openForm(connector, tenantId, extra);
    assert.equal(start.status, 200, `the ${connector} start page is a form`);
    assert.match(page, /<form method="post"/);
    const done = await submit(sessionId, values);
    assert.equal(done.status, 200, `the ${connector} credentials were accepted`);
    assert.match(await done.text(), /data-status="authorized"/);
    const committed = await call(`${base}/session/${sessionId}/commit`, { method: 'POST' });
    assert.equal(committed.status, 200);
    const { targetUrl } = (await committed.json()) as { targetUrl: string };
    assert.match(targetUrl, /\/install\/ins_/);
    assert.equal((await waitForInstall(targetUrl)).operationState.status, 'success');
    const added = (await connections(tenantId)).filter((connection) => connection.connector === connector && !before.has(connection.id));
    assert.equal(added.length, 1, 'the flow added exactly one connection');
    return added[0]!.id;
  }

  const proxyMe = (connectionId: string) => call(`/v1/connections/${connectionId}/proxy/me`);
  const tenantAction = (tenantId: string, action: string) => call(`${base}/api/tenant/${tenantId}/${action}`, { method: 'POST', json: {} });

  const cases: Array<{ connector: string; values: Record<string, string>; fields: string[] }> = [
    { connector: 'none', values: {}, fields: [] },
    { connector: 'basic', values: { ...STAND_IN.basic }, fields: ['username', 'password'] },
    { connector: 'bearer', values: { token: STAND_IN.bearer }, fields: ['token'] },
    { connector: 'api-key-header', values: { key: STAND_IN.apiKey }, fields: ['key'] },
    { connector: 'api-key-query', values: { key: STAND_IN.apiKey }, fields: ['key'] },
    { connector: 'custom', values: { ...STAND_IN.custom }, fields: ['clientId', 'secret'] },
  ];

  for (const { connector, values, fields } of cases) {
    it(`${connector}: the hosted form asks for exactly [${fields.join(', ')}], the connection is saved encrypted and installed, and both the proxy and a tenant action reach the API with those credentials`, async () => {
      const { page } = await openForm(connector, `form-${connector}`);
      const asked = [...page.matchAll(/<input[^>]* name="([^"]+)"/g)].map((match) => match[1]);
      assert.deepEqual(asked, fields);
      const tenantId = `t-${connector}`;
      const connectionId = await connect(connector, tenantId, values);
      // At rest the credentials are one AES-GCM envelope: no submitted value appears in the row.
      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
      assert.match(row.credentials_ciphertext, /^v1\.test\./, 'sealed with the master key');
      for (const value of Object.values(values))
        assert.ok(!JSON.stringify(row).includes(value), `${connector}: the row holds no plaintext ${value.slice(0, 3)}…`);
      const answer = await proxyMe(connectionId);
      assert.equal(answer.status, 200, 'the stand-in accepted the credentials Patchbay applied');
      assert.deepEqual(await answer.json(), { ok: true, via: connector, path: `/${connector}/me` });
      const action = await tenantAction(tenantId, `me-${connector}`);
      assert.equal(action.status, 200);
      assert.deepEqual(await action.json(), { status: 200, body: { ok: true, via: connector, path: `/${connector}/me` } });
    });
  }

  it('applies the API key as the named query parameter for apiKey in: query, and never as a header', async () => {
    const connectionId = await connect('api-key-query', 't-query-check', { key: STAND_IN.apiKey });
    const echo = (await (await call(`/v1/connections/${connectionId}/proxy/echo?page=2`)).json()) as {
      query: Record<string, string>;
      headers: Record<string, string>;
    };
    assert.deepEqual(echo.query, { page: '2', api_key: STAND_IN.apiKey });
    assert.equal(echo.headers['x-api-key'], undefined);
    assert.equal(echo.headers.authorization, undefined);
  });

  it('sends no credentials at all for none: no authorization header, no key', async () => {
    const connectionId = await connect('none', 't-none-check', {});
    const echo = (await (await call(`/v1/connections/${connectionId}/proxy/echo`)).json()) as {
      query: Record<string, string>;
      headers: Record<string, string>;
    };
    assert.deepEqual(echo.query, {});
    assert.equal(echo.headers.authorization, undefined);
    assert.equal(echo.headers['x-api-key'], undefined);
  });

  const wrongCredentials: Array<{ connector: string; name: string; values: Record<string, string> }> = [
    { connector: 'basic', name: 'Basic', values: { username: STAND_IN.basic.username, password: 'not the password' } },
    { connector: 'bearer', name: 'Bearer', values: { token: 'not-the-token' } },
    { connector: 'api-key-header', name: 'API key header', values: { key: 'not-the-key' } },
    { connector: 'custom', name: 'Signed', values: { clientId: STAND_IN.custom.clientId, secret: 'not-the-secret' } },
  ];

  for (const { connector, name, values } of wrongCredentials) {
    it(`${connector}: wrong credentials are refused on the form with a clear message from the verify action, and nothing is saved`, async () => {
      const tenantId = `t-wrong-${connector}`;
      const { sessionId } = await openForm(connector, tenantId);
      const answer = await submit(sessionId, values);
      assert.equal(answer.status, 400);
      const page = await answer.text();
      assert.ok(page.includes(`role="alert">${name} did not accept these credentials.`), 'the form says the third party refused them');
      assert.match(page, /<form method="post"/, 'the form is shown again');
      assert.deepEqual(await connections(tenantId), [], 'no connection, not even the verification probe, remains');
      const session = (await (await call(`${base}/session/${sessionId}`)).json()) as { status: string };
      assert.equal(session.status, 'started', 'the partner may try again on the same form');
      assert.equal((await call(`${base}/session/${sessionId}/commit`, { method: 'POST' })).status, 409, 'there is nothing to commit');
    });
  }

  it('keeps nothing visible while a verify action is running, and shows a timeout on the form when it hangs', async () => {
    const tenantId = 't-slow-verify';
    const { sessionId } = await openForm('bearer-slow-verify', tenantId);
    const pending = submit(sessionId, { token: STAND_IN.bearer });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(await connections(tenantId), [], 'the credentials under test are not a connection, not even for a moment');
    const answer = await pending;
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /role="alert">The third-party API did not answer in time\./);
    assert.deepEqual(await connections(tenantId), []);
  });

  const emptyValues: Array<{ connector: string; values: Record<string, string>; message: string }> = [
    { connector: 'basic', values: { username: 'ada', password: '   ' }, message: 'Password is required.' },
    { connector: 'basic', values: { password: 'x' }, message: 'Username is required.' },
    { connector: 'bearer', values: { token: '' }, message: 'Token is required.' },
    { connector: 'api-key-query', values: {}, message: 'API key is required.' },
    { connector: 'custom', values: { clientId: '', secret: 's' }, message: 'Client ID is required.' },
  ];

  for (const { connector, values, message } of emptyValues) {
    it(`${connector}: an empty value gets "${message}" on the form (400), and nothing is saved`, async () => {
      const tenantId = `t-empty-${connector}-${Object.keys(values).length}`;
      const { sessionId } = await openForm(connector, tenantId);
      const seenBefore = api.seen.length;
      const answer = await submit(sessionId, values);
      assert.equal(answer.status, 400);
      assert.ok((await answer.text()).includes(`role="alert">${message}`), `the form says ${message}`);
      assert.equal(api.seen.length, seenBefore, 'nothing was sent to the third party');
      assert.deepEqual(await connections(tenantId), []);
    });
  }

  it('answers an oversized value with a message on the form (400), whether it is over the field limit or over the whole form’s, and saves nothing', async () => {
    const { sessionId } = await openForm('basic', 't-huge');
    const overField = await submit(sessionId, { username: 'ada', password: 'x'.repeat(5000) });
    assert.equal(overField.status, 400);
    assert.match(await overField.text(), /role="alert">Password is too long \(at most 4096 characters\)\./);
    const overForm = await submit(sessionId, { username: 'ada', password: 'x'.repeat(40_000) });
    assert.equal(overForm.status, 400);
    const page = await overForm.text();
    assert.match(page, /role="alert">A value is too long \(at most 4096 characters each\)\./);
    assert.match(page, /<form method="post"/, 'the form is shown again, not a dead end');
    assert.deepEqual(await connections('t-huge'), []);
    assert.equal((await submit(sessionId, { ...STAND_IN.basic })).status, 200, 'the same form still works afterwards');
  });

  it('never echoes a secret back into the form after an error, but keeps the other values', async () => {
    const { sessionId } = await openForm('custom', 't-echo');
    const answer = await submit(sessionId, { clientId: 'client-42', secret: 'wrong-secret-value' });
    const page = await answer.text();
    assert.equal(answer.status, 400);
    assert.ok(!page.includes('wrong-secret-value'), 'the secret is not in the page');
    assert.match(page, /value="client-42"/);
  });

  it('keeps several labelled connections for one tenant and connector (+ Add connection)', async () => {
    const first = await connect('bearer', 't-two', { token: STAND_IN.bearer }, { label: 'Work' });
    const second = await connect('bearer', 't-two', { token: STAND_IN.bearer }, { label: 'Personal' });
    assert.notEqual(first, second);
    const mine = await connections('t-two');
    assert.deepEqual(mine.map((connection) => connection.label).sort(), ['Personal', 'Work']);
    for (const id of [first, second]) assert.equal((await proxyMe(id)).status, 200);
  });

  it('re-authorizes in place: a session for an existing connection replaces its credentials, keeps its id, and a wrong key on the way changes nothing', async () => {
    const tenantId = 't-reauth';
    const connectionId = await connect('bearer', tenantId, { token: STAND_IN.bearer }, { label: 'Main' });
    // A wrong key during re-authorization is refused and leaves the working credentials alone.
    const wrong = await openForm('bearer', tenantId, { connectionId });
    assert.equal((await submit(wrong.sessionId, { token: 'not-the-token' })).status, 400);
    assert.equal((await proxyMe(connectionId)).status, 200, 'the old credentials still work');
    // The provider revokes the old token; the tenant pastes the new one.
    const rotated = 'bearer-token-rotated-0042';
    api.rotate({ bearer: rotated });
    try {
      const stale = await proxyMe(connectionId);
      assert.equal(stale.status, 401, 'the stand-in no longer accepts the old token');
      await stale.body?.cancel();
      const { sessionId } = await openForm('bearer', tenantId, { connectionId });
      assert.equal((await submit(sessionId, { token: rotated })).status, 200);
      const mine = await connections(tenantId);
      assert.deepEqual(
        mine.map((connection) => [connection.id, connection.label, connection.status]),
        [[connectionId, 'Main', 'active']],
        'still one connection, the same one, with its label',
      );
      assert.equal((await proxyMe(connectionId)).status, 200, 'the new token is the one applied');
    } finally {
      api.reset();
    }
  });

  it('refuses to re-authorize another tenant’s connection (400), and leaves it alone', async () => {
    const theirs = await connect('bearer', 't-victim', { token: STAND_IN.bearer });
    const answer = await call(`${base}/session`, { method: 'POST', json: { tenantId: 't-attacker', connector: 'bearer', connectionId: theirs } });
    assert.equal(answer.status, 400);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'connection_not_found');
    assert.equal((await proxyMe(theirs)).status, 200);
  });

  it('custom: an upstream 401 calls the method’s refresh once, stores what it returns, and retries', async () => {
    const connectionId = await connect('custom-refresh', 't-custom-refresh', { ...STAND_IN.custom });
    const rotated = 'signing-secret-rotated-77';
    api.rotate({ custom: { clientId: STAND_IN.custom.clientId, secret: rotated } });
    vault.secret = rotated;
    const refreshesBefore = vault.refreshes;
    try {
      const answer = await proxyMe(connectionId);
      assert.equal(answer.status, 200, 'the retry with the refreshed secret was accepted');
      assert.equal(vault.refreshes, refreshesBefore + 1);
      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
      assert.deepEqual(decryptCredentials(patchbay.patchbay.ctx, row), {
        type: 'custom',
        handler: 'signed-refreshing',
        values: { clientId: STAND_IN.custom.clientId, secret: rotated },
      });
      assert.equal((await proxyMe(connectionId)).status, 200);
      assert.equal(vault.refreshes, refreshesBefore + 1, 'the stored secret is used next time, with no second refresh');
    } finally {
      api.reset();
      vault.secret = STAND_IN.custom.secret;
    }
  });

  it('revokes a connection: its state is revoked, the proxy and tenant actions refuse it (409), and the secret is never in a read', async () => {
    const tenantId = 't-revoke';
    const connectionId = await connect('basic', tenantId, { ...STAND_IN.basic });
    const read = await (await call(`/v1/connections/${connectionId}`)).text();
    assert.ok(!read.includes(STAND_IN.basic.password), 'a read never shows the secret');
    const revoked = await call(`/v1/connections/${connectionId}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200);
    assert.equal(((await revoked.json()) as { status: string }).status, 'revoked');
    assert.equal(((await (await call(`/v1/connections/${connectionId}`)).json()) as { status: string }).status, 'revoked');
    const seenBefore = api.seen.length;
    const refused = await proxyMe(connectionId);
    assert.equal(refused.status, 409);
    assert.deepEqual(await refused.json(), { error: { code: 'connection_revoked', message: 'The connection was revoked.' } });
    const action = await tenantAction(tenantId, 'me-basic');
    assert.equal(action.status, 409);
    assert.equal(((await action.json()) as { error: { code: string } }).error.code, 'connection_revoked');
    assert.equal(api.seen.length, seenBefore, 'nothing reached the API');
  });
});
