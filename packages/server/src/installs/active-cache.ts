import type { InstallView } from '@patchbay/contract';

const MAX_ENTRIES = 10_000;

interface Entry {
  integrationId: string;
  install: InstallView;
  until: number;
}

/** One key per integration and tenant; the length prefix keeps `a/b` + `c` apart from `a` + `b/c`. */
const keyOf = (integrationId: string, tenantId: string) => `${integrationId.length}:${integrationId}/${tenantId}`;

/**
 * Tenants' working installs as the tenant actions last read them, for `PATCHBAY_CONNECTION_CACHE_SECONDS`
 * (default 2 s, the window of the connection rows the same actions use: connections/row-cache.ts):
 * a burst of actions for one tenant reads its install once instead of once per call.
 *
 * Every write that changes which install is a tenant's working one, or what it holds (a commit, its
 * completion, an install's delete, an integration's forced delete), calls `forget` once it is
 * committed, so the next action here reads the store again: a tenant uninstalled here loses its
 * actions here at once. Another instance's writes are seen here when the entry runs out, within the
 * window. Only installs found are kept: a tenant without one is read again on every call, so an
 * install committed elsewhere works here at its first action.
 *
 * A read that started before a `forget` is not kept: it may have read the install before the change.
 */
export class ActiveInstallCache {
  readonly #entries = new Map<string, Entry>();
  /** Moves on every `forget`; a read is kept only when none happened while it ran. */
  #generation = 0;

  constructor(private readonly ttlMs: number) {}

  /** The install read within the cache window, else `load()`'s (kept for the next calls when found). Callers must not change it. */
  async read(integrationId: string, tenantId: string, load: () => Promise<InstallView | null>): Promise<InstallView | null> {
    const key = keyOf(integrationId, tenantId);
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.until > performance.now()) return entry.install;
    const generation = this.#generation;
    const install = await load();
    if (install === null || this.ttlMs <= 0 || generation !== this.#generation) return install;
    this.#entries.delete(key);
    // The map is oldest first; the oldest go when it is full.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { integrationId, install, until: performance.now() + this.ttlMs });
    return install;
  }

  /**
   * Runs a write to a tenant's installs of an integration (no tenant: to any of them), then forgets
   * what is held of them: also when the write failed, since a commit whose answer was lost may still
   * have happened, and forgetting costs only a read.
   */
  async forgetAfter<T>(integrationId: string, tenantId: string | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.forget(integrationId, tenantId);
    }
  }

  /** After a committed change to one tenant's install of an integration, or (no tenant) to any of the integration's installs. */
  forget(integrationId: string, tenantId?: string): void {
    this.#generation++;
    if (tenantId !== undefined) {
      this.#entries.delete(keyOf(integrationId, tenantId));
      return;
    }
    for (const [key, entry] of this.#entries) if (entry.integrationId === integrationId) this.#entries.delete(key);
  }
}
