import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineAuthMethod } from '../src/connectors/auth-methods.js';
import type { Declarations } from '../src/index.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { customSignature, STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

const HOST_ORIGIN = 'https://app.example.com';

/** A proprietary scheme as an operator would register it: a client id and a request signature. */
const signedRequests = defineAuthMethod({
  fields: [
    { name: 'clientId', label: 'Client ID', secret: false },
    { name: 'secret', label: 'Signing secret', secret: true },
  ],
  apply(request, credentials) {
    request.headers.set('x-client', credentials.clientId!);
    request.headers.set('x-signature', customSignature(credentials.secret!, 'GET', request.url.pathname + request.url.search));
  },
});

function declarations(api: StandInApi): Declarations {
  const connector = (slug: string, name: string, auth: Record<string, unknown>, verify: boolean) => ({
    slug,
    name,
    description: `Accepts ${name} only`,
    baseUrl: `${api.origin}/${slug}`,
    visibility: 'private' as const,
    authMethods: [auth],
    actions: { me: { method: 'GET' as const, path: '/me', query: {} } },
    ...(verify ? { verifyAction: 'me' } : {}),
  });
  return {
    connectors: [
      connector('none', 'No auth', { type: 'none' }, false),
      connector('basic', 'Basic', { type: 'basic' }, true),
      connector('bearer', 'Bearer', { type: 'bearer' }, true),
      connector('api-key-header', 'API key header', { type: 'apiKey', in: 'header', name: 'X-API-Key' }, true),
      connector('api-key-query', 'API key query', { type: 'apiKey', in: 'query', name: 'api_key' }, false),
      connector('custom', 'Signed', { type: 'custom', handler: 'signed-requests' }, true),
    ] as unknown as Declarations["connectors"],
    integrations: [
      {
        id: 'every-method',
        name: 'Every method',
        description: '',
        connectors: ['none', 'basic', 'bearer', 'api-key-header', 'api-key-query', 'custom'],
        allowedOrigins: [HOST_ORIGIN],
        configFields: [],
        actions: {},
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
    patchbay = await startPatchbay({ declarations: declarations(api), authMethods: { 'signed-requests': signedRequests } });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/every-method`;
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const call = (url: string, init: { method?: string; json?: unknown; form?: Record<string, string> } = {}) =>
    fetch(url.startsWith('http') ? url : `${patchbay.origin}${url}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${accessKey}`,
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });

  async function openForm(connector: string, tenantId: string, extra: Record<string, string> = {}) {
    const session = (await (await call(`${base}/session`, { method: 'POST', json: { tenantId, connector, ...extra } })).json()) as { id: string };
    const start = await fetch(`${base}/session/${session.id}/start?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    return { sessionId: session.id, start, page: await start.text() };
  }

  const submit = (sessionId: string, values: Record<string, string>) => fetch(`${base}/session/${sessionId}/credentials`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(values).toString(), redirect: 'manual' });

  async function connections(tenantId: string) {
    return ((await (await call(`/v1/connections?tenantId=${tenantId}`)).json()) as { data: Array<{ id: string; connector: string; label: string | null; status: string }> }).data;
  }

  /** The whole hosted flow for a form method: form, credentials, commit, install; the connection's id. */
  async function connect(connector: string, tenantId: string, values: Record<string, string>, extra: Record<string, string> = {}) {
    const before = new Set((await connections(tenantId)).map((connection) => connection.id));
    const { sessionId, start, page } = await openForm(connector, tenantId, extra);
    assert.equal(start.status, 200, `the ${connector} start page is a form`);
    assert.match(page, /<form method="post"/);
    const done = await submit(sessionId, values);
    assert.equal(done.status, 200, `the ${connector} credentials were accepted`);
    const { targetUrl } = (await (await call(`${base}/session/${sessionId}/commit`, { method: 'POST' })).json()) as { targetUrl: string };
    assert.match(targetUrl, /\/install\/ins_/);
    const added = (await connections(tenantId)).filter((connection) => connection.connector === connector && !before.has(connection.id));
    assert.equal(added.length, 1, 'the flow added exactly one connection');
    return added[0]!.id;
  }

  const proxyMe = (connectionId: string) => call(`/v1/connections/${connectionId}/proxy/me`);

  const cases: Array<{ connector: string; values: Record<string, string>; fields: string[] }> = [
    { connector: 'none', values: {}, fields: [] },
    { connector: 'basic', values: { ...STAND_IN.basic }, fields: ['username', 'password'] },
    { connector: 'bearer', values: { token: STAND_IN.bearer }, fields: ['token'] },
    { connector: 'api-key-header', values: { key: STAND_IN.apiKey }, fields: ['key'] },
    { connector: 'api-key-query', values: { key: STAND_IN.apiKey }, fields: ['key'] },
    { connector: 'custom', values: { ...STAND_IN.custom }, fields: ['clientId', 'secret'] },
  ];

  for (const { connector, values, fields } of cases) {
    it(`${connector}: the hosted form asks for exactly [${fields.join(', ')}], the connection is saved, and the proxy reaches the API with those credentials`, async () => {
      const { page } = await openForm(connector, `form-${connector}`);
      const asked = [...page.matchAll(/<input[^>]* name="([^"]+)"/g)].map((match) => match[1]);
      assert.deepEqual(asked, fields);
      const connectionId = await connect(connector, `t-${connector}`, values);
      const answer = await proxyMe(connectionId);
      assert.equal(answer.status, 200, 'the stand-in accepted the credentials Patchbay applied');
      assert.deepEqual(await answer.json(), { ok: true, via: connector, path: `/${connector}/me` });
    });
  }

  it('applies the API key as the named query parameter for apiKey in: query, and never as a header', async () => {
    const connectionId = await connect('api-key-query', 't-query-check', { key: STAND_IN.apiKey });
    const echo = (await (await call(`/v1/connections/${connectionId}/proxy/echo?page=2`)).json()) as { query: Record<string, string>; headers: Record<string, string> };
    assert.deepEqual(echo.query, { page: '2', api_key: STAND_IN.apiKey });
    assert.equal(echo.headers['x-api-key'], undefined);
    assert.equal(echo.headers.authorization, undefined);
  });

  it('refuses a wrong key on the form with a clear message, checked against the verify action, and saves nothing', async () => {
    const { sessionId } = await openForm('api-key-header', 't-wrong');
    const answer = await submit(sessionId, { key: 'not-the-key' });
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /role="alert"[^>]*>API key header did not accept these credentials\./);
    assert.deepEqual(await connections('t-wrong'), [], 'no connection, not even the verification probe, remains');
    const session = (await (await call(`${base}/session/${sessionId}`)).json()) as { status: string };
    assert.equal(session.status, 'started', 'the partner may try again on the same form');
  });

  it('answers an empty or oversized value with a message on the form, and saves nothing', async () => {
    const { sessionId } = await openForm('basic', 't-empty');
    const empty = await submit(sessionId, { username: 'ada', password: '   ' });
    assert.equal(empty.status, 400);
    assert.match(await empty.text(), /Password is required\./);
    const huge = await submit(sessionId, { username: 'ada', password: 'x'.repeat(5000) });
    assert.equal(huge.status, 400);
    assert.match(await huge.text(), /Password is too long/);
    assert.deepEqual(await connections('t-empty'), []);
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

  it('re-authorizes in place: a session for an existing connection replaces its credentials and keeps its id', async () => {
    const connectionId = await connect('bearer', 't-reauth', { token: STAND_IN.bearer });
    const { sessionId } = await openForm('bearer', 't-reauth', { connectionId });
    assert.equal((await submit(sessionId, { token: STAND_IN.bearer })).status, 200);
    const mine = await connections('t-reauth');
    assert.deepEqual(mine.map((connection) => connection.id), [connectionId], 'still one connection, the same one');
    assert.equal((await proxyMe(connectionId)).status, 200);
  });

  it('revokes a connection: its state is revoked, the proxy refuses it, and the secret is never in a read', async () => {
    const connectionId = await connect('basic', 't-revoke', { ...STAND_IN.basic });
    const read = await (await call(`/v1/connections/${connectionId}`)).text();
    assert.ok(!read.includes(STAND_IN.basic.password), 'a read never shows the secret');
    const revoked = await call(`/v1/connections/${connectionId}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200);
    assert.equal(((await revoked.json()) as { status: string }).status, 'revoked');
    const before = api.seen.length;
    const refused = await proxyMe(connectionId);
    assert.ok(refused.status >= 400 && refused.status < 500, `answered ${refused.status}`);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code.length > 0, true);
    assert.equal(api.seen.length, before, 'nothing reached the API');
  });
});
