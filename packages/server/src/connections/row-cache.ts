import type { ConnectionsTable } from '../store/schema.js';

const MAX_ENTRIES = 10_000;

/**
 * Connection rows as the proxy and tenant actions last read them, for `PATCHBAY_CONNECTION_CACHE_SECONDS`
 * (default 2 s): a burst of calls on one connection reads its row once instead of once per call.
 *
 * A change made on this instance (revoke, disconnect, re-authorization, refresh, a connector
 * update or forced delete) calls `forget` once it is committed, so the next call here reads the
 * row again: a connection revoked here stops working here at once. A change made by another
 * instance is seen here when the entry runs out, within the cache window. Credentials that a
 * refresh elsewhere replaced are still the provider's until they expire, and an upstream 401
 * makes the broker read the row afresh, so only a revoke or re-authorization waits for the window.
 *
 * A read that started before a `forget` is not kept: it may have read the row before the change.
 */
export class ConnectionRowCache {
  readonly #entries = new Map<string, { row: ConnectionsTable; until: number }>();
  /** Moves on every `forget`; a read is kept only when none happened while it ran. */
  #generation = 0;

  constructor(private readonly ttlMs: number) {}

  /** The row read within the cache window, else `load()`'s (kept for the next calls). */
  async read(id: string, load: () => Promise<ConnectionsTable | undefined>): Promise<ConnectionsTable | undefined> {
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.until > performance.now()) return entry.row;
    const generation = this.#generation;
    const row = await load();
    if (row === undefined || this.ttlMs <= 0 || generation !== this.#generation) return row;
    this.remember(row, generation);
    return row;
  }

  /** Keeps a row just read (or written) by the caller; `generation` is `current()` from before that read began. */
  remember(row: ConnectionsTable, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.#generation) return;
    this.#entries.delete(row.id);
    // The map is oldest first; the oldest go when it is full.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(row.id, { row, until: performance.now() + this.ttlMs });
  }

  /** The generation a caller notes before a read it may `remember`. */
  current(): number {
    return this.#generation;
  }

  /** After a committed change to one connection, or to any (no id: a connector's whole set changed). */
  forget(id?: string): void {
    this.#generation++;
    if (id === undefined) this.#entries.clear();
    else this.#entries.delete(id);
  }
}
