import type { Credentials } from '../connectors/auth-methods.js';
import type { ConnectionsTable } from '../store/schema.js';

/** Long enough to serve a burst of calls, short enough that plaintext does not linger after the burst. */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/**
 * Decrypted credentials of recently used connections, in this process's memory only (never
 * written anywhere). An entry is valid for the exact version of the row it was decrypted from:
 * the ciphertext, which every change of credentials (refresh, re-authorization, revoke, master key
 * rotation) replaces with a freshly encrypted one. The row comes from the store (or from the
 * connection cache, store/read-cache.ts, whose window bounds how late another instance's change is seen),
 * so the entry never outlives the row it was decrypted from; it only saves the decryption and the
 * JSON parse.
 */
export class DecryptedCredentials {
  readonly #entries = new Map<string, { version: string; credentials: Credentials; until: number }>();
  #sweep: NodeJS.Timeout | null = null;

  of(row: Pick<ConnectionsTable, 'id' | 'credentials_ciphertext'>, decrypt: () => Credentials): Credentials {
    const now = Date.now();
    const entry = this.#entries.get(row.id);
    if (entry && entry.version === row.credentials_ciphertext && entry.until > now) return entry.credentials;
    const credentials = decrypt();
    // Re-inserted so the map's order is oldest first; the oldest go when it is full.
    this.#entries.delete(row.id);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(row.id, { version: row.credentials_ciphertext, credentials, until: now + TTL_MS });
    this.#scheduleSweep();
    return credentials;
  }

  /** Expired entries leave memory even when no call comes to replace them. */
  #scheduleSweep(): void {
    if (this.#sweep) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      const now = Date.now();
      for (const [id, entry] of this.#entries) {
        if (entry.until > now) break;
        this.#entries.delete(id);
      }
      if (this.#entries.size > 0) this.#scheduleSweep();
    }, TTL_MS);
    this.#sweep.unref();
  }

  forget(connectionId: string): void {
    this.#entries.delete(connectionId);
  }
}
