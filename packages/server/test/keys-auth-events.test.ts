import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateAccessKey } from '../src/crypto/access-key.js';
import { AuthEventRecorder, type AuthEventInput } from '../src/keys/auth-events.js';
import { createAccessKey, recordAuthEvent, verifyAccessKey } from '../src/keys/service.js';
import type { Store } from '../src/store/store.js';
import { openKeyTestStore } from './support/keys.js';

/**
 * Auth events as the key service records them: one per attempt, in order, through the batching
 * recorder (the HTTP side: keys-http.test.ts). The rest of the key service: keys.test.ts.
 */
describe('access key service: auth events', () => {
  let store: Store, hashingKey: Buffer, closeStore: () => Promise<void>;
  const deps = () => ({ store, hashingKey });
  before(async () => ({ store, hashingKey, close: closeStore } = await openKeyTestStore()));
  after(() => closeStore());

  it('records every attempt, however many arrive in a row', async () => {
    for (let i = 0; i < 64; i++) {
      await recordAuthEvent(deps(), {
        keyId: null,
        keyPrefix: null,
        clientIp: '198.51.100.1',
        method: 'GET',
        path: `/v1/burst/${i}`,
        outcome: 'failure',
        reason: 'invalid_credentials',
      });
    }
    const rows = await store.db.selectFrom('auth_events').select(['id', 'reason']).where('path', 'like', '/v1/burst/%').execute();
    assert.equal(rows.length, 64);
    assert.equal(new Set(rows.map((row) => row.id)).size, 64, 'every event has its own id');
    assert.ok(rows.every((row) => row.reason === 'invalid_credentials'));
  });

  it('records each attempt with its outcome, reason code and the key prefix only', async () => {
    const { key, record } = await createAccessKey(deps(), { name: 'audited', scopes: ['admin'] });
    const stranger = generateAccessKey();
    const attempts = [
      { presented: key, path: '/v1/audit/ok' },
      { presented: stranger, path: '/v1/audit/unknown' },
      { presented: 'pbk_short', path: '/v1/audit/malformed' },
    ];
    for (const attempt of attempts) {
      const verdict = await verifyAccessKey(deps(), attempt.presented);
      await recordAuthEvent(deps(), {
        keyId: verdict.ok ? verdict.key.id : verdict.keyId,
        keyPrefix: verdict.ok ? verdict.key.keyPrefix : verdict.keyPrefix,
        clientIp: '203.0.113.7',
        method: 'POST',
        path: attempt.path,
        outcome: verdict.ok ? 'success' : 'failure',
        reason: verdict.ok ? null : verdict.reason,
      });
    }
    await recordAuthEvent(deps(), {
      keyId: record.id,
      keyPrefix: record.keyPrefix,
      clientIp: null,
      method: 'GET',
      path: '/v1/audit/scope',
      outcome: 'failure',
      reason: 'insufficient_scope',
    });

    const events = await store.db.selectFrom('auth_events').selectAll().where('path', 'like', '/v1/audit/%').execute();
    const byPath = new Map(events.map((event) => [event.path, event]));
    assert.equal(events.length, 4);
    assert.deepEqual(pick(byPath.get('/v1/audit/ok')), {
      key_id: record.id,
      key_prefix: key.slice(0, 10),
      client_ip: '203.0.113.7',
      method: 'POST',
      outcome: 'success',
      reason: null,
    });
    assert.deepEqual(pick(byPath.get('/v1/audit/unknown')), {
      key_id: null,
      key_prefix: stranger.slice(0, 10),
      client_ip: '203.0.113.7',
      method: 'POST',
      outcome: 'failure',
      reason: 'invalid_credentials',
    });
    assert.deepEqual(pick(byPath.get('/v1/audit/malformed')), {
      key_id: null,
      key_prefix: null,
      client_ip: '203.0.113.7',
      method: 'POST',
      outcome: 'failure',
      reason: 'invalid_credentials',
    });
    assert.deepEqual(pick(byPath.get('/v1/audit/scope')), {
      key_id: record.id,
      key_prefix: record.keyPrefix,
      client_ip: null,
      method: 'GET',
      outcome: 'failure',
      reason: 'insufficient_scope',
    });
    for (const event of events) {
      assert.match(event.id, /^aev_/);
      assert.ok(!Number.isNaN(Date.parse(event.at)), 'each event is timestamped');
      assert.ok(!JSON.stringify(event).includes(key.slice(10)), 'no event holds a key');
      assert.ok(!JSON.stringify(event).includes(stranger.slice(10)), 'no event holds a presented key');
    }
  });

  const burstEvent = (i: number): AuthEventInput => ({
    keyId: `key_burst${i % 3}`,
    keyPrefix: 'pbk_burst0',
    clientIp: i % 2 ? '203.0.113.9' : null,
    method: i % 2 ? 'POST' : 'GET',
    path: `/v1/recorder/${i}`,
    outcome: i % 5 ? 'success' : 'failure',
    reason: i % 5 ? null : 'key_inactive',
  });

  it('the recorder writes every event of a burst larger than a batch once, as given, in order', async () => {
    const errors: unknown[] = [];
    const recorder = new AuthEventRecorder({ store, onError: (error) => errors.push(error) });
    const count = 1_237; // several batches, each whole chunks of rows plus a remainder
    const startedAt = Date.now();
    for (let i = 0; i < count; i++) recorder.record(burstEvent(i));
    await recorder.flush();
    assert.deepEqual(errors, []);
    const rows = await store.db.selectFrom('auth_events').selectAll().where('path', 'like', '/v1/recorder/%').orderBy('id').execute();
    assert.equal(rows.length, count, 'one row per event');
    rows.forEach((row, i) => {
      const event = burstEvent(i);
      assert.deepEqual(
        {
          key_id: row.key_id,
          key_prefix: row.key_prefix,
          client_ip: row.client_ip,
          method: row.method,
          path: row.path,
          outcome: row.outcome,
          reason: row.reason,
        },
        {
          key_id: event.keyId,
          key_prefix: event.keyPrefix,
          client_ip: event.clientIp,
          method: event.method,
          path: event.path,
          outcome: event.outcome,
          reason: event.reason,
        },
        'ids sort in the order the events were recorded',
      );
      assert.match(row.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'at is an ISO-8601 UTC instant, as everywhere in the store');
      assert.ok(Date.parse(row.at) >= startedAt && Date.parse(row.at) <= Date.now());
    });
  });

  it('the recorder keeps a batch whose write failed and writes it with the next flush, once', async () => {
    let failuresLeft = 1;
    const flaky: Store = {
      ...store,
      appendRows: (table, columns, rows) => (failuresLeft-- > 0 ? Promise.reject(new Error('disk full')) : store.appendRows(table, columns, rows)),
    };
    const errors: unknown[] = [];
    const recorder = new AuthEventRecorder({ store: flaky, onError: (error) => errors.push(error) });
    for (let i = 0; i < 40; i++) recorder.record({ ...burstEvent(i), path: `/v1/flaky/${i}` });
    await recorder.flush();
    assert.equal(errors.length, 1, 'the failure is reported');
    const countRows = async () => (await store.db.selectFrom('auth_events').select('id').where('path', 'like', '/v1/flaky/%').execute()).length;
    assert.equal(await countRows(), 0);
    await recorder.flush();
    assert.equal(await countRows(), 40, 'every event, once');
  });

  it('the recorder, once closed for shutdown, tries a failed batch once and schedules no retry against the closing store', async () => {
    let attempts = 0;
    const closing: Store = { ...store, appendRows: () => (attempts++, Promise.reject(new Error('store closed'))) };
    const errors: unknown[] = [];
    const recorder = new AuthEventRecorder({ store: closing, onError: (error) => errors.push(error) });
    recorder.record({ ...burstEvent(0), path: '/v1/closing' });
    await recorder.close();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal(attempts, 1, 'one attempt, no retry a second later');
    assert.equal(errors.length, 1, 'the failure is reported once');
  });

  it('keeps events appended while a transaction is open across an await when that transaction rolls back', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const rolledBack = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('rate_limits').values({ bucket: 'rollback-probe', window_start: new Date().toISOString(), hits: 1 }).execute();
      await gate;
      throw new Error('rolled back');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const recorder = new AuthEventRecorder({ store, onError: (error) => assert.fail(String(error)) });
    recorder.record({ ...burstEvent(0), path: '/v1/beside-a-transaction' });
    const flushed = recorder.flush();
    release();
    await assert.rejects(rolledBack, /rolled back/);
    await flushed;
    assert.equal(
      (await store.db.selectFrom('rate_limits').select('bucket').where('bucket', '=', 'rollback-probe').execute()).length,
      0,
      'the transaction did roll back',
    );
    assert.equal(
      (await store.db.selectFrom('auth_events').select('id').where('path', '=', '/v1/beside-a-transaction').execute()).length,
      1,
      'the event is kept',
    );
  });
});

function pick(
  event: { key_id: string | null; key_prefix: string | null; client_ip: string | null; method: string; outcome: string; reason: string | null } | undefined,
) {
  assert.ok(event, 'the event was recorded');
  const { key_id, key_prefix, client_ip, method, outcome, reason } = event;
  return { key_id, key_prefix, client_ip, method, outcome, reason };
}
