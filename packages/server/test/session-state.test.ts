import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allowedFrom, assertTransition, moveSession, nextStatuses, type SessionStatus, TRANSITIONS, TransitionRefused } from '../src/sessions/state.js';
import { openStore, type Store } from '../src/store/store.js';
import { dropTestSchema, TEST_POSTGRES_URL } from './support/harness.js';

/**
 * The install session's state machine (src/sessions/state.ts) as a table. A change to the table
 * changes what the database lets a session do; these tests make that change a deliberate one.
 */
describe('the session state machine', () => {
  it('allows exactly these moves from each status', () => {
    assert.deepEqual(Object.fromEntries(Object.keys(TRANSITIONS).map((from) => [from, nextStatuses(from as keyof typeof TRANSITIONS).sort()])), {
      created: ['cancelled', 'started'],
      started: ['authorized', 'cancelled', 'configuring', 'failed', 'started'],
      configuring: ['authorized', 'cancelled', 'configuring'],
      authorized: ['committed'],
      cancelled: ['started'],
      failed: ['started'],
      committed: [],
      expired: [],
    });
  });

  it('says what causes every move', () => {
    for (const [from, moves] of Object.entries(TRANSITIONS)) {
      for (const [to, cause] of Object.entries(moves)) assert.ok(typeof cause === 'string' && cause.length > 10, `${from} → ${to} has no cause`);
    }
  });

  it('derives the guard’s from-states for each target from the table (expired never moves)', () => {
    assert.deepEqual(allowedFrom('started').sort(), ['cancelled', 'created', 'failed', 'started']);
    assert.deepEqual(allowedFrom('cancelled').sort(), ['configuring', 'created', 'started']);
    assert.deepEqual(allowedFrom('authorized').sort(), ['configuring', 'started']);
    assert.deepEqual(allowedFrom('committed'), ['authorized']);
    assert.deepEqual(allowedFrom('created'), []);
  });

  it('refuses a move the table does not allow, naming from and to', () => {
    assert.doesNotThrow(() => assertTransition('authorized', 'committed'));
    for (const [from, to] of [
      ['committed', 'started'],
      ['expired', 'cancelled'],
      ['authorized', 'cancelled'],
      ['failed', 'authorized'],
    ] as const) {
      assert.throws(
        () => assertTransition(from, to),
        (error: unknown) => error instanceof TransitionRefused && error.from === from && error.to === to && error.message.includes(`from ${from} to ${to}`),
      );
    }
  });
});

/** On SQLite, or on PostgreSQL (a schema of its own) with PATCHBAY_TEST_DATABASE_URL, where two moves really race. */
describe('moveSession, the one guard every status change goes through', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-session-state-'));
  const database = TEST_POSTGRES_URL
    ? { databaseUrl: TEST_POSTGRES_URL, dbSchema: `t_${randomBytes(6).toString('hex')}` }
    : { databaseUrl: `sqlite:${path.join(dir, 'patchbay.db')}`, dbSchema: null };
  let store: Store;
  let count = 0;

  before(async () => {
    store = await openStore(database.databaseUrl, database.dbSchema ? { schema: database.dbSchema } : {});
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await dropTestSchema(database);
    rmSync(dir, { recursive: true, force: true });
  });

  async function session(status: SessionStatus, expiresInMs = 60_000): Promise<string> {
    const id = `ses_state${String(++count).padStart(17, '0')}`;
    const now = new Date().toISOString();
    await store.db
      .insertInto('sessions')
      .values({
        id,
        integration_id: 'acme-sync',
        tenant_id: 'tenant-1',
        tags: '{}',
        redirect_url: null,
        token_hash: `hash-${id}`,
        status,
        opener_origin: null,
        mode: null,
        oauth_state_hash: null,
        pkce_verifier_ciphertext: null,
        connection_id: null,
        config: null,
        error_code: null,
        error_message: null,
        install_id: null,
        expires_at: new Date(Date.now() + expiresInMs).toISOString(),
        created_at: now,
        updated_at: now,
        connector_id: null,
        auth_method: null,
        reauth_connection_id: null,
        connection_label: null,
      })
      .execute();
    return id;
  }

  const statusOf = async (id: string) => (await store.db.selectFrom('sessions').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  it('moves a session the table allows to move, and answers the moved row', async () => {
    const id = await session('created');
    const moved = await moveSession(store.db, { session: { id }, to: 'started', set: { mode: 'popup' } });
    assert.equal(moved.row?.status, 'started');
    assert.equal(moved.row?.mode, 'popup');
  });

  it('refuses in the database a move the table does not allow, naming the status found and the target', async () => {
    const id = await session('authorized');
    const moved = await moveSession(store.db, { session: { id }, to: 'started' });
    assert.ok(moved.refused instanceof TransitionRefused);
    assert.deepEqual([moved.refused.from, moved.refused.to], ['authorized', 'started']);
    assert.equal(await statusOf(id), 'authorized');
  });

  it('refuses every move out of an expired session (reported as expired), and answers null for no session', async () => {
    const id = await session('started', -1000);
    const expired = await moveSession(store.db, { session: { id }, to: 'authorized' });
    assert.deepEqual([expired.refused?.from, expired.refused?.to], ['expired', 'authorized']);
    assert.equal(await statusOf(id), 'started');
    const missing = await moveSession(store.db, { session: { id: 'ses_nosuchsession000000000' }, to: 'cancelled' });
    assert.equal(missing.refused?.from, null);
  });

  it('lets exactly one of two concurrent moves from the same status win', async () => {
    const id = await session('started');
    const [signedIn, cancelled] = await Promise.all([
      moveSession(store.db, { session: { id }, from: ['started'], to: 'authorized' }),
      moveSession(store.db, { session: { id }, to: 'cancelled' }),
    ]);
    assert.equal([signedIn, cancelled].filter((moved) => moved.row).length, 1);
    const loser = signedIn.refused ?? cancelled.refused;
    assert.equal(loser?.from, await statusOf(id));
  });

  it('throws before touching the database when a caller names a from-state the table does not allow', async () => {
    const id = await session('committed');
    await assert.rejects(moveSession(store.db, { session: { id }, from: ['committed'], to: 'started' }), TransitionRefused);
    assert.equal(await statusOf(id), 'committed');
  });
});
