import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { DecryptionError, Keyring, type MasterKey } from '../src/crypto/envelope.js';
import { loadHashingKey } from '../src/crypto/secrets.js';
import { openStore, type Store } from '../src/store/store.js';

const AAD = 'connections:con_1';
const PLAINTEXT = JSON.stringify({ accessToken: 'at-3f9a1c', refreshToken: 'rt-77d0e2' });

function masterKey(id: string): MasterKey {
  return { id, key: randomBytes(32) };
}

interface Envelope {
  version: string;
  keyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

function split(envelope: string): Envelope {
  const parts = envelope.split('.');
  assert.equal(parts.length, 5, `an envelope has five parts: ${envelope}`);
  const [version, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  return { version, keyId, iv, ciphertext, tag };
}

function join(envelope: Envelope): string {
  return [envelope.version, envelope.keyId, envelope.iv, envelope.ciphertext, envelope.tag].join('.');
}

/** Every variant of a base64url field with exactly one bit flipped. */
function singleBitFlips(field: string): string[] {
  const bytes = Buffer.from(field, 'base64url');
  const variants: string[] = [];
  for (let index = 0; index < bytes.length; index++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[index] = copy[index]! ^ (1 << bit);
      variants.push(copy.toString('base64url'));
    }
  }
  return variants;
}

describe('credential envelope (AES-256-GCM)', () => {
  it('decrypts what it encrypted: empty, ASCII, multi-byte and long plaintexts', () => {
    const keyring = new Keyring([masterKey('k1')]);
    for (const plaintext of ['', PLAINTEXT, 'ünïcødé 🔑 秘密', 'x'.repeat(100_000)]) {
      assert.equal(keyring.decrypt(keyring.encrypt(plaintext, AAD), AAD), plaintext);
    }
  });

  it('round-trips every well-formed Unicode string under any record AAD', () => {
    const keyring = new Keyring([masterKey('k1')]);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 60 }), (plaintext, aad) => {
        assert.equal(keyring.decrypt(keyring.encrypt(plaintext, aad), aad), plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('labels every ciphertext v1 with the encrypting key id, a 96-bit IV and a 128-bit tag', () => {
    const keyring = new Keyring([masterKey('current'), masterKey('older')]);
    const envelope = split(keyring.encrypt(PLAINTEXT, AAD));
    assert.equal(envelope.version, 'v1');
    assert.equal(envelope.keyId, 'current');
    assert.equal(Buffer.from(envelope.iv, 'base64url').length, 12);
    assert.equal(Buffer.from(envelope.tag, 'base64url').length, 16);
  });

  it('never shows the plaintext in the ciphertext', () => {
    const keyring = new Keyring([masterKey('k1')]);
    const envelope = keyring.encrypt(PLAINTEXT, AAD);
    for (const form of [PLAINTEXT, Buffer.from(PLAINTEXT).toString('base64url'), Buffer.from(PLAINTEXT).toString('base64'), 'at-3f9a1c']) {
      assert.ok(!envelope.includes(form), `ciphertext contains ${form}`);
    }
  });

  it('never produces the same ciphertext or IV twice for the same plaintext', () => {
    const keyring = new Keyring([masterKey('k1')]);
    const envelopes = Array.from({ length: 500 }, () => keyring.encrypt(PLAINTEXT, AAD));
    assert.equal(new Set(envelopes).size, envelopes.length);
    assert.equal(new Set(envelopes.map((e) => split(e).iv)).size, envelopes.length);
    assert.equal(new Set(envelopes.map((e) => split(e).ciphertext)).size, envelopes.length);
  });

  describe('refuses with DecryptionError', () => {
    const keyring = new Keyring([masterKey('k1'), masterKey('k2')]);
    const envelope = keyring.encrypt(PLAINTEXT, AAD);
    const refused = (candidate: string, aad = AAD, why = candidate) => assert.throws(() => keyring.decrypt(candidate, aad), DecryptionError, why);

    it('a ciphertext whose key id the keyring does not hold', () => {
      const other = new Keyring([masterKey('k9')]);
      assert.throws(() => other.decrypt(envelope, AAD), DecryptionError);
    });

    it('a ciphertext when the keyring holds a different key under the same id', () => {
      const impostor = new Keyring([masterKey('k1')]);
      assert.throws(() => impostor.decrypt(envelope, AAD), DecryptionError);
    });

    it('every single-bit change to the IV', () => {
      for (const iv of singleBitFlips(split(envelope).iv)) refused(join({ ...split(envelope), iv }));
    });

    it('every single-bit change to the ciphertext', () => {
      for (const ciphertext of singleBitFlips(split(envelope).ciphertext)) refused(join({ ...split(envelope), ciphertext }));
    });

    it('every single-bit change to the tag', () => {
      for (const tag of singleBitFlips(split(envelope).tag)) refused(join({ ...split(envelope), tag }));
    });

    it('a ciphertext whose tag has been truncated (a short GCM tag must not authenticate)', () => {
      const tag = Buffer.from(split(envelope).tag, 'base64url');
      for (const length of [0, 4, 8, 12, 13, 14, 15]) {
        refused(join({ ...split(envelope), tag: tag.subarray(0, length).toString('base64url') }), AAD, `the first ${length} bytes of the tag authenticated`);
      }
    });

    it('a ciphertext with its IV truncated or extended', () => {
      const iv = Buffer.from(split(envelope).iv, 'base64url');
      for (const changed of [iv.subarray(0, 11), iv.subarray(0, 8), Buffer.concat([iv, Buffer.from([0])])]) {
        refused(join({ ...split(envelope), iv: changed.toString('base64url') }));
      }
    });

    it('a ciphertext with bytes removed or appended', () => {
      const body = Buffer.from(split(envelope).ciphertext, 'base64url');
      for (const changed of [body.subarray(1), body.subarray(0, -1), Buffer.concat([body, Buffer.from([0])]), Buffer.alloc(0)]) {
        refused(join({ ...split(envelope), ciphertext: changed.toString('base64url') }));
      }
    });

    it('a ciphertext relabelled with another key id, known or unknown', () => {
      for (const keyId of ['k2', 'k3', 'K1', 'k1 ', '']) refused(join({ ...split(envelope), keyId }));
    });

    it('a ciphertext with its version changed', () => {
      for (const version of ['v2', 'v0', 'V1', 'v1 ', '']) refused(join({ ...split(envelope), version }));
    });

    it('an envelope with parts missing or extra', () => {
      const parts = envelope.split('.');
      for (let count = 0; count < parts.length; count++) refused(parts.slice(0, count).join('.'));
      refused(`${envelope}.`);
      refused(`${envelope}.AAAA`);
      refused('');
      refused('not an envelope');
    });

    it('a ciphertext moved to another record (AAD mismatch)', () => {
      for (const aad of ['connections:con_2', 'connectors:con_1', 'connections:con_1 ', '']) refused(envelope, aad);
    });

    it('a ciphertext presented for any other record id (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), (owner, thief) => {
          fc.pre(owner !== thief);
          const sealed = keyring.encrypt('secret', `connections:${owner}`);
          assert.throws(() => keyring.decrypt(sealed, `connections:${thief}`), DecryptionError);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('master key rotation', () => {
    const oldKey = masterKey('old');
    const newKey = masterKey('new');
    const before = new Keyring([oldKey]);
    const during = new Keyring([newKey, oldKey]);

    it('opens ciphertexts made with the old key and reports them stale', () => {
      const sealed = before.encrypt(PLAINTEXT, AAD);
      assert.equal(during.decrypt(sealed, AAD), PLAINTEXT);
      assert.equal(during.isStale(sealed), true);
    });

    it('encrypts with the first key, and such ciphertexts are not stale', () => {
      assert.equal(during.currentKeyId, 'new');
      const sealed = during.encrypt(PLAINTEXT, AAD);
      assert.equal(split(sealed).keyId, 'new');
      assert.equal(during.isStale(sealed), false);
      assert.equal(during.decrypt(sealed, AAD), PLAINTEXT);
    });

    it('a keyring without the new key cannot open ciphertexts made with it', () => {
      assert.throws(() => before.decrypt(during.encrypt(PLAINTEXT, AAD), AAD), DecryptionError);
    });
  });

  describe('keyring construction', () => {
    it('rejects any master key that is not exactly 32 bytes, wherever it sits in the ring', () => {
      for (const length of [0, 1, 16, 24, 31, 33, 64]) {
        const bad = { id: 'bad', key: randomBytes(length) };
        assert.throws(() => new Keyring([bad]), /32 bytes/, `first key of ${length} bytes`);
        assert.throws(() => new Keyring([masterKey('good'), bad]), /32 bytes/, `second key of ${length} bytes`);
      }
    });

    it('rejects an empty keyring', () => {
      assert.throws(() => new Keyring([]), /at least one/);
    });
  });
});

describe('hashing key (loadHashingKey)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-crypto-'));
  const stores: Store[] = [];
  let fileCount = 0;

  async function freshStore(file = path.join(dir, `db-${++fileCount}.sqlite`)): Promise<Store> {
    const store = await openStore(`sqlite:${file}`);
    stores.push(store);
    await store.migrate();
    return store;
  }

  after(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a 32-byte key on first use and returns the same bytes to a new keyring with the same master key', async () => {
    const store = await freshStore();
    const master = masterKey('m1');
    const first = await loadHashingKey(store, new Keyring([master]));
    assert.equal(first.length, 32);
    const second = await loadHashingKey(store, new Keyring([{ id: 'm1', key: Buffer.from(master.key) }]));
    assert.deepEqual(second, first);
    const rows = await store.db.selectFrom('server_secrets').selectAll().execute();
    assert.equal(rows.length, 1, 'loading again does not add a second key');
  });

  it('gives different stores different keys', async () => {
    const master = masterKey('m1');
    const a = await loadHashingKey(await freshStore(), new Keyring([master]));
    const b = await loadHashingKey(await freshStore(), new Keyring([master]));
    assert.notDeepEqual(a, b);
  });

  it('stores the key only wrapped: the stored row holds neither its base64, base64url nor hex form', async () => {
    const store = await freshStore();
    const key = await loadHashingKey(store, new Keyring([masterKey('m1')]));
    const rows = await store.db.selectFrom('server_secrets').selectAll().execute();
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows);
    for (const form of [key.toString('base64'), key.toString('base64url'), key.toString('hex'), key.toString('base64').slice(0, 16)]) {
      assert.ok(!stored.includes(form), `stored row contains the key as ${form}`);
    }
  });

  it('keeps the same key across a master key rotation', async () => {
    const store = await freshStore();
    const oldMaster = masterKey('old');
    const original = await loadHashingKey(store, new Keyring([oldMaster]));
    const rotated = await loadHashingKey(store, new Keyring([masterKey('new'), oldMaster]));
    assert.deepEqual(rotated, original);
  });

  it('refuses to load the key with a different master key, whether its id differs or not', async () => {
    const store = await freshStore();
    await loadHashingKey(store, new Keyring([masterKey('m1')]));
    await assert.rejects(loadHashingKey(store, new Keyring([masterKey('m2')])), DecryptionError);
    await assert.rejects(loadHashingKey(store, new Keyring([masterKey('m1')])), DecryptionError);
  });

  it('hands the same key to two servers that start together on one database', async () => {
    const file = path.join(dir, 'shared.sqlite');
    const a = await freshStore(file);
    const b = await freshStore(file);
    const master = masterKey('m1');
    const [keyA, keyB] = await Promise.all([loadHashingKey(a, new Keyring([master])), loadHashingKey(b, new Keyring([master]))]);
    assert.deepEqual(keyA, keyB);
  });
});
