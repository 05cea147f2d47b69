import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import {
  type Api,
  apiClient,
  assertError,
  assertNoLeaks,
  assertOneEvent,
  createKeyOverHttp,
  expireKeyInStore,
  keyIdOf,
  type KeyView,
  SecretWatch,
  waitFor,
  withEvents,
} from './support/keys.js';

/** Every key, hash, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

interface WhoAmI {
  keyId: string;
  name: string;
  scopes: string[];
  tenantId: string | null;
  via: 'key' | 'token';
}

/**
 * Access keys over HTTP: rolling a key over (a -r2 key with the same scopes and restrictions, both
 * working through the grace period), and one key under 50 parallel requests.
 */
describe('access keys over HTTP: rollover and concurrency', () => {
  describe('rollover', () => {
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;

    before(async () => {
      ({ patchbay, api, admin } = await watch.startServer('the rollover server', 'rollover-admin'));
    });

    after(() => watch.closeServer(patchbay));

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
      await expireKeyInStore(patchbay, record.id, 60_000);
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
      assertNoLeaks(watch, { secrets: 30, answers: 100, logLines: 100 });
    });
  });
});
