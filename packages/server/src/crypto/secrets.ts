import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import type { Keyring } from './envelope.js';

const HMAC_KEY_NAME = 'hmac-key';

/** What a server secret (the hashing key, the token signing key) is bound to. */
export const serverSecretAad = (name: string) => `server_secrets:${name}`;

/**
 * The key for HMACs of access keys, session tokens and states. It is random, stored wrapped by the
 * master key, and survives master key rotation (which only re-wraps it): stored hashes stay valid.
 */
export async function loadHashingKey(store: Store, keyring: Keyring): Promise<Buffer> {
  const aad = serverSecretAad(HMAC_KEY_NAME);
  const existing = await store.db.selectFrom('server_secrets').select('ciphertext').where('name', '=', HMAC_KEY_NAME).executeTakeFirst();
  if (existing) return Buffer.from(keyring.decrypt(existing.ciphertext, aad), 'base64');
  const fresh = randomBytes(32);
  await store.db
    .insertInto('server_secrets')
    .values({ name: HMAC_KEY_NAME, ciphertext: keyring.encrypt(fresh.toString('base64'), aad), created_at: isoNow() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // Another process may have won the insert: read back whichever key is stored.
  const stored = await store.db.selectFrom('server_secrets').select('ciphertext').where('name', '=', HMAC_KEY_NAME).executeTakeFirstOrThrow();
  return Buffer.from(keyring.decrypt(stored.ciphertext, aad), 'base64');
}
