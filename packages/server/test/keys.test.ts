import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { generateAccessKey } from '../src/crypto/access-key.js';
import { HttpError } from '../src/http/errors.js';
import { createAccessKey, findAccessKeyByName, verifyAccessKey } from '../src/keys/service.js';
import { KeyVerifier } from '../src/keys/verifier.js';
import { openStore, type Store } from '../src/store/store.js';
import { openKeyTestStore } from './support/keys.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A store that counts every touch of its database and refuses it, to prove a code path never reaches storage. */
function untouchableStore(): { store: Store; touches: () => number } {
  let touches = 0;
  const store = {
    get db(): never {
      touches += 1;
      throw new Error('the store was touched');
    },
    dialect: 'sqlite',
    migrate: () => Promise.reject(new Error('the store was touched')),
    close: () => Promise.resolve(),
  } as unknown as Store;
  return { store, touches: () => touches };
}

/** Keys that fail the format check: typos of real keys and arbitrary text. */
const malformedKeys = fc.oneof(
  fc
    .tuple(
      fc.constant(null).map(() => generateAccessKey()),
      fc.nat({ max: 31 }),
      fc.constantFrom(...BASE62, '_', ' '),
    )
    .filter(([key, position, char]) => key[position] !== char)
    .map(([key, position, char]) => key.slice(0, position) + char + key.slice(position + 1)),
  fc.constant(null).map(() => generateAccessKey().slice(0, 31)),
  fc.constant(null).map(() => `${generateAccessKey()}x`),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', 'pbk_', 'Bearer pbk_', 'null', 'undefined'),
);

describe('access key service', () => {
  let dir: string, store: Store, hashingKey: Buffer, closeStore: () => Promise<void>;
  const deps = () => ({ store, hashingKey });
  before(async () => ({ dir, store, hashingKey, close: closeStore } = await openKeyTestStore()));
  after(() => closeStore());

  describe('creating a key', () => {
    it('returns the plain key once, well-formed, with a record that does not contain it', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'create-returns', scopes: ['admin', 'admin', 'installs:read'] });
      assert.match(key, /^pbk_[0-9A-Za-z]{28}$/);
      assert.equal(record.name, 'create-returns');
      assert.equal(record.keyPrefix, key.slice(0, 10));
      assert.deepEqual(record.scopes, ['admin', 'installs:read']);
      assert.equal(record.active, true);
      assert.ok(!JSON.stringify(record).includes(key.slice(10)), 'the record does not carry the key');
      const found = await findAccessKeyByName(deps(), 'create-returns');
      assert.deepEqual(found, record);
      assert.ok(!JSON.stringify(found).includes(key.slice(10)), 'a later lookup cannot show the key again');
    });

    it('stores only the HMAC-SHA-256 of the key: no column of access_keys holds the key or its secret part', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'stored-hash-only', scopes: ['sessions:write'] });
      const rows = await store.db.selectFrom('access_keys').selectAll().execute();
      assert.ok(rows.length > 0);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          const text = String(value);
          assert.ok(!text.includes(key.slice(10)), `access_keys.${column} holds the secret part of the key`);
          assert.ok(!text.includes(Buffer.from(key).toString('base64')), `access_keys.${column} holds the key in base64`);
        }
      }
      const row = rows.find((r) => r.id === record.id);
      assert.ok(row);
      assert.equal(row.secret_hash, createHmac('sha256', hashingKey).update(key).digest('base64url'));
      assert.notEqual(row.secret_hash, createHash('sha256').update(key).digest('base64url'), 'the hash is keyed, not a bare SHA-256');
    });

    it('keeps the key out of every other table, and its hash out of every table but access_keys', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'nowhere-else', scopes: ['admin'] });
      const { secret_hash: hash } = await store.db.selectFrom('access_keys').select('secret_hash').where('id', '=', record.id).executeTakeFirstOrThrow();
      const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db);
      assert.ok(tables.rows.length > 1);
      for (const { name } of tables.rows) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(store.db);
        for (const row of rows.rows) {
          const text = JSON.stringify(row);
          assert.ok(!text.includes(key.slice(10)), `${name} holds the key`);
          if (name !== 'access_keys') assert.ok(!text.includes(hash), `${name} holds the key's hash`);
        }
      }
    });

    it('never writes the key to the database files', async () => {
      const { key } = await createAccessKey(deps(), { name: 'never-on-disk', scopes: ['admin'] });
      const secret = Buffer.from(key.slice(10));
      const file = path.join(dir, 'patchbay.db');
      for (const candidate of [file, `${file}-wal`]) {
        if (!existsSync(candidate)) continue;
        assert.equal(readFileSync(candidate).indexOf(secret), -1, `${path.basename(candidate)} contains the key`);
      }
    });

    it('refuses a second key with the same name with 409 name_taken, and the first key keeps working', async () => {
      const first = await createAccessKey(deps(), { name: 'twin', scopes: ['admin'] });
      await assert.rejects(createAccessKey(deps(), { name: 'twin', scopes: ['installs:read'] }), (error: unknown) => {
        assert.ok(error instanceof HttpError);
        assert.equal(error.status, 409);
        assert.equal(error.code, 'name_taken');
        return true;
      });
      const rows = await store.db.selectFrom('access_keys').selectAll().where('name', '=', 'twin').execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.id, first.record.id);
      const verdict = await verifyAccessKey(deps(), first.key);
      assert.equal(verdict.ok, true);
    });
    it('issues a key for every fresh name, however many are created in a row', async () => {
      for (let i = 0; i < 64; i++) {
        const { key } = await createAccessKey(deps(), { name: `batch-${i}`, scopes: ['installs:read'] });
        assert.equal((await verifyAccessKey(deps(), key)).ok, true);
      }
    });
  });

  describe('verifying a key', () => {
    it('accepts the key it issued and returns its record', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'verify-ok', scopes: ['installs:read'], tenantId: 'tenant-a' });
      const verdict = await verifyAccessKey(deps(), key);
      assert.deepEqual(verdict, { ok: true, key: record });
    });

    it('answers invalid_credentials for malformed keys without touching the store', async () => {
      const { store: probe, touches } = untouchableStore();
      await fc.assert(
        fc.asyncProperty(malformedKeys, async (presented) => {
          const verdict = await verifyAccessKey({ store: probe, hashingKey }, presented);
          assert.deepEqual(verdict, { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null });
        }),
        { numRuns: 500 },
      );
      assert.equal(touches(), 0, 'no malformed key reached the store');
      // The probe does notice a lookup: a well-formed key goes to the store.
      await assert.rejects(verifyAccessKey({ store: probe, hashingKey }, generateAccessKey()), /the store was touched/);
      assert.equal(touches(), 1);
    });

    it('answers invalid_credentials for a malformed key even when the database is closed', async () => {
      const closed = await openStore(`sqlite:${path.join(dir, 'closed.db')}`);
      await closed.migrate();
      await closed.close();
      const typo = `${generateAccessKey().slice(0, 31)}!`;
      assert.deepEqual(await verifyAccessKey({ store: closed, hashingKey }, typo), {
        ok: false,
        reason: 'invalid_credentials',
        keyId: null,
        keyPrefix: null,
      });
      await assert.rejects(verifyAccessKey({ store: closed, hashingKey }, generateAccessKey()), 'a well-formed key does need the closed store');
    });

    it('answers invalid_credentials for a well-formed key it never issued, showing only its prefix', async () => {
      const stranger = generateAccessKey();
      const verdict = await verifyAccessKey(deps(), stranger);
      assert.deepEqual(verdict, { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: stranger.slice(0, 10) });
    });

    it('answers invalid_credentials for an issued key checked under another hashing key', async () => {
      const { key } = await createAccessKey(deps(), { name: 'other-hashing-key', scopes: ['admin'] });
      const verdict = await verifyAccessKey({ store, hashingKey: randomBytes(32) }, key);
      assert.equal(verdict.ok, false);
      assert.equal(!verdict.ok && verdict.reason, 'invalid_credentials');
    });

    it('answers key_inactive for an inactivated key', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'inactivated', scopes: ['admin'] });
      await store.db.updateTable('access_keys').set({ inactive_at: new Date().toISOString() }).where('id', '=', record.id).execute();
      const verdict = await verifyAccessKey(deps(), key);
      assert.deepEqual(verdict, { ok: false, reason: 'key_inactive', keyId: record.id, keyPrefix: record.keyPrefix });
      const rows = await store.db.selectFrom('access_keys').select('id').where('id', '=', record.id).execute();
      assert.equal(rows.length, 1, 'an inactive key is kept, not deleted');
    });

    it('answers key_expired from the expiry instant on, and accepts the key one millisecond before', async () => {
      const expiresAt = Date.parse('2031-05-04T10:00:00.000Z');
      const { key, record } = await createAccessKey(deps(), { name: 'expiring', scopes: ['admin'], expiresAt: new Date(expiresAt).toISOString() });
      assert.equal((await verifyAccessKey(deps(), key, expiresAt - 1)).ok, true);
      for (const now of [expiresAt, expiresAt + 1, expiresAt + 86_400_000]) {
        assert.deepEqual(await verifyAccessKey(deps(), key, now), { ok: false, reason: 'key_expired', keyId: record.id, keyPrefix: record.keyPrefix });
      }
    });

    it('answers key_expired for a key whose expiry has passed in real time', async () => {
      const { key } = await createAccessKey(deps(), {
        name: 'expired-yesterday',
        scopes: ['admin'],
        expiresAt: new Date(Date.now() - 86_400_000).toISOString(),
      });
      const verdict = await verifyAccessKey(deps(), key);
      assert.equal(!verdict.ok && verdict.reason, 'key_expired');
    });
  });

  describe('the key verifier of the auth middleware', () => {
    it('answers invalid_credentials for malformed keys without touching the store, cache or not', async () => {
      const { store: probe, touches } = untouchableStore();
      const verifier = new KeyVerifier({ store: probe, hashingKey }, 60_000);
      await fc.assert(
        fc.asyncProperty(malformedKeys, async (presented) => {
          assert.deepEqual(await verifier.verifyKey(presented), { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null });
        }),
        { numRuns: 300 },
      );
      assert.equal(touches(), 0, 'no malformed key reached the store');
    });

    it('serves a key from its cache within the window, and refuses it at once when it is forgotten after a change', async () => {
      const { key, record } = await createAccessKey(deps(), { name: 'cached-then-inactivated', scopes: ['installs:read'] });
      const verifier = new KeyVerifier({ store, hashingKey }, 60_000);
      assert.equal(verifier.cachedVerdict(key), undefined, 'a key not yet verified is not answered from the cache');
      assert.deepEqual(await verifier.verifyKey(key), { ok: true, key: record });
      assert.deepEqual(verifier.cachedVerdict(key), { ok: true, key: record });
      assert.equal(
        verifier.cachedVerdict(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`),
        undefined,
        'a typo of a cached key is not answered from the cache',
      );
      await store.db.updateTable('access_keys').set({ inactive_at: new Date().toISOString() }).where('id', '=', record.id).execute();
      // Another instance's change shows once the window ends; this instance forgets the key at once.
      assert.equal((await verifier.verifyKey(key)).ok, true, 'within the window the cached key still passes');
      verifier.forget(record.id);
      assert.equal(verifier.cachedVerdict(key), undefined, 'a forgotten key is looked up again');
      const inactive = { ok: false, reason: 'key_inactive', keyId: record.id, keyPrefix: record.keyPrefix };
      assert.deepEqual(await verifier.verifyKey(key), inactive);
      assert.deepEqual(await verifier.verifyKeyId(record.id), inactive);
    });

    it('answers key_expired from the cache once the expiry passes', async () => {
      const { key, record } = await createAccessKey(deps(), {
        name: 'expires-while-cached',
        scopes: ['installs:read'],
        expiresAt: new Date(Date.now() + 300).toISOString(),
      });
      const verifier = new KeyVerifier({ store, hashingKey }, 60_000);
      assert.equal((await verifier.verifyKey(key)).ok, true);
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.deepEqual(await verifier.verifyKey(key), { ok: false, reason: 'key_expired', keyId: record.id, keyPrefix: record.keyPrefix });
    });
  });
});
