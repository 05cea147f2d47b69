import { hash } from 'node:crypto';
import type { Store } from '../store/store.js';
import { type PartnerKeyCheck, verifyPartnerKey } from './key-check.js';

type Admitted = Extract<PartnerKeyCheck, { ok: true }>;

const MAX_ENTRIES = 10_000;

/**
 * Partner keys as keys/verifier.ts keeps access keys: a key admitted within the cache window
 * (`PATCHBAY_KEY_CACHE_SECONDS`) is admitted again without the HMAC and the two lookups (the key
 * with its partner, then its grants), and without a promise, so a partner's publish runs in the
 * same tick. Only admitted keys are kept: an unknown, expired or suspended key is looked up each
 * time. A change made on this instance (a suspension, a grant given or revoked, a rotation) calls
 * `forget` once committed, so it counts here at once; on other instances within the window.
 * A rotated key's grace period ends on time: its end is kept with the entry and checked on each use.
 */
export class PartnerKeyVerifier {
  readonly #entries = new Map<string, { admitted: Admitted; expiresAtMs: number | null; until: number }>();
  /** Moves on every `forget`; a lookup is kept only when none happened while it ran. */
  #generation = 0;

  constructor(
    private readonly deps: { store: Store; hashingKey: Buffer },
    private readonly cacheMs: number,
  ) {}

  /** The verdict for a key admitted within the window, else the lookup's (a promise). */
  verify(presented: string): PartnerKeyCheck | Promise<PartnerKeyCheck> {
    // The cache key is the presented key's SHA-256 (the plain key is never held), as for access keys.
    const digest = hash('sha256', presented, 'base64url');
    const entry = this.#entries.get(digest);
    const now = Date.now();
    if (entry !== undefined && entry.until > now) {
      if (entry.expiresAtMs === null || entry.expiresAtMs > now) return entry.admitted;
      return { ok: false, reason: 'key_expired', keyId: entry.admitted.keyId, keyPrefix: entry.admitted.keyPrefix };
    }
    const generation = this.#generation;
    return verifyPartnerKey(this.deps, presented).then((check) => {
      if (check.ok && this.cacheMs > 0 && generation === this.#generation) this.#remember(digest, check, now);
      return check;
    });
  }

  #remember(digest: string, admitted: Admitted, now: number): void {
    this.#entries.delete(digest);
    // The map is oldest first; the oldest go when it is full.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    const expiresAtMs = admitted.expiresAt === null ? null : Date.parse(admitted.expiresAt);
    this.#entries.set(digest, { admitted, expiresAtMs, until: now + this.cacheMs });
  }

  /** After a committed change to a partner, its keys or its grants. */
  forget(): void {
    this.#generation++;
    this.#entries.clear();
  }
}
