import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger, createPatchbay, type Patchbay } from '../src/index.js';
import { generateAccessKey } from '../src/crypto/access-key.js';
import { closeServer, listenOnLoopback, type TestPatchbay } from './support/harness.js';
import {
  type Api,
  assertError,
  assertNoLeaks,
  assertOneEvent,
  createKeyOverHttp,
  expireKeyInStore,
  type ErrorBody,
  type KeyView,
  SecretWatch,
  withEvents,
} from './support/keys.js';
import { LogCapture } from './support/log-capture.js';

/** Every key, hash, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

/** Rate-limit windows are aligned to the clock: never start a counted sequence a few seconds before one ends. */
async function awayFromWindowEdge(windowSeconds: number): Promise<void> {
  const windowMs = windowSeconds * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/**
 * Access keys over HTTP: every refusal names its reason and is recorded once, and repeated failures
 * from one address are rate limited in the store. The rest: keys-http-allowlists, -lifecycle, -rollover.
 */
describe('access keys over HTTP', () => {
  describe('every failure names its reason code, and each attempt is recorded', () => {
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;

    before(async () => {
      ({ patchbay, api, admin } = await watch.startServer('the reason-code server', 'reasons-admin', { dev: true }));
    });

    after(() => watch.closeServer(patchbay));

    describe('invalid_credentials (401)', () => {
      it('answers a request without an Authorization header with 401 invalid_credentials and records it without a key', async () => {
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: null }));
        assertError(response, 401, 'invalid_credentials');
        assertOneEvent(events, {
          outcome: 'failure',
          reason: 'invalid_credentials',
          key_id: null,
          key_prefix: null,
          client_ip: '127.0.0.1',
          method: 'GET',
          path: '/v1/whoami',
        });
      });

      it('answers a malformed key, a non-Bearer scheme and a well-formed unknown key with the same body: no oracle on existence', async () => {
        const real = await patchbay.accessKey(['installs:read'], { name: 'oracle-real' });
        watch.addKey(real, 'oracle-real');
        const lastChar = real.at(-1) === 'A' ? 'B' : 'A';
        const typo = real.slice(0, -1) + lastChar;
        const unknown = generateAccessKey();

        const malformed = await withEvents(patchbay, () => api('/v1/whoami', { auth: typo }));
        const wrongScheme = await withEvents(patchbay, () => api('/v1/whoami', { authorization: `Basic ${real}` }));
        const notStored = await withEvents(patchbay, () => api('/v1/whoami', { auth: unknown }));

        const bodies: ErrorBody[] = [malformed, wrongScheme, notStored].map(({ response }) => assertError(response, 401, 'invalid_credentials'));
        assert.deepEqual(bodies[0], bodies[2], 'a malformed key and an unknown key get the same answer');
        assert.deepEqual(bodies[1], bodies[2], 'a wrong scheme and an unknown key get the same answer');
        assert.equal(malformed.response.text, notStored.response.text, 'byte for byte');

        assertOneEvent(malformed.events, { outcome: 'failure', reason: 'invalid_credentials', key_id: null, key_prefix: null }, 'malformed key');
        assertOneEvent(wrongScheme.events, { outcome: 'failure', reason: 'invalid_credentials', key_id: null, key_prefix: null }, 'wrong scheme');
        assertOneEvent(
          notStored.events,
          { outcome: 'failure', reason: 'invalid_credentials', key_id: null, key_prefix: unknown.slice(0, 10) },
          'unknown key: only its public prefix',
        );
        assert.equal((await api('/v1/whoami', { auth: real })).status, 200, 'the untouched key still works');
      });
    });

    it('answers an inactivated key with 401 key_inactive at once, and a reactivated key works again', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'inactive-reason', scopes: ['installs:read'] }, watch);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'the key works (and is now cached)');

      const inactivated = await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
      assert.equal(inactivated.status, 200);
      assert.equal((inactivated.json as KeyView).active, false);

      const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key }));
      assertError(response, 401, 'key_inactive');
      assertOneEvent(events, { outcome: 'failure', reason: 'key_inactive', key_id: record.id, key_prefix: record.keyPrefix, path: '/v1/whoami' });

      assert.equal((await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin })).status, 200);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'reactivated');
    });

    it('answers a key whose expiry has passed with 401 key_expired', async () => {
      const { key, record } = await createKeyOverHttp(
        api,
        admin,
        { name: 'expired-reason', scopes: ['installs:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
        watch,
      );
      // Another instance (or time) moved the expiry into the past; this key was never cached here.
      await expireKeyInStore(patchbay, record.id, 1000);

      const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key }));
      assertError(response, 401, 'key_expired');
      assertOneEvent(events, { outcome: 'failure', reason: 'key_expired', key_id: record.id, key_prefix: record.keyPrefix });
    });

    it('answers a key used from outside its IP allowlist with 403 ip_restricted', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'ip-reason', scopes: ['installs:read'], ipAllowlist: ['10.0.0.0/8'] }, watch);
      const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key }));
      assertError(response, 403, 'ip_restricted');
      assertOneEvent(events, { outcome: 'failure', reason: 'ip_restricted', key_id: record.id, key_prefix: record.keyPrefix, client_ip: '127.0.0.1' });
    });

    it('answers a key without the route’s scope with 403 insufficient_scope, on an integration route and on an admin route', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'scope-reason', scopes: ['installs:read'] }, watch);
      const session = await withEvents(patchbay, () => api('/v1/integrations/demo/session', { method: 'POST', auth: key, body: { tenantId: 'scope-tenant' } }));
      assertError(session.response, 403, 'insufficient_scope');
      assertOneEvent(session.events, {
        outcome: 'failure',
        reason: 'insufficient_scope',
        key_id: record.id,
        key_prefix: record.keyPrefix,
        method: 'POST',
        path: '/v1/integrations/demo/session',
      });

      const keys = await withEvents(patchbay, () => api('/v1/keys', { auth: key }));
      assertError(keys.response, 403, 'insufficient_scope');
      assertOneEvent(keys.events, { outcome: 'failure', reason: 'insufficient_scope', key_id: record.id, path: '/v1/keys' });
      const sessions = await patchbay.patchbay.ctx.store.db.selectFrom('sessions').select('id').where('tenant_id', '=', 'scope-tenant').execute();
      assert.equal(sessions.length, 0, 'nothing was written');
    });

    describe('tenant_forbidden (403)', () => {
      let tenantKey: string;
      let tenantRecord: KeyView;
      let hostKey: string;

      before(async () => {
        ({ key: tenantKey, record: tenantRecord } = await createKeyOverHttp(
          api,
          admin,
          { name: 'tenant-a-key', scopes: ['sessions:write', 'installs:read', 'installs:write'], tenantId: 'tenant-a' },
          watch,
        ));
        ({ key: hostKey } = await createKeyOverHttp(
          api,
          admin,
          { name: 'all-tenants-key', scopes: ['sessions:write', 'installs:read', 'installs:write'] },
          watch,
        ));
      });

      async function sessionFor(tenantId: string): Promise<{ id: string; token: string }> {
        const response = await api('/v1/integrations/demo/session', { method: 'POST', auth: hostKey, body: { tenantId } });
        assert.equal(response.status, 200, response.text);
        const session = response.json as { id: string; token: string };
        watch.handedOut(response, session.token, `session token for ${tenantId}`);
        return session;
      }

      it('refuses a tenant action for another tenant than the key’s', async () => {
        const path = '/v1/integrations/demo/api/tenant/tenant-b/test';
        const { response, events } = await withEvents(patchbay, () => api(path, { method: 'POST', auth: tenantKey, body: {} }));
        assertError(response, 403, 'tenant_forbidden');
        assertOneEvent(events, {
          outcome: 'failure',
          reason: 'tenant_forbidden',
          key_id: tenantRecord.id,
          key_prefix: tenantRecord.keyPrefix,
          method: 'POST',
          path,
        });

        const own = await api('/v1/integrations/demo/api/tenant/tenant-a/test', { method: 'POST', auth: tenantKey, body: {} });
        assert.ok(own.status !== 401 && own.status !== 403, `the key's own tenant passes authentication (got ${own.status} ${own.text})`);
      });

      it('refuses to create a session for another tenant, named by tenantId or by the fusebit tag, and writes nothing', async () => {
        for (const body of [{ tenantId: 'tenant-b' }, { tags: { 'fusebit.tenantId': 'tenant-b' } }]) {
          const { response, events } = await withEvents(patchbay, () => api('/v1/integrations/demo/session', { method: 'POST', auth: tenantKey, body }));
          assertError(response, 403, 'tenant_forbidden', JSON.stringify(body));
          const failures = events.filter((event) => event.outcome === 'failure');
          assert.equal(failures.length, 1, `one failure event: ${JSON.stringify(events)}`);
          assert.deepEqual(
            [failures[0]!.reason, failures[0]!.key_id, failures[0]!.key_prefix, failures[0]!.path],
            ['tenant_forbidden', tenantRecord.id, tenantRecord.keyPrefix, '/v1/integrations/demo/session'],
          );
        }
        const written = await patchbay.patchbay.ctx.store.db.selectFrom('sessions').select('id').where('tenant_id', '=', 'tenant-b').execute();
        assert.equal(written.length, 0, 'no session was created for tenant-b');

        const own = await api('/v1/integrations/demo/session', { method: 'POST', auth: tenantKey, body: { tenantId: 'tenant-a' } });
        assert.equal(own.status, 200, 'the key creates sessions for its own tenant');
        watch.handedOut(own, (own.json as { token: string }).token, 'session token for tenant-a');
      });

      it('records a session refused for another tenant as one failure event, not also as a success', async () => {
        const { response, events } = await withEvents(patchbay, () =>
          api('/v1/integrations/demo/session', { method: 'POST', auth: tenantKey, body: { tenantId: 'tenant-b' } }),
        );
        assertError(response, 403, 'tenant_forbidden');
        assertOneEvent(events, { outcome: 'failure', reason: 'tenant_forbidden', key_id: tenantRecord.id });
      });

      it('refuses to commit another tenant’s session', async () => {
        const other = await sessionFor('tenant-b');
        const { response, events } = await withEvents(patchbay, () =>
          api(`/v1/integrations/demo/session/${other.id}/commit`, { method: 'POST', auth: tenantKey }),
        );
        assertError(response, 403, 'tenant_forbidden');
        assert.ok(
          events.some((event) => event.reason === 'tenant_forbidden' && event.key_id === tenantRecord.id),
          JSON.stringify(events),
        );
      });

      it('refuses to read another tenant’s session (a tenant key acts for one tenant only)', async () => {
        const other = await sessionFor('tenant-b');
        const response = await api(`/v1/integrations/demo/session/${other.id}`, { auth: tenantKey });
        assertError(response, 403, 'tenant_forbidden');
      });
    });
  });

  describe('repeated failures from one address are rate limited in the store', () => {
    const WINDOW_SECONDS = 3600;
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;

    before(async () => {
      // The proxy setting lets each test speak for its own client address.
      ({ patchbay, api, admin } = await watch.startServer('the rate-limited server', 'limits-admin', {
        config: { authFailureLimit: 3, authFailureWindowSeconds: WINDOW_SECONDS, trustProxy: 'loopback' },
      }));
    });

    after(() => watch.closeServer(patchbay));

    const from = (address: string) => ({ 'x-forwarded-for': address });
    const rateRow = (address: string) =>
      patchbay.patchbay.ctx.store.db.selectFrom('rate_limits').selectAll().where('bucket', '=', `auth-failure:${address}`).execute();

    it('answers 429 rate_limited with Retry-After once an address reaches the limit, counted in the rate_limits table', async () => {
      const address = '198.51.100.7';
      const good = await patchbay.accessKey(['installs:read'], { name: 'limited-good' });
      watch.addKey(good, 'limited-good');
      await awayFromWindowEdge(WINDOW_SECONDS);
      for (let attempt = 1; attempt <= 3; attempt++) {
        assertError(await api('/v1/whoami', { auth: generateAccessKey(), headers: from(address) }), 401, 'invalid_credentials', `attempt ${attempt}`);
      }
      const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: generateAccessKey(), headers: from(address) }));
      assertError(response, 429, 'rate_limited');
      const retryAfter = Number(response.headers.get('retry-after'));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS,
        `Retry-After is whole seconds within the window: ${response.headers.get('retry-after')}`,
      );
      assertOneEvent(events, { outcome: 'failure', reason: 'rate_limited', client_ip: address, key_id: null });

      const windowMs = WINDOW_SECONDS * 1000;
      const rows = await rateRow(address);
      assert.equal(rows.length, 1, 'one window row for the address');
      assert.equal(rows[0]!.window_start, new Date(Math.floor(Date.now() / windowMs) * windowMs).toISOString());
      assert.equal(Number(rows[0]!.hits), 3, 'three failures counted; the refused attempt is not a guess');

      assertError(await api('/v1/whoami', { auth: good, headers: from(address) }), 429, 'rate_limited', 'even a valid key waits');
      assert.equal((await api('/v1/whoami', { auth: good, headers: from('198.51.100.8') })).status, 200, 'another address is not limited');
    });

    it('does not count 403 answers (not-allowed is not guessing)', async () => {
      const address = '198.51.100.9';
      const { key: fenced } = await createKeyOverHttp(api, admin, { name: 'limit-fenced', scopes: ['installs:read'], ipAllowlist: ['192.0.2.0/24'] }, watch);
      const { key: narrow } = await createKeyOverHttp(api, admin, { name: 'limit-narrow', scopes: ['installs:read'] }, watch);
      for (let attempt = 0; attempt < 4; attempt++) {
        assertError(await api('/v1/whoami', { auth: fenced, headers: from(address) }), 403, 'ip_restricted');
        assertError(await api('/v1/keys', { auth: narrow, headers: from(address) }), 403, 'insufficient_scope');
      }
      assert.deepEqual(await rateRow(address), [], 'no failures were counted');
    });

    it('holds across server instances: a second instance on the same store refuses the address’s next failed attempt with 429', async () => {
      const address = '198.51.100.10';
      const logs = new LogCapture();
      watch.watchLogs(logs, 'the second rate-limited instance');
      let second: Patchbay | undefined;
      let listener: Server | undefined;
      try {
        second = await createPatchbay(patchbay.config, { logger: createLogger('debug', logs) });
        const loopback = await listenOnLoopback();
        listener = loopback.server;
        listener.on('request', second.app);
        await awayFromWindowEdge(WINDOW_SECONDS);
        for (let attempt = 1; attempt <= 3; attempt++) {
          assertError(
            await api('/v1/whoami', { auth: generateAccessKey(), headers: from(address) }),
            401,
            'invalid_credentials',
            `first instance, attempt ${attempt}`,
          );
        }
        assertError(await api('/v1/whoami', { auth: generateAccessKey(), headers: from(address) }), 429, 'rate_limited', 'the first instance blocks');
        const onSecond = await api('/v1/whoami', { auth: generateAccessKey(), headers: from(address), origin: loopback.origin });
        assertError(onSecond, 429, 'rate_limited', 'the second instance sees the count in the store');
      } finally {
        if (listener) await closeServer(listener);
        await second?.close();
      }
    });
  });

  describe('secrets', () => {
    it('no plain key, stored hash, session token or JWT appears in any log line or in any answer after creation', () => {
      assertNoLeaks(watch, { secrets: 30, answers: 40, logLines: 40 });
    });
  });
});
