import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthEventRecorder, type AuthEventInput } from '../src/keys/auth-events.js';
import type { Store } from '../src/store/store.js';
import { sharedDatabase, STORE_LABEL, STORE_UNDER_TEST } from './support/processes.js';

/**
 * Bursts from one client: events that differ only in their id and time. On SQLite such runs are
 * written by a statement binding the shared values once (store/row-append.ts); every row must still
 * come back exactly as recorded, and a row that differs in any one column must not join a run.
 */
function burst(label: string, length: number, shape: Partial<AuthEventInput> = {}): AuthEventInput[] {
  const event: AuthEventInput = {
    keyId: `key_${label}`,
    keyPrefix: 'pbk_run00000',
    clientIp: '198.51.100.4',
    method: 'GET',
    path: `/v1/runs/${label}`,
    outcome: 'success',
    reason: null,
    ...shape,
  };
  return Array.from({ length }, () => ({ ...event }));
}

/** A run whose last event differs from the others in one column only. */
function almostRun(label: string, length: number, last: Partial<AuthEventInput>, shape: Partial<AuthEventInput> = {}): AuthEventInput[] {
  const events = burst(label, length, shape);
  events[length - 1] = { ...events[length - 1]!, ...last };
  return events;
}

describe(`auth events in runs (${STORE_LABEL})`, () => {
  const database = sharedDatabase(STORE_UNDER_TEST);
  let store: Store;

  before(async () => {
    store = await database.open();
  });
  after(() => database.drop());

  it('writes runs of events that share all but id and time, of every length and among other events, each as recorded and in order', async () => {
    const events = [
      ...burst('one', 1),
      ...burst('three', 3),
      ...burst('four', 4),
      ...burst('nulls', 5, { keyId: null, keyPrefix: null, clientIp: null, outcome: 'failure', reason: 'invalid_credentials' }),
      ...almostRun('reason', 6, { reason: 'key_expired' }, { outcome: 'failure', reason: 'key_inactive' }),
      ...almostRun('outcome', 6, { outcome: 'failure' }),
      ...almostRun('prefix', 6, { keyPrefix: 'pbk_other000' }),
      ...almostRun('ip', 6, { clientIp: null }),
      ...almostRun('key', 6, { keyId: 'key_other' }),
      ...almostRun('method', 6, { method: 'POST' }),
      ...burst('chunk', 32),
      ...burst('long', 75),
      ...Array.from({ length: 40 }, (_, i) => burst(`mixed${i}`, 1)[0]!),
      ...burst('tail', 9),
    ];
    const errors: unknown[] = [];
    const recorder = new AuthEventRecorder({ store, onError: (error) => errors.push(error) });
    for (const event of events) recorder.record(event);
    await recorder.flush();
    assert.deepEqual(errors, []);

    const rows = await store.db.selectFrom('auth_events').selectAll().where('path', 'like', '/v1/runs/%').orderBy('id').execute();
    assert.equal(rows.length, events.length, 'one row per event');
    assert.equal(new Set(rows.map((row) => row.id)).size, rows.length, 'every id its own');
    const asRecorded = rows.map((row) => ({
      keyId: row.key_id,
      keyPrefix: row.key_prefix,
      clientIp: row.client_ip,
      method: row.method,
      path: row.path,
      outcome: row.outcome,
      reason: row.reason,
    }));
    assert.deepEqual(asRecorded, events, 'ids sort in the order the events were recorded');
    for (const row of rows) assert.match(row.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
