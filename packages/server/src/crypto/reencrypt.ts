import { sql } from 'kysely';
import { ConfigError } from '../config.js';
import { credentialsAad } from '../connections/credentials.js';
import { clientSecretAad } from '../connectors/catalog.js';
import { pkceVerifierAad } from '../sessions/oauth-step.js';
import type { Store } from '../store/store.js';
import { secretAad } from '../webhooks/service.js';
import { DecryptionError, type Keyring, keyIdOf } from './envelope.js';
import { serverSecretAad } from './secrets.js';

/**
 * Where the store keeps ciphertexts, with the AAD each owner binds them to (its own helper): a
 * re-encrypted ciphertext stays bound to the same record.
 */
const CIPHERTEXT_COLUMNS = [
  { table: 'server_secrets', keys: ['name'], column: 'ciphertext', aad: (row: Row) => serverSecretAad(row.name!) },
  { table: 'connectors', keys: ['slug'], column: 'client_secret_ciphertext', aad: (row: Row) => clientSecretAad(row.slug!) },
  { table: 'connections', keys: ['id', 'tenant_id'], column: 'credentials_ciphertext', aad: (row: Row) => credentialsAad(row.id!, row.tenant_id!) },
  { table: 'sessions', keys: ['id'], column: 'pkce_verifier_ciphertext', aad: (row: Row) => pkceVerifierAad(row.id!) },
  { table: 'webhook_endpoints', keys: ['id'], column: 'secret_ciphertext', aad: (row: Row) => secretAad(row.id!) },
  { table: 'webhook_endpoints', keys: ['id'], column: 'previous_secret_ciphertext', aad: (row: Row) => secretAad(row.id!) },
] as const;

type Row = Record<string, string>;

/**
 * Master key rotation: every ciphertext made with an older key (a later entry of
 * PATCHBAY_MASTER_KEY) is decrypted and sealed again with the current one (the first entry).
 * Runs at every start, so a rotation is: put the new key first, start, then drop the old key.
 * A row is swapped only while it still holds the ciphertext that was read, so a concurrent write
 * (a token refresh) wins, and several instances may run this at once.
 *
 * A ciphertext sealed with a key the ring no longer lists stops the start (the key left
 * PATCHBAY_MASTER_KEY too early); one that does not authenticate (altered in the database) is left
 * as it is and counted, and fails where it is used, as it would have without a rotation.
 */
export async function reencryptWithCurrentKey(store: Store, keyring: Keyring): Promise<{ reencrypted: number; unreadable: string[] }> {
  // substr, not LIKE: key ids may hold `_`.
  const current = keyring.currentPrefix;
  let reencrypted = 0;
  const unreadable: string[] = [];
  for (const { table, keys, column, aad } of CIPHERTEXT_COLUMNS) {
    const { rows } = await sql<Row>`
      SELECT ${sql.join(keys.map((key) => sql.ref(key)))}, ${sql.ref(column)} AS ciphertext FROM ${sql.table(table)}
      WHERE ${sql.ref(column)} IS NOT NULL AND substr(${sql.ref(column)}, 1, ${current.length}) <> ${current}`.execute(store.db);
    for (const row of rows) {
      const where = `${table} ${keys.map((key) => row[key]).join(' ')}`;
      if (!keyring.canOpen(row.ciphertext!)) {
        throw new ConfigError(
          `A stored secret (${where}) is sealed with master key "${keyIdOf(row.ciphertext!)}", which PATCHBAY_MASTER_KEY no longer lists. ` +
            'Add it back after the current key and start again: the start-up re-encrypts what it sealed.',
        );
      }
      let plaintext: string;
      try {
        plaintext = keyring.decrypt(row.ciphertext!, aad(row));
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        unreadable.push(where);
        continue;
      }
      const fresh = keyring.encrypt(plaintext, aad(row));
      const sameRecord = sql.join(
        keys.map((key) => sql`${sql.ref(key)} = ${row[key]}`),
        sql` AND `,
      );
      const result = await sql`
        UPDATE ${sql.table(table)} SET ${sql.ref(column)} = ${fresh}
        WHERE ${sameRecord} AND ${sql.ref(column)} = ${row.ciphertext}`.execute(store.db);
      if ((result.numAffectedRows ?? 0n) > 0n) reencrypted += 1;
    }
  }
  return { reencrypted, unreadable };
}
