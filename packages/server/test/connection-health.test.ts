import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CredentialBroker } from '../src/connections/broker.js';
import { HealthScheduler } from '../src/connections/health-check.js';
import { createOAuthClients } from '../src/connections/oauth.js';
import { decryptCredentials } from '../src/connections/credentials.js';
import { newestOfEach } from '../src/connections/request-log.js';
import { createConnection } from '../src/connections/service.js';
import type { Declarations } from '../src/index.js';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

const HOST_ORIGIN = 'https://app.example.com';
const HOUR_MS = 3_600_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The outbox rows about one connection's health, oldest first (delivery is the webhooks' own
 * tests): its `connection.created`, which the connect flow writes, is not one of them.
 */
async function eventsAbout(patchbay: TestPatchbay, connectionId: string): Promise<Array<{ type: string; data: Record<string, unknown>; raw: string }>> {
  const rows = await patchbay.patchbay.ctx.store.db.selectFrom('webhook_events').selectAll().orderBy('id').execute();
  return rows
    .map((row) => ({ type: row.type, data: JSON.parse(row.data) as Record<string, unknown>, raw: row.data }))
    .filter((event) => event.data.id === connectionId && event.type !== 'connection.created');
}

describe('connection health with OAuth (background refresh, invalid_grant, one health for API and widget)', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let base: string;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback`, accessTokenTtlSeconds: 3600 });
        return oauthDeclarations(thirdParty, { allowedOrigins: [HOST_ORIGIN] });
      },
      // The scheduler runs in the background as in production, only more often.
      config: { healthCheckIntervalMs: 50 },
    });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/acme-sync`;
  });

  after(async () => {
    await patchbay.close();
    await thirdParty.close();
  });

  const post = (path: string, body: unknown = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const db = () => patchbay.patchbay.ctx.store.db;
  const rowOf = (tenantId: string) => db().selectFrom('connections').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();

  async function install(tenantId: string) {
    const session = (await (await post('/session', { tenantId })).json()) as { id: string; startUrl: string; token: string };
    const start = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
    assert.equal((await fetch(callbackUrl)).status, 200);
    assert.equal((await post(`/session/${session.id}/commit`)).status, 200);
    return rowOf(tenantId);
  }

  /** An access token issued an hour ago with a minute left: inside the refresh-ahead window, and due now. */
  const nearExpiry = (tenantId: string) =>
    db()
      .updateTable('connections')
      .set({
        expires_at: new Date(Date.now() + 60_000).toISOString(),
        last_refreshed_at: new Date(Date.now() - HOUR_MS).toISOString(),
        next_check_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', tenantId)
      .execute();

  it('refreshes a token near expiry in the background, without any call, and announces connection.refreshed', async () => {
    const installed = await install('background');
    const refreshesBefore = thirdParty.tokenRequests.refresh_token;
    await nearExpiry('background');
    const refreshed = await waitFor('the background refresh', async () => {
      const row = await rowOf('background');
      return row.last_refreshed_at && Date.parse(row.last_refreshed_at) > Date.now() - 10_000 ? row : null;
    });
    assert.equal(thirdParty.tokenRequests.refresh_token - refreshesBefore, 1, 'one refresh at the provider');
    assert.ok(Date.parse(refreshed.expires_at!) > Date.now() + 50 * 60_000, 'the new token lives about an hour');
    assert.ok(Date.parse(refreshed.next_check_at!) > Date.now() + 30 * 60_000, 'the next check waits for the next refresh window');
    const credentials = decryptCredentials(patchbay.patchbay.ctx, refreshed);
    assert.equal(credentials.type, 'oauth2');
    const events = await eventsAbout(patchbay, installed.id);
    assert.deepEqual(
      events.map((event) => event.type),
      ['connection.refreshed'],
    );
    assert.equal(events[0]!.data.health, 'active');
    assert.ok(!events[0]!.raw.includes((credentials as { tokens: { accessToken: string } }).tokens.accessToken), 'no token in the event');
  });

  it('a refresh refused with invalid_grant makes the connection needs_reauth, writes both events, and the API and the widget agree', async () => {
    const installed = await install('refused');
    const { tokens } = decryptCredentials(patchbay.patchbay.ctx, installed) as { tokens: { refreshToken: string } };
    await (await thirdParty.provider.RefreshToken.find(tokens.refreshToken))!.destroy();
    await nearExpiry('refused');
    const marked = await waitFor('needs_reauth', async () => {
      const row = await rowOf('refused');
      return row.status === 'needs_reauth' ? row : null;
    });
    assert.equal(marked.needs_reauth_reason, 'invalid_grant');
    assert.equal(marked.next_check_at, null, 'no more checks: only the person can fix it');
    assert.match(marked.last_error ?? '', /^invalid_grant: /);
    const events = await eventsAbout(patchbay, installed.id);
    assert.deepEqual(
      events.map((event) => event.type),
      ['connection.refresh_failed', 'connection.needs_reauth'],
    );
    assert.equal(events[1]!.data.healthReason, 'invalid_grant');
    assert.ok(!events.some((event) => event.raw.includes(tokens.refreshToken)), 'no refresh token in an event');

    const fromApi = (await (
      await fetch(`${patchbay.origin}/v1/connections/${installed.id}`, { headers: { authorization: `Bearer ${accessKey}` } })
    ).json()) as {
      health: string;
      healthReason: string | null;
      lastError: string | null;
    };
    const session = (await (await post('/session', { tenantId: 'refused' })).json()) as { id: string; token: string };
    const widget = (await (await fetch(`${base}/session/${session.id}/connectors`, { headers: { authorization: `Bearer ${session.token}` } })).json()) as {
      data: Array<{ state: string; connections: Array<{ id: string; status: string; reason: string | null }> }>;
    };
    const shown = widget.data[0]!.connections.find((connection) => connection.id === installed.id)!;
    assert.deepEqual({ health: fromApi.health, reason: fromApi.healthReason }, { health: 'needs_reauth', reason: 'invalid_grant' });
    assert.deepEqual(
      { health: shown.status, reason: shown.reason },
      { health: fromApi.health, reason: fromApi.healthReason },
      'the widget shows what the API says',
    );
    assert.equal(widget.data[0]!.state, 'needs_reauth');
  });
});

describe('connection health with a verify action (schedule per connector, recovery, request log, claims across instances)', () => {
  let standIn: StandInApi;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let clock = Date.now();
  let scheduler: HealthScheduler;
  let other: HealthScheduler;

  before(async () => {
    standIn = await startStandInApi();
    const declarations: Declarations = {
      connectors: [
        {
          slug: 'bearer',
          name: 'Bearer API',
          description: '',
          baseUrl: `${standIn.origin}/bearer`,
          visibility: 'shared',
          authMethods: [{ type: 'bearer', default: true }],
          actions: { me: { method: 'GET', path: '/me', query: {} } },
          verifyAction: 'me',
          verifyEvery: '6h',
        },
      ],
      integrations: [],
    };
    patchbay = await startPatchbay({ declarations, config: { healthCheckIntervalMs: 0, requestLogSize: 5 } });
    accessKey = await patchbay.accessKey();
    const { ctx } = patchbay.patchbay;
    // Two instances' schedulers on one store, on a clock the test moves.
    scheduler = new HealthScheduler(ctx, new CredentialBroker(ctx, createOAuthClients(ctx.catalog, 5)), () => clock);
    other = new HealthScheduler(ctx, new CredentialBroker(ctx, createOAuthClients(ctx.catalog, 5)), () => clock);
  });

  after(async () => {
    await patchbay.close();
    await standIn.close();
  });

  const read = async (id: string) =>
    (await (await fetch(`${patchbay.origin}/v1/connections/${id}`, { headers: { authorization: `Bearer ${accessKey}` } })).json()) as {
      status: string;
      health: string;
      healthReason: string | null;
      lastVerifiedAt: string | null;
      lastError: string | null;
    };
  const connect = (tenantId: string) =>
    createConnection(patchbay.patchbay.ctx, { connector: 'bearer', tenantId, credentials: { type: 'bearer', token: STAND_IN.bearer } });
  const verifications = () => standIn.seen.filter((line) => line === 'GET /bearer/me').length;

  it('verifies on the connector’s schedule, marks refused credentials needs_reauth, and fires connection.recovered when they pass again', async () => {
    const id = await connect('verified');
    clock = Date.now();
    assert.equal(await scheduler.tick(), 0, 'nothing is due before the first interval');
    clock += 6 * HOUR_MS + 1000;
    const before = verifications();
    assert.equal(await scheduler.tick(), 1);
    assert.equal(verifications() - before, 1, 'one verification');
    assert.equal((await read(id)).health, 'active');
    assert.ok((await read(id)).lastVerifiedAt);

    standIn.rotate({ bearer: 'a-new-token-the-connection-does-not-hold' });
    clock += 6 * HOUR_MS + 1000;
    assert.equal(await scheduler.tick(), 1);
    const refused = await read(id);
    assert.deepEqual(
      { status: refused.status, health: refused.health, reason: refused.healthReason },
      { status: 'needs_reauth', health: 'needs_reauth', reason: 'verification_failed' },
    );
    assert.match(refused.lastError ?? '', /^verification_failed: /);
    assert.ok(!refused.lastError!.includes(STAND_IN.bearer), 'no secret in lastError');

    standIn.reset();
    clock += 6 * HOUR_MS + 1000;
    assert.equal(await scheduler.tick(), 1, 'a connection refused by verification is still verified');
    const recovered = await read(id);
    assert.deepEqual(
      { status: recovered.status, health: recovered.health, reason: recovered.healthReason, error: recovered.lastError },
      { status: 'active', health: 'active', reason: null, error: null },
    );
    assert.deepEqual(
      (await eventsAbout(patchbay, id)).map((event) => event.type),
      ['connection.needs_reauth', 'connection.recovered'],
    );
  });

  it('two instances ticking at once check each due connection exactly once', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, (_, index) => connect(`claim-${index}`)));
    clock = Date.now() + 100 * HOUR_MS;
    const before = verifications();
    const [mine, theirs] = await Promise.all([scheduler.tick(), other.tick()]);
    // The connections of the first test are due as well.
    assert.equal(mine + theirs, ids.length + 1);
    assert.equal(verifications() - before, ids.length + 1, 'one verification per connection');
    clock = Date.now() + 5 * HOUR_MS;
    assert.equal(await scheduler.tick(), 0, 'each rescheduled one interval after its verification');
  });

  it('logs upstream calls per connection without query values, keeps the last N, and pages them', async () => {
    const id = await connect('logged');
    for (let call = 0; call < 7; call++) {
      const answer = await fetch(`${patchbay.origin}/v1/connections/${id}/proxy/me?email=ada%40example.com&page=${call}`, {
        headers: { authorization: `Bearer ${accessKey}` },
      });
      assert.equal(answer.status, 200);
    }
    await patchbay.patchbay.ctx.requestLog.flush();
    const list = async (query = '') =>
      (await (await fetch(`${patchbay.origin}/v1/connections/${id}/requests${query}`, { headers: { authorization: `Bearer ${accessKey}` } })).json()) as {
        data: Array<{ id: string; method: string; path: string; status: number | null; durationMs: number }>;
        next: string | null;
      };
    const all = await list('?limit=100');
    assert.equal(all.data.length, 5, 'requestLogSize keeps the last 5');
    assert.deepEqual(new Set(all.data.map((entry) => `${entry.method} ${entry.path} ${entry.status}`)), new Set(['GET /bearer/me?email&page 200']));
    assert.ok(!JSON.stringify(all).includes('ada'), 'no query value is kept');
    const first = await list('?limit=2');
    const second = await list(`?limit=2&cursor=${first.next}`);
    assert.deepEqual(
      [...first.data, ...second.data].map((entry) => entry.id),
      all.data.slice(0, 4).map((entry) => entry.id),
      'pages newest first',
    );

    const missing = await fetch(`${patchbay.origin}/v1/connections/con_nope/requests`, { headers: { authorization: `Bearer ${accessKey}` } });
    assert.equal(missing.status, 404);
    const otherTenant = await patchbay.accessKey(['installs:read'], { tenantId: 'someone-else' });
    const forbidden = await fetch(`${patchbay.origin}/v1/connections/${id}/requests`, { headers: { authorization: `Bearer ${otherTenant}` } });
    assert.equal(forbidden.status, 403);
    const bad = await fetch(`${patchbay.origin}/v1/connections/${id}/requests?limit=0`, { headers: { authorization: `Bearer ${accessKey}` } });
    assert.equal(bad.status, 400);
  });
});

describe('the request log under load', () => {
  it('writes only the newest N calls of each connection in a flush, in the order they were made (the rest would be trimmed at once)', () => {
    const call = (id: string, connectionId: string) => [id, connectionId, 'GET', '/me', 200, 1, '2026-01-01T00:00:00.000Z'] as const;
    const burst = [call('1', 'a'), call('2', 'b'), call('3', 'a'), call('4', 'a'), call('5', 'b'), call('6', 'a'), call('7', 'c')].map((row) => [...row]);
    type Batch = Parameters<typeof newestOfEach>[0];
    const kept = newestOfEach(burst as unknown as Batch, 2).map(([id]) => id);
    assert.deepEqual(kept, ['2', '4', '5', '6', '7'], 'a: its newest two (4, 6); b: both; c: its one');
    assert.equal(newestOfEach(burst as unknown as Batch, 10).length, burst.length, 'a batch within the limit is written whole');
  });
});
