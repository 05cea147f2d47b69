import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../src/store/store.js';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startThirdParty, type ThirdParty } from './support/harness.js';
import { freePort, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess, STORE_UNDER_TEST } from './support/processes.js';

const HOST_ORIGIN = 'https://app.example.com';
const KEY_CACHE_SECONDS = 2;
const CONNECTION_CACHE_SECONDS = 0.2;
const FAILURE_LIMIT = 5;
const INTEGRATION = '/v1/integrations/acme-sync';

/**
 * Two `patchbay start` processes (A and B) on one PostgreSQL schema, the way an operator scales out
 * behind a load balancer on loopback (so X-Forwarded-For is trusted and names the client).
 */
// PostgreSQL only: the run of the suite on PostgreSQL registers it (see STORE_UNDER_TEST).
if (STORE_UNDER_TEST === 'postgres')
  describe('two server processes on one PostgreSQL database', () => {
    let database: SharedDatabase;
    let store: Store;
    let thirdParty: ThirdParty;
    let a: ServerProcess;
    let b: ServerProcess;
    let hostKey: string;
    let adminKey: string;

    before(async () => {
      database = sharedDatabase('postgres');
      const [portA, portB] = [await freePort(), await freePort()];
      thirdParty = await startThirdParty({ redirectUri: [portA, portB].map((port) => `http://127.0.0.1:${port}/oauth/callback`), accessTokenTtlSeconds: 3600 });
      const configFile = path.join(database.dataDir, 'patchbay.config.json');
      writeFileSync(configFile, JSON.stringify(oauthDeclarations(thirdParty, { allowedOrigins: [HOST_ORIGIN] })));
      const env = {
        ...database.env,
        PATCHBAY_CONFIG: configFile,
        PATCHBAY_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS),
        PATCHBAY_CONNECTION_CACHE_SECONDS: String(CONNECTION_CACHE_SECONDS),
        PATCHBAY_AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT),
        PATCHBAY_AUTH_FAILURE_WINDOW_SECONDS: '86400',
        PATCHBAY_TRUST_PROXY: 'loopback',
      };
      // Both start (and migrate) at once on the empty schema.
      [a, b] = await Promise.all([startServerProcess({ env, port: portA }), startServerProcess({ env, port: portB })]);
      store = await database.open();
      hostKey = (await database.accessKey('host-backend', ['sessions:write', 'installs:read', 'installs:write'])).key;
      adminKey = (await database.accessKey('operator', ['admin'])).key;
    });

    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await thirdParty?.close();
      await database?.drop();
    });

    const call = (server: ServerProcess, route: string, init: { method?: string; body?: unknown; auth?: string; from?: string } = {}) =>
      fetch(route.startsWith('http') ? route.replace(/^http:\/\/127\.0\.0\.1:\d+/, server.origin) : `${server.origin}${route}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${init.auth ?? hostKey}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.from ? { 'x-forwarded-for': init.from } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        redirect: 'manual',
      });
    const errorCode = async (answer: Response) => ((await answer.json()) as { error: { code: string } }).error.code;

    async function newSession(server: ServerProcess, tenantId: string) {
      const answer = await call(server, `${INTEGRATION}/session`, {
        body: { redirectUrl: `${HOST_ORIGIN}/settings`, tags: { 'fusebit.tenantId': tenantId, plan: 'pro' } },
      });
      assert.equal(answer.status, 200);
      return (await answer.json()) as { id: string; token: string; startUrl: string };
    }

    /** Opens the session's popup on `server` and walks the provider's login; the callback lands on `server`. */
    async function authorizeOn(server: ServerProcess, session: { startUrl: string }) {
      const startUrl = session.startUrl.replace(/^http:\/\/127\.0\.0\.1:\d+/, server.origin);
      const start = await fetch(`${startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      assert.equal(start.status, 303, 'start redirects to the provider');
      const authorizeUrl = start.headers.get('location')!;
      assert.equal(new URL(authorizeUrl).searchParams.get('redirect_uri'), `${server.origin}/oauth/callback`);
      const { callbackUrl } = await loginAtProvider(authorizeUrl, `${server.origin}/oauth/callback`);
      const callback = await fetch(callbackUrl, { redirect: 'manual' });
      assert.equal(callback.status, 200, 'the callback on the same instance completes the session');
      return callbackUrl;
    }

    async function waitForInstall(server: ServerProcess, targetUrl: string) {
      for (let attempt = 0; attempt < 100; attempt++) {
        const answer = await call(server, targetUrl);
        assert.equal(answer.status, 200);
        const install = (await answer.json()) as { id: string; tenantId: string; operationState: { status: string } };
        if (install.operationState.status !== 'pending') return install;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the install stayed pending');
    }

    async function installTenant(tenantId: string) {
      const session = await newSession(a, tenantId);
      await authorizeOn(b, session);
      const commit = await call(b, `${INTEGRATION}/session/${session.id}/commit`, { method: 'POST', auth: session.token });
      assert.equal(commit.status, 200);
      const { targetUrl } = (await commit.json()) as { targetUrl: string };
      return waitForInstall(a, targetUrl);
    }

    it('a session created on A is started and committed on B, its install is read and found by tag on A, and its OAuth state cannot be replayed on A', async () => {
      const session = await newSession(a, 'cross-tenant');
      assert.ok(session.startUrl.startsWith(a.origin), 'A made the session');
      const callbackUrl = await authorizeOn(b, session);
      const replay = await fetch(callbackUrl.replace(b.origin, a.origin), { redirect: 'manual' });
      assert.equal(replay.status, 400, 'the state B consumed is refused on A');
      assert.match(await replay.text(), /data-code="invalid_state"/);

      const commit = await call(b, `${INTEGRATION}/session/${session.id}/commit`, { method: 'POST', auth: session.token });
      assert.equal(commit.status, 200);
      const { targetUrl } = (await commit.json()) as { targetUrl: string };
      assert.ok(targetUrl.startsWith(b.origin));
      const install = await waitForInstall(a, targetUrl);
      assert.equal(install.operationState.status, 'success');
      assert.equal(install.tenantId, 'cross-tenant');
      const found = (await (await call(a, `${INTEGRATION}/install?tag=fusebit.tenantId=cross-tenant`)).json()) as { data: Array<{ id: string }> };
      assert.deepEqual(
        found.data.map((item) => item.id),
        [install.id],
        'A finds the install B wrote by its tag',
      );
      const action = await call(a, `${INTEGRATION}/api/tenant/cross-tenant/test`, { body: {} });
      assert.equal(action.status, 200, 'A calls the tenant’s API with the connection B stored');
      assert.equal(((await action.json()) as { status: number }).status, 200);
    });

    it('commits of one session on A and B at once all answer the same install, and exactly one install exists', async () => {
      const session = await newSession(b, 'idempotent-tenant');
      await authorizeOn(a, session);
      const commits = await Promise.all(
        Array.from({ length: 8 }, (_, i) => call(i % 2 ? b : a, `${INTEGRATION}/session/${session.id}/commit`, { method: 'POST', auth: session.token })),
      );
      assert.deepEqual(
        commits.map((commit) => commit.status),
        Array(8).fill(200),
      );
      const installIds = await Promise.all(
        commits.map(async (commit) => new URL(((await commit.json()) as { targetUrl: string }).targetUrl).pathname.split('/').at(-1)),
      );
      assert.equal(new Set(installIds).size, 1, `every commit answered one install, got ${[...new Set(installIds)].join(', ')}`);
      const rows = await store.db.selectFrom('installs').select('id').where('session_id', '=', session.id).execute();
      assert.deepEqual(
        rows.map((row) => row.id),
        [installIds[0]],
      );
      const tags = await store.db
        .selectFrom('install_tags')
        .select(['tag_key', 'tag_value'])
        .where('install_id', '=', installIds[0]!)
        .orderBy('tag_key')
        .execute();
      assert.deepEqual(
        tags,
        [
          { tag_key: 'fusebit.tenantId', tag_value: 'idempotent-tenant' },
          { tag_key: 'plan', tag_value: 'pro' },
        ],
        'the tags were written once',
      );
    });

    it('a partner link redeemed concurrently on A and B has exactly one winner, and every loser gets the same answer', async () => {
      const created = await call(a, '/api/v1/external/partner', { body: { appName: 'Shipfast' }, auth: adminKey });
      assert.equal(created.status, 201);
      const { data } = (await created.json()) as { data: { url: string } };
      const code = new URL(data.url).hash.replace('#code=', '');
      const redeem = (server: ServerProcess) =>
        fetch(`${server.origin}/v1/partner-portal/redeem`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-patchbay-portal': '1' },
          body: JSON.stringify({ code }),
        });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => redeem(i % 2 === 0 ? a : b)));
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, ...Array(19).fill(404)]);
      const losers = new Set(await Promise.all(answers.filter((answer) => answer.status === 404).map((answer) => answer.text())));
      assert.equal(losers.size, 1);
    });

    it('50 concurrent proxy calls split over A and B on an expired token make exactly one token request at the provider', async () => {
      await installTenant('burst-tenant');
      assert.equal((await call(a, `${INTEGRATION}/api/tenant/burst-tenant/test`, { body: {} })).status, 200);
      await store.db.updateTable('connections').set({ expires_at: new Date().toISOString() }).where('tenant_id', '=', 'burst-tenant').execute();
      // Written behind both servers' backs: they see it once the connection cache window has passed.
      await new Promise((resolve) => setTimeout(resolve, CONNECTION_CACHE_SECONDS * 1000 + 50));
      const refreshesBefore = thirdParty.tokenRequests.refresh_token;
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 ? b : a, `${INTEGRATION}/api/tenant/burst-tenant/test`, { body: {} })));
      assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
      const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as Array<{ status: number }>;
      assert.ok(
        bodies.every((body) => body.status === 200),
        'the provider’s API accepted every call',
      );
      assert.equal(thirdParty.tokenRequests.refresh_token - refreshesBefore, 1, 'one refresh for the whole burst on both instances');
    });

    it(`a key inactivated on A fails on A at once and on B within the key cache window (${KEY_CACHE_SECONDS} s)`, async () => {
      const { key, id } = await database.accessKey('soon-inactive', ['installs:read']);
      const whoami = (server: ServerProcess) => call(server, '/v1/whoami', { auth: key });
      assert.equal((await whoami(b)).status, 200, 'B verified (and cached) the key');
      assert.equal((await whoami(a)).status, 200);
      const inactivate = await call(a, `/v1/keys/${id}/inactivate`, { method: 'POST', auth: adminKey });
      assert.equal(inactivate.status, 200);
      const inactivatedAt = Date.now();
      const onA = await whoami(a);
      assert.equal(onA.status, 401);
      assert.equal(await errorCode(onA), 'key_inactive');
      // B may answer from its cache until the window ends; one poll interval and a second of slack on top.
      const deadline = inactivatedAt + KEY_CACHE_SECONDS * 1000 + 1000;
      let onB = await whoami(b);
      while (onB.status === 200 && Date.now() < deadline) {
        await onB.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 100));
        onB = await whoami(b);
      }
      assert.equal(onB.status, 401, `B still accepted the key ${Date.now() - inactivatedAt} ms after A inactivated it`);
      assert.equal(await errorCode(onB), 'key_inactive');
    });

    it(`the failure rate limit counts one address's failures on both instances together (limit ${FAILURE_LIMIT})`, async () => {
      const from = '203.0.113.77';
      const guess = (server: ServerProcess) => call(server, '/v1/whoami', { auth: 'pbk_guessed', from });
      const statuses: number[] = [];
      for (let attempt = 0; attempt < FAILURE_LIMIT; attempt++) statuses.push((await guess(attempt % 2 ? b : a)).status);
      assert.deepEqual(statuses, Array(FAILURE_LIMIT).fill(401), 'the first failures are answered 401, alternating A and B');
      const nextOnB = await guess(b);
      assert.equal(nextOnB.status, 429, 'B refuses the next guess although it saw fewer than the limit itself');
      assert.equal(await errorCode(nextOnB), 'rate_limited');
      assert.equal((await guess(a)).status, 429, 'A refuses it too');
      assert.equal((await call(a, '/v1/whoami', { from })).status, 429, 'while blocked, even a valid key from that address is refused');
      assert.equal((await call(b, '/v1/whoami', { from: '203.0.113.78' })).status, 200, 'another address is not affected');
    });
  });
