import { hash } from 'node:crypto';
import { accessKeyPrefix, isWellFormedAccessKey } from '../crypto/access-key.js';
import type { AccessKeysTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import { constantTimeEqual, hmacSha256 } from '../crypto/hmac.js';
import { toKeyRecord, type VerifyResult } from './record.js';

const LAST_USED_RESOLUTION_MS = 60_000;

/** What the verifier reads keys with; it lives in the app context, so it names its parts rather than picking from it. */
export interface KeyVerifierDeps {
  store: Store;
  hashingKey: Buffer;
}

/** Looks a presented key up. Malformed keys (bad shape or checksum) are rejected before any lookup. */
export async function findKeyRowBySecret(deps: KeyVerifierDeps, presented: string): Promise<AccessKeysTable | null> {
  if (!isWellFormedAccessKey(presented)) return null;
  const secretHash = hmacSha256(deps.hashingKey, presented);
  const row = await deps.store.db.selectFrom('access_keys').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
  // The index lookup is by the full hash already; the constant-time compare keeps it that way if the lookup changes.
  return row && constantTimeEqual(row.secret_hash, secretHash) ? row : null;
}

/** The row, its parsed record and its passing result: a cache hit costs no parsing and no allocation. */
interface CacheEntry {
  row: AccessKeysTable;
  valid: Extract<VerifyResult, { ok: true }>;
  expiresAtMs: number | null;
  fetchedAt: number;
}

function stateOf(entry: CacheEntry, now = Date.now()): VerifyResult {
  const { row } = entry;
  if (row.inactive_at !== null) return { ok: false, reason: 'key_inactive', keyId: row.id, keyPrefix: row.key_prefix };
  if (entry.expiresAtMs !== null && entry.expiresAtMs <= now) return { ok: false, reason: 'key_expired', keyId: row.id, keyPrefix: row.key_prefix };
  return entry.valid;
}

/**
 * The cache key for a presented key: its SHA-256, one call with no key object to set up (a sixth of
 * an HMAC's cost). The plain key is never held; 128 random bits make the digest useless to invert.
 * Kept as 32 one-byte characters ('binary', latin1): a Map key needs no printable form, and
 * encoding it as base64 cost a quarter of the call.
 */
function lookupDigestOf(presented: string): string {
  return hash('sha256', presented, 'binary');
}

/**
 * Verifies keys with a short cache (`PATCHBAY_KEY_CACHE_SECONDS`, default 2 s): a key inactivated
 * on this instance fails at once (its entry is dropped), on another instance within the cache
 * window. Also keeps `last_authenticated_at` to within a minute without a write per request.
 */
export class KeyVerifier {
  readonly #byLookupDigest = new Map<string, CacheEntry>();
  /** A key's one lookup digest (one secret per key), so `forget` reaches that entry too. */
  readonly #lookupDigestById = new Map<string, string>();
  readonly #byId = new Map<string, CacheEntry>();
  readonly #lastUsedWrite = new Map<string, number>();

  constructor(
    private readonly deps: KeyVerifierDeps,
    private readonly cacheMs: number,
  ) {}

  /**
   * The verdict for a key seen within the cache window, or undefined when `verifyKey` must look it
   * up: a hit needs no await, so the request goes on in the same tick. A hit also skips the checksum
   * and the HMAC: only a well-formed key that was found is cached, so a malformed key never matches
   * here and is still refused before any database lookup.
   */
  cachedVerdict(presented: string): VerifyResult | undefined {
    const cached = this.#byLookupDigest.get(lookupDigestOf(presented));
    if (cached === undefined) return undefined;
    const now = Date.now();
    return this.#isFresh(cached, now) ? stateOf(cached, now) : undefined;
  }

  async verifyKey(presented: string): Promise<VerifyResult> {
    const lookupDigest = lookupDigestOf(presented);
    const cached = this.#byLookupDigest.get(lookupDigest);
    if (this.#isFresh(cached)) return stateOf(cached);
    if (!isWellFormedAccessKey(presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
    const row = await findKeyRowBySecret(this.deps, presented);
    if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: accessKeyPrefix(presented) };
    return stateOf(this.#remember(row, lookupDigest));
  }

  /** For tokens: the key they were made from, by id, with the same cache window. */
  async verifyKeyId(keyId: string): Promise<VerifyResult> {
    const cached = this.#byId.get(keyId);
    if (this.#isFresh(cached)) return stateOf(cached);
    const row = await this.deps.store.db.selectFrom('access_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
    if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
    return stateOf(this.#remember(row));
  }

  #isFresh(entry: CacheEntry | undefined, now = Date.now()): entry is CacheEntry {
    return entry !== undefined && now - entry.fetchedAt < this.cacheMs;
  }

  #remember(row: AccessKeysTable, lookupDigest?: string): CacheEntry {
    const entry: CacheEntry = {
      row,
      valid: { ok: true, key: toKeyRecord(row) },
      expiresAtMs: row.expires_at === null ? null : Date.parse(row.expires_at),
      fetchedAt: Date.now(),
    };
    if (this.cacheMs > 0) {
      this.#byId.set(row.id, entry);
      if (lookupDigest !== undefined) {
        this.#byLookupDigest.set(lookupDigest, entry);
        this.#lookupDigestById.set(row.id, lookupDigest);
      }
    }
    return entry;
  }

  /** Called after every change to a key on this instance. */
  forget(keyId: string): void {
    const lookupDigest = this.#lookupDigestById.get(keyId);
    if (lookupDigest !== undefined) this.#byLookupDigest.delete(lookupDigest);
    this.#lookupDigestById.delete(keyId);
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
    await this.deps.store.db
      .updateTable('access_keys')
      .set({ last_authenticated_at: isoNow(now) })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_authenticated_at', 'is', null), eb('last_authenticated_at', '<', threshold)]))
      .execute();
  }
}
