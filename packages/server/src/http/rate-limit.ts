import { sql } from 'kysely';
import type { Store } from '../store/store.js';

/**
 * Counts authentication failures per client address in fixed windows stored in the database, so
 * every server instance sees the same count. A blocked address is also remembered in memory until
 * its window ends, so a blocked client costs no database work.
 */
export class FailureLimiter {
  readonly #blockedUntil = new Map<string, number>();

  constructor(
    private readonly deps: { store: Store },
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  #window(now: number) {
    const windowMs = this.windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    return { start: new Date(start).toISOString(), endsAt: start + windowMs };
  }

  /** Seconds to wait when the address is blocked, else null. */
  retryAfter(address: string, now?: number): number | null {
    // Nearly always empty: skip the lookup and the clock (this runs on every keyed request).
    if (this.#blockedUntil.size === 0) return null;
    const until = this.#blockedUntil.get(address);
    if (until === undefined) return null;
    const current = now ?? Date.now();
    if (until <= current) {
      this.#blockedUntil.delete(address);
      return null;
    }
    return Math.max(1, Math.ceil((until - current) / 1000));
  }

  /**
   * Records one failure. `over` is true when the address was already at the limit before this one
   * (counted here or by another instance): that attempt is answered as rate limited.
   */
  async recordFailure(address: string, now = Date.now()): Promise<{ over: boolean; retryAfterSeconds: number }> {
    const { start, endsAt } = this.#window(now);
    const bucket = `auth-failure:${address}`;
    const row = await this.deps.store.db
      .insertInto('rate_limits')
      .values({ bucket, window_start: start, hits: 1 })
      .onConflict((oc) => oc.columns(['bucket', 'window_start']).doUpdateSet({ hits: sql`rate_limits.hits + 1` }))
      .returning('hits')
      .executeTakeFirstOrThrow();
    const hits = Number(row.hits);
    if (hits >= this.limit) this.#blockedUntil.set(address, endsAt);
    return { over: hits > this.limit, retryAfterSeconds: Math.max(1, Math.ceil((endsAt - now) / 1000)) };
  }

  /** Drops windows that have ended; run now and then. */
  async prune(now = Date.now()): Promise<void> {
    await this.deps.store.db
      .deleteFrom('rate_limits')
      .where('window_start', '<', this.#window(now - this.windowSeconds * 1000).start)
      .execute();
  }
}
