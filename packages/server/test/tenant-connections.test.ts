import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Credentials } from '../src/connectors/auth-methods.js';
import { decryptCredentials } from '../src/connections/credentials.js';
import { createConnection, replaceCredentials } from '../src/connections/service.js';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const HOST_ORIGIN = 'https://app.example.com';
const DAY_MS = 86_400_000;

interface Flow {
  id: string;
  token: string;
  startUrl: string;
}

interface ConnectorView {
  slug: string;
  state: string;
  connections: Array<{ id: string; label: string | null; status: string; connectedAt: string; expiresAt: string | null }>;
}

describe('the tenant’s connections through the session token (state on load, disconnect)', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let base: string;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        const declarations = oauthDeclarations(thirdParty, { allowedOrigins: [HOST_ORIGIN] });
        // `profile` makes the ID token carry the account's name, which becomes the connection's label.
        const method = declarations.connectors[0]!.authMethods[0] as { scopes: string[] };
        method.scopes = [...method.scopes, 'profile'];
        return declarations;
      },
    });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/acme-sync`;
  });

  after(async () => {
    await patchbay.close();
    await thirdParty.close();
  });

  const api = (path: string, init: { method?: string; body?: unknown; auth?: string | null; headers?: Record<string, string> } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.auth === null ? {} : { authorization: `Bearer ${init.auth ?? accessKey}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'manual',
    });

  async function newSession(tenantId: string, extra: Record<string, unknown> = {}): Promise<Flow> {
    const response = await api('/session', { method: 'POST', body: { redirectUrl: `${HOST_ORIGIN}/settings`, tenantId, ...extra } });
    assert.equal(response.status, 200);
    return (await response.json()) as Flow;
  }

  async function connectors(flow: Flow): Promise<ConnectorView[]> {
    const response = await api(`/session/${flow.id}/connectors`, { auth: flow.token });
    assert.equal(response.status, 200);
    return ((await response.json()) as { data: ConnectorView[] }).data;
  }

  async function stateOf(tenantId: string): Promise<ConnectorView> {
    return (await connectors(await newSession(tenantId)))[0]!;
  }

  const disconnect = (flow: Flow, connectionId: string, auth: string | null = flow.token) =>
    api(`/session/${flow.id}/connections/${connectionId}`, { method: 'DELETE', auth });

  async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    return { status: response.status, ...body.error };
  }

  const oauth = (tokens: { refreshToken?: string | null; expiresInMs?: number | null; refreshExpiresInMs?: number | null }): Credentials => ({
    type: 'oauth2',
    tokens: {
      accessToken: 'at-not-real',
      refreshToken: tokens.refreshToken ?? null,
      tokenType: 'bearer',
      scope: null,
      expiresAt: tokens.expiresInMs == null ? null : Date.now() + tokens.expiresInMs,
      refreshExpiresAt: tokens.refreshExpiresInMs == null ? null : Date.now() + tokens.refreshExpiresInMs,
    },
  });

  const store = (tenantId: string, credentials: Credentials, connector = 'acme', label: string | null = null) =>
    createConnection(patchbay.patchbay.ctx, { connector, tenantId, label, credentials });

  async function connectThroughProvider(flow: Flow): Promise<void> {
    const start = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    assert.equal(start.status, 303);
    const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`, { user: 'grace' });
    await (await fetch(callbackUrl, { redirect: 'manual' })).text();
  }

  describe('state on load', () => {
    it('is not_connected with no connections, then connected with the account’s name as label and when it was made after an OAuth sign-in', async () => {
      const before = await stateOf('tenant-fresh');
      assert.equal(before.state, 'not_connected');
      assert.deepEqual(before.connections, []);

      const flow = await newSession('tenant-fresh');
      const startedAt = Date.now();
      await connectThroughProvider(flow);
      const [after] = await connectors(flow);
      assert.equal(after!.state, 'connected');
      assert.equal(after!.connections.length, 1);
      const [connection] = after!.connections;
      assert.equal(connection!.label, 'grace', 'the ID token’s name labels the connection');
      assert.equal(connection!.status, 'active');
      assert.equal(connection!.expiresAt, null, 'a refresh token of unknown lifetime never needs the person by itself');
      assert.ok(Date.parse(connection!.connectedAt) >= startedAt - 1000 && Date.parse(connection!.connectedAt) <= Date.now(), 'connectedAt is ISO and now');
    });

    it('keeps a label the host chose over the account’s name', async () => {
      const flow = await newSession('tenant-labelled', { label: 'Work account' });
      await connectThroughProvider(flow);
      assert.equal((await connectors(flow))[0]!.connections[0]!.label, 'Work account');
    });

    it('is expiring when an access token without a refresh token expires within PATCHBAY_EXPIRING_SOON_DAYS (7), and says when', async () => {
      const id = await store('tenant-no-refresh', oauth({ expiresInMs: 3 * DAY_MS }));
      const view = await stateOf('tenant-no-refresh');
      assert.equal(view.state, 'expiring');
      assert.equal(view.connections[0]!.id, id);
      assert.equal(view.connections[0]!.status, 'expiring');
      const expiresIn = Date.parse(view.connections[0]!.expiresAt!) - Date.now();
      assert.ok(expiresIn > 2.9 * DAY_MS && expiresIn <= 3 * DAY_MS, 'expiresAt is the access token’s expiry');
    });

    it('is connected (active, with its expiry) when that expiry is further away than the window', async () => {
      await store('tenant-far', oauth({ expiresInMs: 10 * DAY_MS }));
      const view = await stateOf('tenant-far');
      assert.equal(view.state, 'connected');
      assert.equal(view.connections[0]!.status, 'active');
      assert.notEqual(view.connections[0]!.expiresAt, null);
    });

    it('is expiring when the provider announced the refresh token’s end within the window, whatever the access token does', async () => {
      await store('tenant-refresh-ends', oauth({ refreshToken: 'rt-not-real', expiresInMs: 60_000, refreshExpiresInMs: 2 * DAY_MS }));
      const view = await stateOf('tenant-refresh-ends');
      assert.equal(view.state, 'expiring');
      const expiresIn = Date.parse(view.connections[0]!.expiresAt!) - Date.now();
      assert.ok(expiresIn > 1.9 * DAY_MS, 'expiresAt is the refresh token’s end, not the access token’s');
    });

    it('is needs_reauth when the credentials are already past it (no refresh token, access token expired) or the store says so', async () => {
      await store('tenant-expired', oauth({ expiresInMs: -60_000 }));
      assert.equal((await stateOf('tenant-expired')).state, 'needs_reauth');
      const id = await store('tenant-marked', oauth({ refreshToken: 'rt-not-real', expiresInMs: 3600_000 }));
      await patchbay.patchbay.ctx.store.db.updateTable('connections').set({ status: 'needs_reauth' }).where('id', '=', id).execute();
      const view = await stateOf('tenant-marked');
      assert.equal(view.state, 'needs_reauth');
      assert.equal(view.connections[0]!.status, 'needs_reauth');
    });

    it('decides the connector’s state by its worst connection, and an API key never expires by itself', async () => {
      await store('tenant-mixed', { type: 'apiKey', key: 'k-not-real' }, 'acme', 'Key');
      await store('tenant-mixed', oauth({ expiresInMs: DAY_MS }), 'acme', 'Soon');
      const view = await stateOf('tenant-mixed');
      assert.equal(view.state, 'expiring');
      assert.deepEqual(
        view.connections.map((c) => [c.label, c.status, c.expiresAt === null]),
        [
          ['Key', 'active', true],
          ['Soon', 'expiring', false],
        ],
      );
    });

    it('answers 410 session_expired for an expired session’s token, and 401 for a malformed one', async () => {
      const flow = await newSession('tenant-late');
      await patchbay.patchbay.ctx.store.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', flow.id)
        .execute();
      const expired = await errorOf(await api(`/session/${flow.id}/connectors`, { auth: flow.token }));
      assert.deepEqual([expired.status, expired.code], [410, 'session_expired']);
      const malformed = await errorOf(await api(`/session/${flow.id}/connectors`, { auth: 'not-a-token' }));
      assert.deepEqual([malformed.status, malformed.code], [401, 'invalid_credentials']);
    });
  });

  describe('DELETE …/session/{id}/connections/{connectionId}', () => {
    it('revokes the connection in one go: status revoked, credentials wiped, one audit entry; answers the updated view', async () => {
      const id = await store('tenant-leaving', oauth({ refreshToken: 'rt-secret-value', expiresInMs: 3600_000 }), 'acme', 'Old');
      const flow = await newSession('tenant-leaving');
      const response = await disconnect(flow, id);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { data: ConnectorView[]; next: null };
      assert.equal(body.data[0]!.state, 'not_connected', 'the last connection gone, the connector is not connected');
      assert.deepEqual(body.data[0]!.connections, []);

      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'revoked');
      assert.equal(row.expires_at, null);
      assert.deepEqual(decryptCredentials(patchbay.patchbay.ctx, row), { type: 'none' }, 'no credentials are left on the row');
      const audit = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('target_id', '=', id)
        .where('action', '=', 'connection.revoked')
        .execute();
      assert.equal(audit.length, 1);
      assert.deepEqual([audit[0]!.actor, audit[0]!.via, audit[0]!.target_type], ['tenant:tenant-leaving', flow.id, 'connection']);
      assert.doesNotMatch(audit[0]!.details, /rt-secret-value/);
    });

    it('is safe to repeat and to race: five concurrent disconnects all answer 200 and write one audit entry', async () => {
      const id = await store('tenant-racing', oauth({ expiresInMs: 3600_000 }));
      const flow = await newSession('tenant-racing');
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => disconnect(flow, id)));
      assert.deepEqual(
        answers.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      assert.equal((await disconnect(flow, id)).status, 200, 'a retried request is not an error');
      const audit = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .select('id')
        .where('target_id', '=', id)
        .where('action', '=', 'connection.revoked')
        .execute();
      assert.equal(audit.length, 1);
    });

    it('keeps the other connections of the tenant: the connector stays connected while one is left', async () => {
      const first = await store('tenant-two', oauth({ refreshToken: 'rt', expiresInMs: 3600_000 }), 'acme', 'First');
      await store('tenant-two', oauth({ refreshToken: 'rt', expiresInMs: 3600_000 }), 'acme', 'Second');
      const flow = await newSession('tenant-two');
      const body = (await (await disconnect(flow, first)).json()) as { data: ConnectorView[] };
      assert.equal(body.data[0]!.state, 'connected');
      assert.deepEqual(
        body.data[0]!.connections.map((c) => c.label),
        ['Second'],
      );
    });

    it('answers the same 404 for an unknown connection, another tenant’s, and one of a connector the integration does not offer', async () => {
      const flow = await newSession('tenant-probe');
      const theirs = await store('tenant-other', oauth({ expiresInMs: 3600_000 }));
      const elsewhere = await store('tenant-probe', oauth({ expiresInMs: 3600_000 }), 'not-in-this-integration');
      const unknown = 'con_AAAAAAAAAAAAAAAAAAAAAA';
      const answers = await Promise.all([unknown, theirs, elsewhere].map(async (id) => errorOf(await disconnect(flow, id))));
      for (const answer of answers) assert.deepEqual(answer, answers[0], 'no answer tells the three apart');
      assert.deepEqual([answers[0]!.status, answers[0]!.code], [404, 'connection_not_found']);
      const rows = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('status').where('id', 'in', [theirs, elsewhere]).execute();
      assert.deepEqual(
        rows.map((r) => r.status),
        ['active', 'active'],
      );
    });

    it('refuses bad input with 4xx: a malformed id (400), no token (401), another session’s token (403), an expired session (410)', async () => {
      const id = await store('tenant-guarded', oauth({ expiresInMs: 3600_000 }));
      const flow = await newSession('tenant-guarded');
      const other = await newSession('tenant-guarded');
      assert.deepEqual((await errorOf(await disconnect(flow, 'con_short'))).status, 400);
      assert.deepEqual((await errorOf(await disconnect(flow, id, null))).code, 'invalid_credentials');
      const forbidden = await errorOf(await disconnect(flow, id, other.token));
      assert.deepEqual([forbidden.status, forbidden.code], [403, 'session_forbidden']);
      await patchbay.patchbay.ctx.store.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', flow.id)
        .execute();
      const expired = await errorOf(await disconnect(flow, id));
      assert.deepEqual([expired.status, expired.code], [410, 'session_expired']);
      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('status').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'active', 'nothing was revoked by a refused request');
    });

    it('answers 409 connection_in_use while another session is re-authorizing the connection, and leaves it whole', async () => {
      const id = await store('tenant-busy', oauth({ refreshToken: 'rt-kept', expiresInMs: 3600_000 }));
      const renewing = await newSession('tenant-busy', { connectionId: id });
      const start = await fetch(`${renewing.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      assert.equal(start.status, 303, 'the re-authorizing session is started');
      const flow = await newSession('tenant-busy');
      const conflict = await errorOf(await disconnect(flow, id));
      assert.deepEqual([conflict.status, conflict.code], [409, 'connection_in_use']);
      assert.match(conflict.message, /renewing this connection/);

      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'active');
      const credentials = decryptCredentials(patchbay.patchbay.ctx, row);
      assert.equal(credentials.type === 'oauth2' && credentials.tokens.refreshToken, 'rt-kept', 'not half-revoked: the credentials are intact');
      const revocations = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .select('id')
        .where('target_id', '=', id)
        .where('action', '=', 'connection.revoked')
        .execute();
      assert.equal(revocations.length, 0);

      await patchbay.patchbay.ctx.store.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', renewing.id)
        .execute();
      assert.equal((await disconnect(flow, id)).status, 200, 'once that session has expired, the connection can go');
    });

    it('keeps a revoked connection revoked: no re-authorization can bring it back, whenever it began', async () => {
      const id = await store('tenant-final', oauth({ expiresInMs: 3600_000 }));
      const renewing = await newSession('tenant-final', { connectionId: id });
      const flow = await newSession('tenant-final');
      assert.equal((await disconnect(flow, id)).status, 200, 'a re-authorization not yet started does not hold the connection');
      const start = await fetch(`${renewing.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      assert.equal(start.status, 400, 'the session created before the disconnect cannot start: nobody signs in for nothing');
      assert.match(await start.text(), /connection_not_found/);
      // One that slipped past that check (started while the disconnect ran) cannot write credentials back.
      await assert.rejects(replaceCredentials(patchbay.patchbay.ctx, id, 'tenant-final', oauth({ expiresInMs: 3600_000 })), /No such connection/);
      const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'revoked');
      assert.deepEqual(decryptCredentials(patchbay.patchbay.ctx, row), { type: 'none' });

      // Nor can a new re-authorization begin: the revoked connection is "not found" from now on.
      const refused = await errorOf(await api('/session', { method: 'POST', body: { tenantId: 'tenant-final', connectionId: id } }));
      assert.deepEqual([refused.status, refused.code], [400, 'connection_not_found']);
      const later = await newSession('tenant-final');
      const laterStart = await fetch(`${later.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}&reauth=${id}`, { redirect: 'manual' });
      assert.equal(laterStart.status, 400);
      assert.match(await laterStart.text(), /connection_not_found/);
    });

    it('answers the preflight of an allowed page with DELETE among the methods', async () => {
      const response = await fetch(`${base}/session/ses_AAAAAAAAAAAAAAAAAAAAAA/connections/con_AAAAAAAAAAAAAAAAAAAAAA`, {
        method: 'OPTIONS',
        headers: { origin: HOST_ORIGIN, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      });
      assert.ok(response.status < 300);
      assert.match(response.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    });
  });
});
