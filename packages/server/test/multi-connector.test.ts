import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Declarations } from '../src/index.js';
import { startPatchbay, TEST_POSTGRES_URL, type TestPatchbay } from './support/harness.js';
import { waitFor } from './support/keys.js';
import { startMultiMethodApi, type MultiMethodApi } from './support/multi-method-api.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

const HOST_ORIGIN = 'https://app.example.com';
const store = TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';

/** Two connectors in one integration (a bearer API and a key API), and one connector offering three methods. */
function declarations(api: StandInApi, multi: MultiMethodApi): Declarations {
  const plain = { description: '', visibility: 'shared', actions: {} };
  return {
    connectors: [
      {
        slug: 'bearer-api',
        name: 'Bearer API',
        baseUrl: `${api.origin}/bearer`,
        authMethods: [{ type: 'bearer' }],
        ...plain,
      },
      {
        slug: 'key-api',
        name: 'Key API',
        baseUrl: `${api.origin}/api-key-header`,
        authMethods: [{ type: 'apiKey', in: 'header', name: 'X-API-Key' }],
        ...plain,
      },
      {
        slug: 'triple',
        name: 'Triple',
        baseUrl: multi.origin,
        // Parsed declarations mark exactly one default; these skip the parser, so they say it themselves.
        authMethods: [
          { type: 'bearer', default: false },
          { type: 'basic', default: true },
          { type: 'apiKey', in: 'header', name: 'X-API-Key', default: false },
        ],
        ...plain,
      },
    ],
    integrations: [
      {
        id: 'two-apps',
        name: 'Two apps',
        description: '',
        connectors: ['bearer-api', 'key-api'],
        allowedOrigins: [HOST_ORIGIN],
        configFields: [],
        actions: {
          bearerMe: { connector: 'bearer-api', method: 'GET', path: '/me', forwardBody: false },
          keyMe: { connector: 'key-api', method: 'GET', path: '/me', forwardBody: false },
        },
      },
      {
        id: 'triple-app',
        name: 'Triple app',
        description: '',
        connectors: ['triple'],
        allowedOrigins: [HOST_ORIGIN],
        configFields: [],
        actions: { me: { connector: 'triple', method: 'GET', path: '/me', forwardBody: false } },
      },
    ],
  } as Declarations;
}

const FORMS: Record<string, Record<string, string>> = {
  'bearer-api': { token: STAND_IN.bearer },
  'key-api': { key: STAND_IN.apiKey },
};

describe(`several connectors in one install, and the choice of an auth method (${store})`, () => {
  let patchbay: TestPatchbay;
  let api: StandInApi;
  let multi: MultiMethodApi;
  let accessKey: string;

  before(async () => {
    api = await startStandInApi();
    multi = await startMultiMethodApi();
    patchbay = await startPatchbay({ declarations: declarations(api, multi) });
    accessKey = await patchbay.accessKey();
  });

  after(async () => {
    await patchbay?.close();
    await api?.close();
    await multi?.close();
  });

  const call = (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) =>
    fetch(`${patchbay.origin}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${init.auth ?? accessKey}`, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  async function openSession(integration: string, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
    const created = await call(`/v1/integrations/${integration}/session`, { body });
    assert.equal(created.status, 200, await created.clone().text());
    return (await created.json()) as { id: string; token: string };
  }

  const startUrl = (integration: string, sessionId: string, query: Record<string, string> = {}) =>
    `${patchbay.origin}/v1/integrations/${integration}/session/${sessionId}/start?${new URLSearchParams({ mode: 'popup', origin: HOST_ORIGIN, ...query })}`;

  async function submitForm(integration: string, sessionId: string, values: Record<string, string>): Promise<void> {
    const submitted = await fetch(`${patchbay.origin}/v1/integrations/${integration}/session/${sessionId}/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(values).toString(),
    });
    assert.equal(submitted.status, 200, 'the credentials were accepted');
  }

  async function commit(integration: string, sessionId: string): Promise<string> {
    const committed = await call(`/v1/integrations/${integration}/session/${sessionId}/commit`, { body: {} });
    assert.equal(committed.status, 200, await committed.clone().text());
    const { targetUrl } = (await committed.json()) as { targetUrl: string };
    return waitFor('the install to settle', async () => {
      const install = (await (await fetch(targetUrl, { headers: { authorization: `Bearer ${accessKey}` } })).json()) as {
        id: string;
        operationState: { status: string };
      };
      return install.operationState.status === 'pending' ? undefined : (assert.equal(install.operationState.status, 'success'), install.id);
    });
  }

  /** The tenant connects one connector of two-apps through the hosted form; answers the session and its install. */
  async function connect(tenantId: string, connector: string, extra: Record<string, unknown> = {}) {
    const session = await openSession('two-apps', { tenantId, ...extra });
    const start = await fetch(startUrl('two-apps', session.id, extra.connectionId ? {} : { connector }));
    assert.equal(start.status, 200, 'the credential form');
    await submitForm('two-apps', session.id, FORMS[connector]!);
    return { session, installId: await commit('two-apps', session.id) };
  }

  const action = (tenantId: string, name: string, integration = 'two-apps') =>
    call(`/v1/integrations/${integration}/api/tenant/${tenantId}/${name}`, { body: {} });

  async function actionAnswer(tenantId: string, name: string, integration?: string) {
    const response = await action(tenantId, name, integration);
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { status: number; body: { ok: boolean; via: string } }).body;
  }

  const installRow = (id: string) => patchbay.patchbay.ctx.store.db.selectFrom('installs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const connectionsOf = async (installId: string) => JSON.parse((await installRow(installId)).connection_ids) as string[];

  it('answers the actions of both connectors a tenant connected one after the other, from one install holding both connections', async () => {
    const first = await connect('tenant-a', 'bearer-api');
    const second = await connect('tenant-a', 'key-api');
    assert.equal(second.installId, first.installId, 'the second connector joined the tenant’s install');
    assert.equal((await connectionsOf(first.installId)).length, 2);
    assert.deepEqual(await actionAnswer('tenant-a', 'bearerMe'), { ok: true, via: 'bearer', path: '/bearer/me' });
    assert.deepEqual(await actionAnswer('tenant-a', 'keyMe'), { ok: true, via: 'api-key-header', path: '/api-key-header/me' });
    const installs = await patchbay.patchbay.ctx.store.db.selectFrom('installs').select('id').where('tenant_id', '=', 'tenant-a').execute();
    assert.equal(installs.length, 1, 'no second install');

    // Commit stays idempotent per session, for the session that joined an install too.
    const again = await call(`/v1/integrations/two-apps/session/${second.session.id}/commit`, { body: {} });
    assert.equal(((await again.json()) as { targetUrl: string }).targetUrl.split('/').at(-1), first.installId);
    const session = await patchbay.patchbay.ctx.store.db
      .selectFrom('sessions')
      .select(['status', 'install_id'])
      .where('id', '=', second.session.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(session, { status: 'committed', install_id: first.installId });

    // The connectors view of the session that connected the second one shows both as connected.
    const view = await call(`/v1/integrations/two-apps/session/${second.session.id}/connectors`, { auth: second.session.token });
    const data = ((await view.json()) as { data: Array<{ slug: string; state: string }> }).data;
    assert.deepEqual(
      data.map((connector) => [connector.slug, connector.state]),
      [
        ['bearer-api', 'connected'],
        ['key-api', 'connected'],
      ],
    );
  });

  it('keeps the other connector when one is connected again (a new connection) or re-authorized in place', async () => {
    const first = await connect('tenant-b', 'bearer-api');
    await connect('tenant-b', 'key-api');
    const before = await connectionsOf(first.installId);

    const again = await connect('tenant-b', 'bearer-api');
    assert.equal(again.installId, first.installId);
    const after = await connectionsOf(first.installId);
    assert.equal(after.length, 2, 'the new bearer connection replaced the old one');
    assert.equal(after[1], before[1], 'the key connection is kept');
    assert.notEqual(after[0], before[0]);
    assert.deepEqual((await actionAnswer('tenant-b', 'keyMe')).via, 'api-key-header');
    assert.deepEqual((await actionAnswer('tenant-b', 'bearerMe')).via, 'bearer');

    const reauth = await connect('tenant-b', 'key-api', { connectionId: after[1] });
    assert.equal(reauth.installId, first.installId);
    assert.deepEqual(await connectionsOf(first.installId), after, 're-authorizing changes no connection id');
    assert.equal((await actionAnswer('tenant-b', 'bearerMe')).via, 'bearer');
    assert.equal((await actionAnswer('tenant-b', 'keyMe')).via, 'api-key-header');
  });

  it('ends the actions of both connectors when the install is deleted; the next connection makes a new install', async () => {
    const first = await connect('tenant-c', 'bearer-api');
    await connect('tenant-c', 'key-api');
    const deleted = await call(`/v1/integrations/two-apps/install/${first.installId}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    for (const name of ['bearerMe', 'keyMe']) {
      const response = await action('tenant-c', name);
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'install_not_found');
    }
    const next = await connect('tenant-c', 'key-api');
    assert.notEqual(next.installId, first.installId);
    assert.equal((await actionAnswer('tenant-c', 'keyMe')).via, 'api-key-header');
  });

  it('makes one install holding both connections when two sessions of one tenant commit at once', async () => {
    const ready = await Promise.all(
      ['bearer-api', 'key-api'].map(async (connector) => {
        const session = await openSession('two-apps', { tenantId: 'tenant-d' });
        assert.equal((await fetch(startUrl('two-apps', session.id, { connector }))).status, 200);
        await submitForm('two-apps', session.id, FORMS[connector]!);
        return session;
      }),
    );
    const ids = await Promise.all(ready.map((session) => commit('two-apps', session.id)));
    assert.equal(ids[0], ids[1]);
    assert.equal((await connectionsOf(ids[0]!)).length, 2);
    assert.equal((await actionAnswer('tenant-d', 'bearerMe')).via, 'bearer');
    assert.equal((await actionAnswer('tenant-d', 'keyMe')).via, 'api-key-header');
  });

  it('shows the choice of methods on the start page when none is chosen, the default first and marked, and moves nothing', async () => {
    const session = await openSession('triple-app', { tenantId: 'tenant-m' });
    const page = await fetch(startUrl('triple-app', session.id));
    assert.equal(page.status, 200);
    const body = await page.text();
    const methods = [...body.matchAll(/<button type="submit" name="method" value="([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(methods, ['basic', 'bearer', 'apiKey']);
    assert.match(body, /value="basic" class="choice default"[^>]*><span>Username and password<\/span> <span class="badge">Recommended</);
    assert.match(body, /<form method="get" action="\/v1\/integrations\/triple-app\/session\/ses_\w+\/start">/);
    assert.match(
      body,
      /<input type="hidden" name="mode" value="popup"><input type="hidden" name="origin" value="https:\/\/app.example.com"><input type="hidden" name="connector" value="triple">/,
    );
    assert.match(body, /role="group" aria-labelledby="choose-heading choose-question"/);
    const row = await patchbay.patchbay.ctx.store.db
      .selectFrom('sessions')
      .select(['status', 'auth_method'])
      .where('id', '=', session.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'created', auth_method: null }, 'showing the choice starts nothing');
  });

  for (const [method, form, field] of [
    ['apiKey', { key: STAND_IN.apiKey }, 'key'],
    ['bearer', { token: STAND_IN.bearer }, 'token'],
    ['basic', STAND_IN.basic, 'password'],
  ] as const) {
    it(`leads the ${method} choice to its own form and stores the connection with that method, whose action answers`, async () => {
      const tenantId = `tenant-${method}`;
      const session = await openSession('triple-app', { tenantId });
      const page = await fetch(startUrl('triple-app', session.id, { connector: 'triple', method }));
      assert.equal(page.status, 200);
      assert.match(await page.text(), new RegExp(`<input id="f-${field}" name="${field}"`));
      await submitForm('triple-app', session.id, form);
      await commit('triple-app', session.id);
      const connections = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('auth_method').where('tenant_id', '=', tenantId).execute();
      assert.deepEqual(connections, [{ auth_method: method }]);
      assert.deepEqual(await actionAnswer(tenantId, 'me', 'triple-app'), { ok: true, via: method });
    });
  }

  it('refuses an unknown method and a method the connector does not offer with a 400 page, never a 500', async () => {
    const session = await openSession('triple-app', { tenantId: 'tenant-x' });
    for (const [method, code] of [
      ['telepathy', 'invalid_request'],
      ['oauth2', 'method_not_supported'],
      ['custom', 'method_not_supported'],
    ]) {
      const page = await fetch(startUrl('triple-app', session.id, { method: method! }));
      assert.equal(page.status, 400, method);
      const body = await page.text();
      assert.match(body, new RegExp(`data-code="${code}"`), method);
      assert.match(body, /<h1>This link cannot continue<\/h1>/);
    }
  });

  it('lists a connector’s methods default first in the session’s connectors view', async () => {
    const session = await openSession('triple-app', { tenantId: 'tenant-v' });
    const view = await call(`/v1/integrations/triple-app/session/${session.id}/connectors`, { auth: session.token });
    const [connector] = ((await view.json()) as { data: Array<{ methods: string[] }> }).data;
    assert.deepEqual(connector?.methods, ['basic', 'bearer', 'apiKey']);
  });
});
