import { accessKeyPrefix, isWellFormedAccessKey } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import type { AccessKeysTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import { type AccessKeyRecord, findKeyRowBySecret, toKeyRecord, type VerifyResult } from './service.js';

const LAST_USED_RESOLUTION_MS = 60_000;

/** The row and its parsed record: a cache hit costs no JSON parsing. */
interface CacheEntry {
  row: AccessKeysTable;
  record: AccessKeyRecord;
  fetchedAt: number;
}

function stateOf(entry: CacheEntry, now = Date.now()): VerifyResult {
  const { row } = entry;
  if (row.inactive_at !== null) return { ok: false, reason: 'key_inactive', keyId: row.id, keyPrefix: row.key_prefix };
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now) return { ok: false, reason: 'key_expired', keyId: row.id, keyPrefix: row.key_prefix };
  return { ok: true, key: entry.record };
}

/**
 * Verifies keys with a short cache (`PATCHBAY_KEY_CACHE_SECONDS`, default 2 s): a key inactivated
 * on this instance fails at once (its entry is dropped), on another instance within the cache
 * window. Also keeps `last_authenticated_at` to within a minute without a write per request.
 */
export class KeyVerifier {
  readonly #bySecretHash = new Map<string, CacheEntry>();
  readonly #byId = new Map<string, CacheEntry>();
  readonly #lastUsedWrite = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly hashingKey: Buffer,
    private readonly cacheMs: number,
  ) {}

  async verifyKey(presented: string): Promise<VerifyResult> {
    if (!isWellFormedAccessKey(presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
    const hash = hmacSha256(this.hashingKey, presented);
    const cached = this.#bySecretHash.get(hash);
    if (cached && Date.now() - cached.fetchedAt < this.cacheMs) return stateOf(cached);
    const row = await findKeyRowBySecret({ store: this.store, hashingKey: this.hashingKey }, presented);
    if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: accessKeyPrefix(presented) };
    return stateOf(this.#remember(row));
  }

  /** For tokens: the key they were made from, by id, with the same cache window. */
  async verifyKeyId(keyId: string): Promise<VerifyResult> {
    const cached = this.#byId.get(keyId);
    if (cached && Date.now() - cached.fetchedAt < this.cacheMs) return stateOf(cached);
    const row = await this.store.db.selectFrom('access_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
    if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
    return stateOf(this.#remember(row));
  }

  #remember(row: AccessKeysTable): CacheEntry {
    const entry = { row, record: toKeyRecord(row), fetchedAt: Date.now() };
    if (this.cacheMs > 0) {
      this.#bySecretHash.set(row.secret_hash, entry);
      this.#byId.set(row.id, entry);
    }
    return entry;
  }

  /** Called after every change to a key on this instance. */
  forget(keyId: string): void {
    const entry = this.#byId.get(keyId);
    if (entry) this.#bySecretHash.delete(entry.row.secret_hash);
    this.#byId.delete(keyId);
  }

  /**
   * At most one write a minute per key, and the UPDATE's own condition keeps several instances
   * (or a burst of parallel requests) from moving the value backwards or writing it twice.
   */
  touch(keyId: string): Promise<void> | undefined {
    const now = Date.now();
    const last = this.#lastUsedWrite.get(keyId) ?? 0;
    if (now - last < LAST_USED_RESOLUTION_MS) return undefined;
    this.#lastUsedWrite.set(keyId, now);
    return this.#writeLastUsed(keyId, now);
  }

  async #writeLastUsed(keyId: string, now: number): Promise<void> {
    const threshold = new Date(now - LAST_USED_RESOLUTION_MS).toISOString();
    await this.store.db
      .updateTable('access_keys')
      .set({ last_authenticated_at: isoNow(now) })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_authenticated_at', 'is', null), eb('last_authenticated_at', '<', threshold)]))
      .execute();
  }
}
