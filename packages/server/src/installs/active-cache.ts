import type { InstallView } from '@patchbay/contract';
import { ReadCache } from '../store/read-cache.js';

/** The start of every key of one integration's tenants; the length prefix keeps `a/b` + `c` apart from `a` + `b/c`. */
const prefixOf = (integrationId: string) => `${integrationId.length}:${integrationId}/`;
const keyOf = (integrationId: string, tenantId: string) => prefixOf(integrationId) + tenantId;

/**
 * Tenants' working installs as the tenant actions last read them (a `ReadCache`, the window of the
 * connection rows the same actions use): a burst of actions for one tenant reads its install once.
 *
 * Every write that changes which install is a tenant's working one, or what it holds (a commit, its
 * completion, an install's delete, an integration's forced delete), runs through `forgetAfter`, so
 * the next action here reads the store again. A tenant without an install is read again on every
 * call, so an install committed elsewhere works here at its first action.
 */
export class ActiveInstallCache {
  readonly #installs: ReadCache<InstallView>;

  constructor(ttlMs: number) {
    this.#installs = new ReadCache(ttlMs);
  }

  /** The install read within the cache window, else `load()`'s (kept for the next calls when found). Callers must not change it. */
  read(integrationId: string, tenantId: string, load: () => Promise<InstallView | null>): Promise<InstallView | null> {
    return this.#installs.read(keyOf(integrationId, tenantId), load);
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
    const prefix = prefixOf(integrationId);
    this.#installs.forget(tenantId === undefined ? (key) => key.startsWith(prefix) : prefix + tenantId);
  }
}
