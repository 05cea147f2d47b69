import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createLogger, createPatchbay, type Patchbay } from '../src/index.js';
import { generateAccessKey } from '../src/crypto/access-key.js';
import { isAddressAllowed } from '../src/keys/ip.js';
import { closeServer, listenOnLoopback, startPatchbay, type TestPatchbay } from './support/harness.js';
import {
  type Api,
  apiClient,
  assertError,
  assertOneEvent,
  createKeyOverHttp,
  type ErrorBody,
  type KeyView,
  SecretWatch,
  waitFor,
  withEvents,
} from './support/keys.js';
import { LogCapture } from './support/log-capture.js';

/** Every key, hash, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

interface WhoAmI {
  keyId: string;
  name: string;
  scopes: string[];
  tenantId: string | null;
  via: 'key' | 'token';
}

async function keyIdOf(patchbay: TestPatchbay, name: string): Promise<string> {
  const row = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

/** A second listener for the same app on `::`, so clients reach it as IPv6 (`::1`) or IPv4-mapped IPv6. */
async function listenDualStack(patchbay: TestPatchbay): Promise<{ server: Server; port: number }> {
  const server = createHttpServer(patchbay.patchbay.app);
  server.listen(0, '::');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Rate-limit windows are aligned to the clock: never start a counted sequence a few seconds before one ends. */
async function awayFromWindowEdge(windowSeconds: number): Promise<void> {
  const windowMs = windowSeconds * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe('access keys over HTTP', () => {
  describe('every failure names its reason code, and each attempt is recorded', () => {
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;

    before(async () => {
      patchbay = await startPatchbay({ dev: true });
      watch.watchLogs(patchbay.logs, 'the reason-code server');
      api = apiClient(patchbay, watch);
      admin = await patchbay.accessKey(['admin'], { name: 'reasons-admin' });
      watch.addKey(admin, 'reasons-admin');
    });

    after(async () => {
      await watch.collectHashes(patchbay);
      await patchbay.close();
    });

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
      await patchbay.patchbay.ctx.store.db
        .updateTable('access_keys')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', record.id)
        .execute();

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
      patchbay = await startPatchbay({ config: { authFailureLimit: 3, authFailureWindowSeconds: WINDOW_SECONDS, trustProxy: 'loopback' } });
      watch.watchLogs(patchbay.logs, 'the rate-limited server');
      api = apiClient(patchbay, watch);
      admin = await patchbay.accessKey(['admin'], { name: 'limits-admin' });
      watch.addKey(admin, 'limits-admin');
    });

    after(async () => {
      await watch.collectHashes(patchbay);
      await patchbay.close();
    });

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

  describe('IP allowlists', () => {
    describe('isAddressAllowed', () => {
      const table: Array<[client: string | null | undefined, ranges: string[], allowed: boolean, why: string]> = [
        ['10.1.2.3', ['10.0.0.0/8'], true, 'IPv4 inside a CIDR range'],
        ['11.0.0.1', ['10.0.0.0/8'], false, 'IPv4 outside a CIDR range'],
        ['192.168.1.77', ['192.168.1.0/25'], true, 'inside a /25'],
        ['192.168.1.200', ['192.168.1.0/25'], false, 'just past a /25'],
        ['203.0.113.7', ['203.0.113.7'], true, 'a single IPv4 address'],
        ['203.0.113.8', ['203.0.113.7'], false, 'the neighbour of a single address'],
        ['203.0.113.7', ['203.0.113.7/32'], true, 'a /32'],
        ['2001:db8::1', ['2001:db8::/32'], true, 'IPv6 inside a CIDR range'],
        ['2001:db9::1', ['2001:db8::/32'], false, 'IPv6 outside a CIDR range'],
        ['2001:DB8:0:0::ABCD', ['2001:db8::/32'], true, 'IPv6 written in capitals and long form'],
        ['::1', ['::1'], true, 'a single IPv6 address'],
        ['::1', ['::1/128'], true, 'a /128'],
        ['::1', ['127.0.0.0/8'], false, 'IPv6 loopback is not IPv4 loopback'],
        ['127.0.0.1', ['::1'], false, 'IPv4 loopback is not IPv6 loopback'],
        ['::ffff:127.0.0.1', ['127.0.0.0/8'], true, 'an IPv4-mapped client counts as IPv4'],
        ['::ffff:10.0.0.1', ['127.0.0.0/8'], false, 'an IPv4-mapped client outside the range'],
        ['127.0.0.1', ['::ffff:127.0.0.0/104'], true, 'an IPv4-mapped range counts as IPv4'],
        ['127.0.0.1', ['::ffff:127.0.0.1'], true, 'an IPv4-mapped single address'],
        ['::ffff:127.0.0.1', ['::ffff:127.0.0.1'], true, 'mapped client, mapped address'],
        ['10.0.0.1', ['2001:db8::/32', '10.0.0.0/8'], true, 'any one range is enough'],
        ['10.0.0.1', ['not-a-range', '10.0.0.0/8'], true, 'a broken entry does not break the others'],
        ['10.0.0.1', ['not-a-range'], false, 'a broken entry allows nothing'],
        ['10.0.0.1', [], false, 'an empty list allows nothing'],
        [null, ['0.0.0.0/0'], false, 'no client address'],
        [undefined, ['0.0.0.0/0'], false, 'an undefined client address'],
        ['', ['0.0.0.0/0'], false, 'an empty client address'],
        ['not-an-ip', ['0.0.0.0/0'], false, 'a client address that is not one'],
        ['8.8.8.8', ['0.0.0.0/0'], true, 'all of IPv4'],
        ['2001:db8::1', ['::/0'], true, 'all of IPv6'],
      ];
      for (const [client, ranges, allowed, why] of table) {
        it(`${allowed ? 'allows' : 'refuses'} ${String(client)} for [${ranges.join(', ')}]: ${why}`, () => {
          assert.equal(isAddressAllowed(client, ranges), allowed);
        });
      }
    });

    describe('without a trusted proxy the socket address decides', () => {
      let patchbay: TestPatchbay;
      let api: Api;
      let admin: string;
      let dual: { server: Server; port: number };

      before(async () => {
        patchbay = await startPatchbay();
        assert.equal(patchbay.config.trustProxy, false);
        watch.watchLogs(patchbay.logs, 'the direct server');
        api = apiClient(patchbay, watch);
        admin = await patchbay.accessKey(['admin'], { name: 'direct-admin' });
        watch.addKey(admin, 'direct-admin');
        dual = await listenDualStack(patchbay);
      });

      after(async () => {
        await closeServer(dual.server);
        await watch.collectHashes(patchbay);
        await patchbay.close();
      });

      const keyWith = async (name: string, ipAllowlist: string[]) =>
        (await createKeyOverHttp(api, admin, { name, scopes: ['installs:read'], ipAllowlist }, watch)).key;

      it('allows an IPv4 client inside an IPv4 CIDR range and refuses one outside', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('v4-inside', ['127.0.0.0/8']) })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('v4-outside', ['10.0.0.0/8', '192.168.0.0/16']) }), 403, 'ip_restricted');
      });

      it('allows exactly a single listed address', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('single-match', ['127.0.0.1']) })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('single-other', ['127.0.0.2']) }), 403, 'ip_restricted');
      });

      it('treats an IPv4-mapped IPv6 client (::ffff:127.0.0.1 on a dual-stack socket) as its IPv4 address', async () => {
        const origin = `http://127.0.0.1:${dual.port}`;
        const key = await keyWith('mapped-v4-range', ['127.0.0.0/8']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, origin }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '::ffff:127.0.0.1' }, 'the socket reported the mapped form');
        assert.equal(
          (await api('/v1/whoami', { auth: await keyWith('mapped-range', ['::ffff:127.0.0.0/104']), origin })).status,
          200,
          'a mapped range matches too',
        );
        assertError(await api('/v1/whoami', { auth: await keyWith('mapped-outside', ['::ffff:10.0.0.0/104', '10.0.0.0/8']), origin }), 403, 'ip_restricted');
      });

      it('matches an IPv6 client (::1) against IPv6 CIDR ranges', async () => {
        const origin = `http://[::1]:${dual.port}`;
        const inside = await keyWith('v6-inside', ['::1/128']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: inside, origin }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '::1' });
        assert.equal((await api('/v1/whoami', { auth: await keyWith('v6-wide', ['::/64']), origin })).status, 200);
        const outside = await keyWith('v6-outside', ['2001:db8::/32', '127.0.0.0/8']);
        const refused = await withEvents(patchbay, () => api('/v1/whoami', { auth: outside, origin }));
        assertError(refused.response, 403, 'ip_restricted');
        assertOneEvent(refused.events, { reason: 'ip_restricted', client_ip: '::1' });
      });

      it('ignores X-Forwarded-For: a client cannot claim an allowed address', async () => {
        const fenced = await keyWith('xff-ignored', ['10.0.0.0/8']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: fenced, headers: { 'x-forwarded-for': '10.1.2.3' } }));
        assertError(response, 403, 'ip_restricted');
        assertOneEvent(events, { reason: 'ip_restricted', client_ip: '127.0.0.1' });
        const local = await keyWith('xff-ignored-local', ['127.0.0.0/8']);
        assert.equal((await api('/v1/whoami', { auth: local, headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 200, 'nor lose its real one');
      });

      it('refuses an allowlist entry in shorthand notation ("10/8") instead of storing a range that means something else', async () => {
        const response = await api('/v1/keys', {
          method: 'POST',
          auth: admin,
          body: { name: 'shorthand-range', scopes: ['installs:read'], ipAllowlist: ['10/8'] },
        });
        assertError(response, 400, 'invalid_request');
      });
    });

    describe('behind a trusted proxy the forwarded address decides', () => {
      let patchbay: TestPatchbay;
      let api: Api;
      let admin: string;

      before(async () => {
        patchbay = await startPatchbay({ config: { trustProxy: 'loopback' } });
        watch.watchLogs(patchbay.logs, 'the proxied server');
        api = apiClient(patchbay, watch);
        admin = await patchbay.accessKey(['admin'], { name: 'proxied-admin' });
        watch.addKey(admin, 'proxied-admin');
      });

      after(async () => {
        await watch.collectHashes(patchbay);
        await patchbay.close();
      });

      const keyWith = async (name: string, ipAllowlist: string[]) =>
        (await createKeyOverHttp(api, admin, { name, scopes: ['installs:read'], ipAllowlist }, watch)).key;
      const via = (forwardedFor: string) => ({ 'x-forwarded-for': forwardedFor });

      it('uses the forwarded IPv4 address, not the proxy’s own', async () => {
        const key = await keyWith('proxied-v4', ['203.0.113.0/24']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, headers: via('203.0.113.7') }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '203.0.113.7' });
        assertError(
          await api('/v1/whoami', { auth: await keyWith('proxied-loopback-only', ['127.0.0.0/8']), headers: via('203.0.113.7') }),
          403,
          'ip_restricted',
        );
      });

      it('matches a forwarded IPv6 address against IPv6 ranges', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-v6', ['2001:db8::/32']), headers: via('2001:db8::5') })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('proxied-v6-out', ['2001:db9::/32']), headers: via('2001:db8::5') }), 403, 'ip_restricted');
      });

      it('treats a forwarded IPv4-mapped address as IPv4', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-mapped', ['10.0.0.0/8']), headers: via('::ffff:10.1.2.3') })).status, 200);
      });

      it('ignores addresses the client wrote before the last untrusted hop', async () => {
        const key = await keyWith('proxied-spoof', ['203.0.113.0/24']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, headers: via('203.0.113.7, 198.51.100.1') }));
        assertError(response, 403, 'ip_restricted');
        assertOneEvent(events, { reason: 'ip_restricted', client_ip: '198.51.100.1' }, 'the address the trusted proxy saw');
      });

      it('uses the socket address when no proxy header is sent', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-none', ['127.0.0.1']) })).status, 200);
      });
    });
  });

  describe('key lifecycle over /v1/keys', () => {
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;
    let adminId: string;

    before(async () => {
      patchbay = await startPatchbay();
      watch.watchLogs(patchbay.logs, 'the lifecycle server');
      api = apiClient(patchbay, watch);
      admin = await patchbay.accessKey(['admin'], { name: 'lifecycle-admin' });
      watch.addKey(admin, 'lifecycle-admin');
      adminId = await keyIdOf(patchbay, 'lifecycle-admin');
    });

    after(async () => {
      await watch.collectHashes(patchbay);
      await patchbay.close();
    });

    const secretHashOf = async (id: string) =>
      (await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('secret_hash').where('id', '=', id).executeTakeFirstOrThrow()).secret_hash;

    it('creates a key (201) whose plain key is in the create answer only, never in a read, a list or the audit trail', async () => {
      const response = await api('/v1/keys', {
        method: 'POST',
        auth: admin,
        body: {
          name: 'SAP-Production-OrderSync',
          description: 'order sync',
          scopes: ['installs:write', 'installs:read'],
          tenantId: 'acme',
          ipAllowlist: ['127.0.0.0/8'],
        },
      });
      assert.equal(response.status, 201, response.text);
      const created = response.json as KeyView & { key: string };
      watch.handedOut(response, created.key, 'SAP-Production-OrderSync');
      assert.match(created.key, /^pbk_[0-9A-Za-z]{28}$/);
      assert.equal(created.keyPrefix, created.key.slice(0, 10));
      assert.deepEqual(
        {
          name: created.name,
          description: created.description,
          scopes: created.scopes,
          tenantId: created.tenantId,
          ipAllowlist: created.ipAllowlist,
          active: created.active,
          expiresAt: created.expiresAt,
          lastAuthenticatedAt: created.lastAuthenticatedAt,
        },
        {
          name: 'SAP-Production-OrderSync',
          description: 'order sync',
          scopes: ['installs:read', 'installs:write'],
          tenantId: 'acme',
          ipAllowlist: ['127.0.0.0/8'],
          active: true,
          expiresAt: null,
          lastAuthenticatedAt: null,
        },
      );
      const hash = await secretHashOf(created.id);
      assert.ok(!response.text.includes(hash), 'not even the create answer holds the hash');
      assert.equal((await api('/v1/whoami', { auth: created.key })).status, 200, 'the key works');

      const later = [
        await api(`/v1/keys/${created.id}`, { auth: admin }),
        await api('/v1/keys?limit=100', { auth: admin }),
        await api(`/v1/keys?search=${created.keyPrefix}`, { auth: admin }),
        await api(`/v1/audit?resourceId=${created.id}`, { auth: admin }),
      ];
      for (const answer of later) {
        assert.equal(answer.status, 200, answer.text);
        assert.ok(!answer.text.includes(created.key.slice(10)), 'no later answer holds the key');
        assert.ok(!answer.text.includes(hash), 'no answer holds the stored hash');
        assert.ok(!/"key"\s*:/.test(answer.text), 'no later answer has a key field');
        assert.ok(!/secret/i.test(answer.text), 'nor any secret field');
      }
      const read = later[0]!.json as KeyView;
      assert.equal(read.id, created.id);
      assert.ok(
        (later[2]!.json as { data: KeyView[] }).data.some((key) => key.id === created.id),
        'found by its prefix',
      );
    });

    it('answers a duplicate name with 409 name_taken and keeps one key', async () => {
      await createKeyOverHttp(api, admin, { name: 'Unique-Name', scopes: ['installs:read'] }, watch);
      assertError(await api('/v1/keys', { method: 'POST', auth: admin, body: { name: 'Unique-Name', scopes: ['admin'] } }), 409, 'name_taken');
      const rows = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select(['id', 'scopes']).where('name', '=', 'Unique-Name').execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.scopes, '["installs:read"]', 'the first key is unchanged');
    });

    it('answers an unknown field with 400 naming it, and writes nothing', async () => {
      const response = await api('/v1/keys', { method: 'POST', auth: admin, body: { name: 'with-extra', scopes: ['installs:read'], superuser: true } });
      const body = assertError(response, 400, 'invalid_request');
      assert.match(body.error.message, /superuser/);
      assert.equal(await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', 'with-extra').executeTakeFirst(), undefined);
    });

    it('answers bad input with 400 invalid_request, never a 500, and writes nothing', async () => {
      const cases: Array<[string, unknown]> = [
        ['a name with a slash', { name: 'bad/name', scopes: ['installs:read'] }],
        ['an empty name', { name: '', scopes: ['installs:read'] }],
        ['a name of 101 characters', { name: `a${'b'.repeat(100)}`, scopes: ['installs:read'] }],
        ['an unknown scope', { name: 'bad-scope', scopes: ['root'] }],
        ['no scopes', { name: 'no-scopes', scopes: [] }],
        ['scopes missing', { name: 'missing-scopes' }],
        ['a CIDR with a /33', { name: 'bad-cidr', scopes: ['installs:read'], ipAllowlist: ['10.0.0.0/33'] }],
        ['a hostname as CIDR', { name: 'host-cidr', scopes: ['installs:read'], ipAllowlist: ['example.com'] }],
        ['an expiry in the past', { name: 'past-expiry', scopes: ['installs:read'], expiresAt: '2001-01-01T00:00:00Z' }],
        ['an expiry that is not a date', { name: 'odd-expiry', scopes: ['installs:read'], expiresAt: 'tomorrow' }],
        ['a body that is an array', [{ name: 'array-body', scopes: ['installs:read'] }]],
      ];
      const before = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').execute();
      for (const [what, body] of cases) assertError(await api('/v1/keys', { method: 'POST', auth: admin, body }), 400, 'invalid_request', what);
      assertError(await api('/v1/keys', { method: 'POST', auth: admin, body: '{"name":' }), 400, 'invalid_json', 'broken JSON');
      const afterwards = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').execute();
      assert.equal(afterwards.length, before.length, 'no key was written');
    });

    it('expands the read-only shorthand to the read scopes only', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'reader', scopes: ['read-only'] }, watch);
      assert.deepEqual(record.scopes, ['connectors:read', 'events:consume', 'installs:read', 'webhooks:read']);
      assert.ok(!record.scopes.some((scope) => /write|publish|admin/.test(scope)), 'no write scope');
      assert.equal((await api('/v1/integrations', { auth: key })).status, 200, 'reads work');
      assertError(await api('/v1/integrations/any/session', { method: 'POST', auth: key, body: { tenantId: 't' } }), 403, 'insufficient_scope');
      assertError(await api('/v1/keys', { auth: key }), 403, 'insufficient_scope');
    });

    it('pages through the list with limit and cursor, each key exactly once, next null at the end', async () => {
      const ids = new Set<string>();
      for (let n = 1; n <= 5; n++) ids.add((await createKeyOverHttp(api, admin, { name: `Paged-${n}`, scopes: ['installs:read'] }, watch)).record.id);
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/v1/keys?search=Paged-&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api(query, { auth: admin });
        assert.equal(page.status, 200, page.text);
        const body = page.json as { data: KeyView[]; next: string | null };
        sizes.push(body.data.length);
        seen.push(...body.data.map((key) => key.id));
        cursor = body.next;
      } while (cursor !== null && sizes.length < 10);
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.equal(seen.length, new Set(seen).size, 'no key twice');
      assert.deepEqual(new Set(seen), ids);
      assertError(await api('/v1/keys?limit=0', { auth: admin }), 400, 'invalid_request');
      assertError(await api('/v1/keys?limit=101', { auth: admin }), 400, 'invalid_request');
    });

    it('searches by name fragment and by key prefix, and filters inactive keys', async () => {
      const { record: a } = await createKeyOverHttp(api, admin, { name: 'Search-Alpha-Sync', scopes: ['installs:read'] }, watch);
      const { record: b } = await createKeyOverHttp(api, admin, { name: 'Search-Beta-Sync', scopes: ['installs:read'] }, watch);
      const names = async (query: string) => ((await api(`/v1/keys?${query}`, { auth: admin })).json as { data: KeyView[] }).data.map((key) => key.name).sort();
      assert.deepEqual(await names('search=Search-'), ['Search-Alpha-Sync', 'Search-Beta-Sync']);
      assert.deepEqual(await names('search=Alpha'), ['Search-Alpha-Sync'], 'a fragment');
      assert.deepEqual(await names(`search=${b.keyPrefix}`), ['Search-Beta-Sync'], 'by prefix');
      assert.deepEqual(await names('search=no-such-key'), []);
      await api(`/v1/keys/${a.id}/inactivate`, { method: 'POST', auth: admin });
      assert.deepEqual(await names('search=Search-&active=false'), ['Search-Alpha-Sync']);
      assert.deepEqual(await names('search=Search-&active=true'), ['Search-Beta-Sync']);
    });

    it('searches for % and _ as ordinary characters: a name with an underscore is found, a lone % finds nothing', async () => {
      await createKeyOverHttp(api, admin, { name: 'Order_Sync_Job', scopes: ['installs:read'] }, watch);
      const names = async (search: string) =>
        ((await api(`/v1/keys?search=${encodeURIComponent(search)}`, { auth: admin })).json as { data: KeyView[] }).data.map((key) => key.name);
      assert.deepEqual(await names('Order_Sync'), ['Order_Sync_Job'], 'the underscore in the search is part of the name');
      assert.deepEqual(await names('%'), [], 'no key name holds a %');
    });

    it('changes scopes and restrictions with PATCH, takes effect at once, and audits before/after with the acting key', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Patched', scopes: ['installs:read', 'installs:write'] }, watch);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'works (and is cached) before the change');
      const patched = await api(`/v1/keys/${record.id}`, {
        method: 'PATCH',
        auth: admin,
        body: { scopes: ['installs:read'], tenantId: 'tenant-p', ipAllowlist: ['10.0.0.0/8'], description: 'narrowed' },
      });
      assert.equal(patched.status, 200, patched.text);
      const after = patched.json as KeyView;
      assert.deepEqual([after.scopes, after.tenantId, after.ipAllowlist, after.description], [['installs:read'], 'tenant-p', ['10.0.0.0/8'], 'narrowed']);
      assertError(await api('/v1/whoami', { auth: key }), 403, 'ip_restricted', 'the new allowlist applies at once');

      const audit = await api(`/v1/audit?resourceId=${record.id}&action=key.updated`, { auth: admin });
      const entries = (audit.json as { data: Array<{ actor: string; action: string; details: { before: KeyView; after: KeyView } }> }).data;
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.actor, adminId, 'the acting key is the actor');
      assert.deepEqual(entries[0]!.details.before.scopes, ['installs:read', 'installs:write']);
      assert.deepEqual(entries[0]!.details.after.scopes, ['installs:read']);
      assert.deepEqual([entries[0]!.details.before.tenantId, entries[0]!.details.after.tenantId], [null, 'tenant-p']);
      assert.deepEqual(entries[0]!.details.after.ipAllowlist, ['10.0.0.0/8']);

      const cleared = await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { ipAllowlist: null } });
      assert.equal((cleared.json as KeyView).ipAllowlist, null);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'clearing the allowlist applies at once');

      assertError(
        await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { name: 'renamed' } }),
        400,
        'invalid_request',
        'the name is not changeable',
      );
      assertError(await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: {} }), 400, 'invalid_request', 'an empty change');
    });

    it('inactivates and reactivates a key, and has no DELETE: the key and its history stay', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Kept-Forever', scopes: ['installs:read'] }, watch);
      const inactive = await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
      assert.equal((inactive.json as KeyView).active, false);
      assert.equal(((await api(`/v1/keys/${record.id}`, { auth: admin })).json as KeyView).active, false);
      assertError(await api('/v1/whoami', { auth: key }), 401, 'key_inactive');
      assert.equal(((await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin })).json as KeyView).active, true);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200);

      assertError(await api(`/v1/keys/${record.id}`, { method: 'DELETE', auth: admin }), 404, 'route_not_found');
      assert.equal((await api(`/v1/keys/${record.id}`, { auth: admin })).status, 200, 'the key still exists');

      for (const [method, path] of [
        ['GET', ''],
        ['PATCH', ''],
        ['POST', '/inactivate'],
        ['POST', '/reactivate'],
        ['POST', '/roll'],
      ] as const) {
        const body = method === 'PATCH' ? { description: 'x' } : method === 'POST' ? {} : undefined;
        assertError(await api(`/v1/keys/key_DoesNotExist0000000000${path}`, { method, auth: admin, body }), 404, 'key_not_found', `${method} ${path}`);
      }
    });

    it('writes every change to a key into GET /v1/audit, newest first, with the acting key as actor', async () => {
      const { record } = await createKeyOverHttp(api, admin, { name: 'Audited', scopes: ['installs:read'] }, watch);
      await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { scopes: ['installs:read', 'connectors:read'] } });
      await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
      await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin });
      const rolled = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 60 } });
      assert.equal(rolled.status, 201, rolled.text);
      const successor = rolled.json as KeyView & { key: string };
      watch.handedOut(rolled, successor.key, 'Audited-r2');

      const audit = await api(`/v1/audit?resourceType=access_key&resourceId=${record.id}`, { auth: admin });
      const entries = (audit.json as { data: Array<{ actor: string; action: string; details: Record<string, unknown> }> }).data;
      assert.deepEqual(
        entries.map((entry) => entry.action),
        ['key.rolled', 'key.reactivated', 'key.inactivated', 'key.updated', 'key.created'],
      );
      assert.ok(
        entries.every((entry) => entry.actor === adminId),
        JSON.stringify(entries.map((entry) => entry.actor)),
      );
      assert.equal(entries[0]!.details.newKeyId, successor.id);

      const successorAudit = (
        (await api(`/v1/audit?resourceId=${successor.id}`, { auth: admin })).json as {
          data: Array<{ actor: string; action: string; details: Record<string, unknown> }>;
        }
      ).data;
      assert.deepEqual(
        successorAudit.map((entry) => [entry.action, entry.actor, entry.details.rolledFrom]),
        [['key.created', adminId, record.id]],
      );

      const byActor = ((await api(`/v1/audit?actor=${adminId}&limit=100`, { auth: admin })).json as { data: Array<{ resourceId: string }> }).data;
      assert.ok(
        byActor.some((entry) => entry.resourceId === record.id),
        'filtered by actor',
      );
    });

    it('lists auth events filtered by key, outcome and reason, paginated', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Event-Source', scopes: ['installs:read'] }, watch);
      for (let n = 0; n < 3; n++) assert.equal((await api('/v1/whoami', { auth: key })).status, 200);
      await api('/v1/keys', { auth: key });
      type EventPage = {
        data: Array<{ keyId: string; keyPrefix: string; outcome: string; reason: string | null; path: string; clientIp: string }>;
        next: string | null;
      };
      const successes = (await api(`/v1/auth-events?keyId=${record.id}&outcome=success`, { auth: admin })).json as EventPage;
      assert.equal(successes.data.length, 3);
      assert.ok(
        successes.data.every((event) => event.keyId === record.id && event.reason === null && event.path === '/v1/whoami' && event.clientIp === '127.0.0.1'),
      );
      const refused = (await api(`/v1/auth-events?keyId=${record.id}&reason=insufficient_scope`, { auth: admin })).json as EventPage;
      assert.deepEqual(
        refused.data.map((event) => [event.outcome, event.reason, event.keyPrefix, event.path]),
        [['failure', 'insufficient_scope', record.keyPrefix, '/v1/keys']],
      );
      const first = (await api(`/v1/auth-events?keyId=${record.id}&limit=2`, { auth: admin })).json as EventPage;
      assert.equal(first.data.length, 2);
      assert.ok(first.next);
      const second = (await api(`/v1/auth-events?keyId=${record.id}&limit=2&cursor=${first.next}`, { auth: admin })).json as EventPage;
      assert.equal(second.data.length, 2);
      assert.equal(second.next, null);
      const future = (await api(`/v1/auth-events?keyId=${record.id}&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { auth: admin }))
        .json as EventPage;
      assert.deepEqual(future.data, [], 'the time range filters');
      assertError(await api('/v1/auth-events?reason=made_up', { auth: admin }), 400, 'invalid_request');
    });

    describe('rollover', () => {
      const restricted = {
        scopes: ['installs:read', 'sessions:write'],
        tenantId: 'roll-tenant',
        ipAllowlist: ['127.0.0.0/8', '10.0.0.0/8'],
        description: 'rolled key',
      };

      it('makes a -r2 key with the same scopes and restrictions; old and new both work during the grace period', async () => {
        const { key: oldKey, record: old } = await createKeyOverHttp(api, admin, { name: 'Rolling', ...restricted }, watch);
        assert.equal((await api('/v1/whoami', { auth: oldKey })).status, 200);
        const startedAt = Date.now();
        const response = await api(`/v1/keys/${old.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 3600 } });
        const finishedAt = Date.now();
        assert.equal(response.status, 201, response.text);
        const rolled = response.json as KeyView & { key: string; previous: KeyView };
        watch.handedOut(response, rolled.key, 'Rolling-r2');
        assert.notEqual(rolled.key, oldKey);
        assert.deepEqual(
          [rolled.name, rolled.scopes, rolled.tenantId, rolled.ipAllowlist, rolled.description, rolled.rolledFrom, rolled.active],
          ['Rolling-r2', old.scopes, old.tenantId, old.ipAllowlist, old.description, old.id, true],
        );
        const graceEnds = Date.parse(rolled.previous.expiresAt ?? '');
        assert.ok(
          graceEnds >= startedAt + 3_600_000 - 1000 && graceEnds <= finishedAt + 3_600_000,
          `the old key ends with the grace period: ${rolled.previous.expiresAt}`,
        );

        const oldWho = await api('/v1/whoami', { auth: oldKey });
        const newWho = await api('/v1/whoami', { auth: rolled.key });
        assert.deepEqual([oldWho.status, newWho.status], [200, 200], 'both keys work inside the grace period');
        assert.deepEqual([(oldWho.json as WhoAmI).keyId, (newWho.json as WhoAmI).keyId], [old.id, rolled.id]);
        assert.equal((newWho.json as WhoAmI).tenantId, 'roll-tenant');

        const again = await api(`/v1/keys/${rolled.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 60 } });
        assert.equal(again.status, 201, again.text);
        const third = again.json as KeyView & { key: string };
        watch.handedOut(again, third.key, 'Rolling-r3');
        assert.equal(third.name, 'Rolling-r3');
      });

      it('with a grace period of 0 the old key fails at once with key_expired, the new one works', async () => {
        const { key: oldKey, record: old } = await createKeyOverHttp(api, admin, { name: 'Rolled-Now', ...restricted }, watch);
        assert.equal((await api('/v1/whoami', { auth: oldKey })).status, 200, 'cached before the roll');
        const response = await api(`/v1/keys/${old.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 0 } });
        assert.equal(response.status, 201, response.text);
        const rolled = response.json as KeyView & { key: string };
        watch.handedOut(response, rolled.key, 'Rolled-Now-r2');

        const { response: refused, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: oldKey }));
        assertError(refused, 401, 'key_expired');
        assertOneEvent(events, { outcome: 'failure', reason: 'key_expired', key_id: old.id, key_prefix: old.keyPrefix });
        assert.equal((await api('/v1/whoami', { auth: rolled.key })).status, 200);
      });

      it('the old key fails with key_expired once its grace period has ended', async () => {
        const { key: oldKey, record: old } = await createKeyOverHttp(api, admin, { name: 'Rolled-Soon', scopes: ['installs:read'] }, watch);
        const response = await api(`/v1/keys/${old.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 1 } });
        assert.equal(response.status, 201);
        const rolled = response.json as KeyView & { key: string; previous: KeyView };
        watch.handedOut(response, rolled.key, 'Rolled-Soon-r2');
        const seenAfterEnd = await waitFor('the grace period to end', async () => {
          const answer = await api('/v1/whoami', { auth: oldKey });
          return answer.status === 200 ? undefined : answer;
        });
        assertError(seenAfterEnd, 401, 'key_expired');
        assert.equal((await api('/v1/whoami', { auth: rolled.key })).status, 200);
      });

      it('refuses a grace period beyond 7 days, negative or fractional with 400, and changes nothing', async () => {
        const { key, record } = await createKeyOverHttp(api, admin, { name: 'Not-Rolled', scopes: ['installs:read'] }, watch);
        for (const gracePeriodSeconds of [604_801, -1, 1.5, '60']) {
          assertError(
            await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds } }),
            400,
            'invalid_request',
            String(gracePeriodSeconds),
          );
        }
        assert.equal(((await api(`/v1/keys/${record.id}`, { auth: admin })).json as KeyView).expiresAt, null, 'the key keeps no expiry');
        assert.equal(
          await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', 'Not-Rolled-r2').executeTakeFirst(),
          undefined,
        );
        assert.equal((await api('/v1/whoami', { auth: key })).status, 200);
        const week = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 604_800 } });
        assert.equal(week.status, 201, 'exactly 7 days is allowed');
        watch.handedOut(week, (week.json as { key: string }).key, 'Not-Rolled-r2');
      });

      it('never hands out a rolled key that is already expired: rolling an expired key is refused or yields a working key', async () => {
        const { record } = await createKeyOverHttp(
          api,
          admin,
          { name: 'Expired-Then-Rolled', scopes: ['installs:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
          watch,
        );
        await patchbay.patchbay.ctx.store.db
          .updateTable('access_keys')
          .set({ expires_at: new Date(Date.now() - 60_000).toISOString() })
          .where('id', '=', record.id)
          .execute();
        const response = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 3600 } });
        if (response.status === 201) {
          const rolled = response.json as KeyView & { key: string };
          watch.handedOut(response, rolled.key, 'Expired-Then-Rolled-r2');
          const answer = await api('/v1/whoami', { auth: rolled.key });
          assert.equal(answer.status, 200, `the new key works (expiresAt ${rolled.expiresAt}): ${answer.text}`);
        } else {
          assertError(response, 409, 'key_expired');
        }
      });

      it('refuses to roll an inactive key with 409', async () => {
        const { record } = await createKeyOverHttp(api, admin, { name: 'Inactive-Roll', scopes: ['installs:read'] }, watch);
        await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
        assertError(await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 0 } }), 409, 'key_inactive');
      });
    });
  });

  describe('concurrency', () => {
    let patchbay: TestPatchbay;
    let api: Api;

    before(async () => {
      patchbay = await startPatchbay();
      watch.watchLogs(patchbay.logs, 'the concurrency server');
      api = apiClient(patchbay, watch);
    });

    after(async () => {
      await watch.collectHashes(patchbay);
      await patchbay.close();
    });

    it('50 parallel requests with one key all succeed, leave one consistent lastAuthenticatedAt and lose no auth event', async () => {
      const key = await patchbay.accessKey(['installs:read'], { name: 'busy-key' });
      watch.addKey(key, 'busy-key');
      const keyId = await keyIdOf(patchbay, 'busy-key');
      const db = patchbay.patchbay.ctx.store.db;

      const startedAt = Date.now();
      const answers = await Promise.all(Array.from({ length: 50 }, () => api('/v1/whoami', { auth: key })));
      const finishedAt = Date.now();
      assert.deepEqual(
        answers.map((answer) => answer.status),
        Array(50).fill(200),
      );

      const lastAuthenticatedAt = await waitFor('last_authenticated_at to be written', async () => {
        const row = await db.selectFrom('access_keys').select('last_authenticated_at').where('id', '=', keyId).executeTakeFirstOrThrow();
        return row.last_authenticated_at ?? undefined;
      });
      const at = Date.parse(lastAuthenticatedAt);
      assert.ok(at >= startedAt && at <= finishedAt, `${lastAuthenticatedAt} lies within the burst`);

      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await db.selectFrom('auth_events').select(['id', 'outcome', 'reason']).where('key_id', '=', keyId).execute();
      assert.equal(events.length, 50, 'one event per request');
      assert.ok(events.every((event) => event.outcome === 'success' && event.reason === null));
      assert.equal(new Set(events.map((event) => event.id)).size, 50, 'distinct event ids');

      const second = await Promise.all(Array.from({ length: 20 }, () => api('/v1/whoami', { auth: key })));
      assert.ok(second.every((answer) => answer.status === 200));
      await patchbay.patchbay.ctx.authEvents.flush();
      const row = await db.selectFrom('access_keys').select('last_authenticated_at').where('id', '=', keyId).executeTakeFirstOrThrow();
      assert.equal(row.last_authenticated_at, lastAuthenticatedAt, 'a second burst within the minute does not write it again');
      const total = await db.selectFrom('auth_events').select('id').where('key_id', '=', keyId).execute();
      assert.equal(total.length, 70);

      const admin = await patchbay.accessKey(['admin'], { name: 'busy-admin' });
      watch.addKey(admin, 'busy-admin');
      assert.equal(
        ((await api(`/v1/keys/${keyId}`, { auth: admin })).json as KeyView).lastAuthenticatedAt,
        lastAuthenticatedAt,
        'the API shows the same value',
      );
    });
  });

  describe('secrets', () => {
    it('no plain key, stored hash, session token or JWT appears in any log line or in any answer after creation', () => {
      const { secrets, answers, logLines } = watch.counts;
      assert.ok(secrets >= 40, `the search covers the file's keys and hashes (${secrets})`);
      assert.ok(answers >= 100, `the search covers the file's answers (${answers})`);
      assert.ok(logLines >= 100, `the search covers the file's logs (${logLines})`);
      assert.deepEqual(watch.leaks(), []);
    });
  });
});
