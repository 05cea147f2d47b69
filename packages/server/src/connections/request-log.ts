/**
 * The request log: the last upstream calls made with each connection (`GET /v1/connections/{id}/requests`).
 * Calls are recorded off the hot path: `record` only appends to memory, and a flush a moment later
 * writes everything pending in one transaction — never an insert per proxied call. What is recorded
 * is the method, the path with its query keys but never their values (they may carry ids, emails,
 * even tokens), the status and the duration.
 */
import type { Logger } from '../logger.js';
import { newSortableId } from '../crypto/random.js';
import type { ConnectionRequestsTable } from '../store/schema.js';
import type { RowValues, Store } from '../store/store.js';
import { pageOf } from '../store/page.js';
import { isoAt } from '../store/time.js';

export interface UpstreamCallRecord {
  connectionId: string;
  method: string;
  url: URL;
  /** Null when the upstream did not answer (timeout, unreachable). */
  status: number | null;
  durationMs: number;
}

/**
 * A flush starts this long after the first pending call, so a burst of calls is one write. Under
 * load a flush writes only each connection's newest calls (`newestOfEach`), so the longer the
 * wait, the fewer rows are written and trimmed again: a second keeps the list at most a second
 * behind, and cut a busy proxy's log writes to a fifth of what 200 ms cost.
 */
const FLUSH_DELAY_MS = 1000;
/** A flush also starts once this many calls are pending, bounding memory under load (~1 MB). */
const FLUSH_AT = 5000;

/** `/v1/items?page=2&q=ada` → `/v1/items?page&q`: which parameters were sent, never what they held. */
export function pathWithoutQueryValues(url: URL): string {
  const keys = [...new Set(url.searchParams.keys())];
  return keys.length === 0 ? url.pathname : `${url.pathname}?${keys.map(encodeURIComponent).join('&')}`;
}

const COLUMNS = ['id', 'connection_id', 'method', 'path', 'status', 'duration_ms', 'at'] as const;
type RequestValues = RowValues<ConnectionRequestsTable, typeof COLUMNS>;

export class RequestLog {
  #pending: RequestValues[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { store: Store; logger: Logger },
    /** Calls kept per connection; 0 records nothing. */
    private readonly keep: number,
  ) {}

  /** Never waits and never throws: the caller is answering a request. */
  record(call: UpstreamCallRecord): void {
    if (this.keep === 0) return;
    const now = Date.now();
    this.#pending.push([
      newSortableId('req', now),
      call.connectionId,
      call.method,
      pathWithoutQueryValues(call.url).slice(0, 2048),
      call.status,
      Math.round(call.durationMs),
      isoAt(now),
    ]);
    if (this.#pending.length >= FLUSH_AT) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS).unref();
  }

  /** Writes what is pending (flushes run one after another, so rows land in the order recorded). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() =>
      this.#write(batch).catch((error: unknown) => this.deps.logger.warn({ err: error, dropped: batch.length }, 'could not write the request log')),
    );
    return this.#flushing;
  }

  async #write(pending: RequestValues[]): Promise<void> {
    const { store } = this.deps;
    const batch = newestOfEach(pending, this.keep);
    // Through the statements the store prepares once (a Kysely insert of this batch's size was
    // built, compiled and prepared anew each time, and a text per batch size filled the cache).
    await store.appendRows('connection_requests', COLUMNS, batch);
    // Each connection touched keeps its newest `keep` rows: the row `keep` places back and older go.
    // A trim that fails (or never runs, if the process stops here) is made by the next flush.
    await store.db.transaction().execute(async (trx) => {
      for (const connectionId of new Set(batch.map(([, connection]) => connection))) {
        await trx
          .deleteFrom('connection_requests')
          .where('connection_id', '=', connectionId)
          .where('id', '<=', (eb) =>
            eb.selectFrom('connection_requests').select('id').where('connection_id', '=', connectionId).orderBy('id', 'desc').limit(1).offset(this.keep),
          )
          .execute();
      }
    });
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

/**
 * The newest `keep` calls of each connection in `batch`, in their order. Under load one flush
 * holds hundreds of calls on the same connection, and the trim after the write would delete all
 * but the newest `keep` of them at once: they are left out instead of written and deleted.
 */
export function newestOfEach(batch: RequestValues[], keep: number): RequestValues[] {
  if (batch.length <= keep) return batch;
  const seen = new Map<string, number>();
  const kept: RequestValues[] = [];
  for (let index = batch.length - 1; index >= 0; index--) {
    const connectionId = batch[index]![1];
    const count = seen.get(connectionId) ?? 0;
    if (count >= keep) continue;
    seen.set(connectionId, count + 1);
    kept.push(batch[index]!);
  }
  return kept.reverse();
}

/** Housekeeping: calls older than the retention go (in one indexed range delete). */
export async function pruneRequestLog(store: Store, maxAgeDays: number): Promise<void> {
  await store.db
    .deleteFrom('connection_requests')
    .where('at', '<', new Date(Date.now() - maxAgeDays * 86_400_000).toISOString())
    .execute();
}

/** A connection's recorded calls, newest first, paged by id. */
export async function listConnectionRequests(deps: { store: Store }, connectionId: string, query: { limit: number; cursor?: string | undefined }) {
  let select = deps.store.db.selectFrom('connection_requests').selectAll().where('connection_id', '=', connectionId);
  if (query.cursor) select = select.where('id', '<', query.cursor);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, (row) => ({ id: row.id, method: row.method, path: row.path, status: row.status, durationMs: row.duration_ms, at: row.at }));
}
