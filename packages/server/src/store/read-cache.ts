const MAX_ENTRIES = 10_000;

/**
 * Records as this instance last read them from the store, kept for a short window
 * (`PATCHBAY_CONNECTION_CACHE_SECONDS`, default 2 s): a burst of calls reads a record once instead
 * of once per call. The connection rows of the proxy and the tenant actions, and the tenants'
 * working installs, are kept here (connections/service.ts, installs/active-cache.ts).
 *
 * Every write on this instance that changes a held record calls `forget` once it is committed, so
 * the next read goes to the store: a connection revoked or a tenant uninstalled here stops working
 * here at once. Another instance's writes are seen here when the entry runs out, within the window.
 * Only records found are kept: one created elsewhere is found at its first read.
 *
 * A read that started before a `forget` is not kept: it may have read the record before the change.
 * At most 10 000 records are held; the oldest go first. Memory only: nothing held is ever written.
 */
export class ReadCache<Value> {
  readonly #entries = new Map<string, { value: Value; until: number }>();
  /** Moves on every `forget`; a read is kept only when none happened while it ran. */
  #generation = 0;

  constructor(private readonly ttlMs: number) {}

  /** The record read within the window, else `load()`'s (kept for the next reads when found). Callers must not change it. */
  async read<Missing extends null | undefined>(key: string, load: () => Promise<Value | Missing>): Promise<Value | Missing> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.until > performance.now()) return entry.value;
    const generation = this.#generation;
    const value = await load();
    if (value === null || value === undefined || this.ttlMs <= 0 || generation !== this.#generation) return value;
    this.#entries.delete(key);
    // The map is oldest first; the oldest go when it is full.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: performance.now() + this.ttlMs });
    return value;
  }

  /** After a committed change to one record (its key), to those whose keys a test picks, or to any (nothing). */
  forget(which?: string | ((key: string) => boolean)): void {
    this.#generation++;
    if (which === undefined) this.#entries.clear();
    else if (typeof which === 'string') this.#entries.delete(which);
    else for (const key of this.#entries.keys()) if (which(key)) this.#entries.delete(key);
  }
}
