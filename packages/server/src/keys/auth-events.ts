import type { z } from 'zod';
import type { authEventSchema } from './schema.js';
import { newSortableId, sortableIdTime } from '../crypto/random.js';
import type { AuthEventsTable } from '../store/schema.js';
import type { RowValues, Store } from '../store/store.js';
import { isoAt } from '../store/time.js';
import { pageOf } from '../store/page.js';

export interface AuthEventInput {
  keyId: string | null;
  keyPrefix: string | null;
  clientIp: string | null;
  method: string;
  path: string;
  outcome: 'success' | 'failure';
  reason: string | null;
}

export type AuthEvent = z.output<typeof authEventSchema>;

/** The columns `record` fills, in the order of its row values. */
const COLUMNS = ['id', 'at', 'key_id', 'key_prefix', 'client_ip', 'method', 'path', 'outcome', 'reason'] as const;
type AuthEventValues = RowValues<AuthEventsTable, typeof COLUMNS>;
/** Only `id` and `at` differ between the events of one client's burst: the rest is bound once per run. */
const APPEND = { varying: 2 };

function toValues(event: AuthEventInput): AuthEventValues {
  const now = Date.now();
  return [
    newSortableId('aev', now),
    isoAt(now),
    event.keyId,
    event.keyPrefix,
    event.clientIp,
    event.method,
    event.path.slice(0, 512),
    event.outcome,
    event.reason,
  ];
}

export async function recordAuthEvent({ store }: { store: Store }, event: AuthEventInput): Promise<void> {
  await store.appendRows('auth_events', COLUMNS, [toValues(event)], APPEND);
}

/** What the recorder writes with; it lives in the app context, so it names its parts. */
export interface AuthEventRecorderDeps {
  store: Store;
  /** Told when a batch could not be written (it is retried with the next) or rows were dropped. */
  onError(error: unknown): void;
}

/**
 * Auth events are written in batches off the request path: one insert per burst instead of one per
 * request, through statements prepared once (`Store.appendRows`). `flush()` drains the buffer
 * (called on shutdown and by tests); a failed batch is logged and retried with the next one, so
 * events are not dropped on a transient error.
 */
export class AuthEventRecorder {
  #buffer: AuthEventValues[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  #retryMs = 1000;
  #dropped = 0;
  #observer: ((event: AuthEventInput) => void) | null = null;

  constructor(
    private readonly deps: AuthEventRecorderDeps,
    private readonly delayMs = 50,
    private readonly maxBatch = 500,
    /** While the database is away the buffer is bounded: the oldest rows go first (and are counted). */
    private readonly maxBuffered = 100_000,
  ) {}

  /** Sees every attempt as it is recorded (metrics count outcomes and reasons). */
  observe(observer: (event: AuthEventInput) => void): void {
    this.#observer = observer;
  }

  record(event: AuthEventInput): void {
    this.#observer?.(event);
    this.#buffer.push(toValues(event));
    if (this.#buffer.length > this.maxBuffered) {
      this.#dropped += this.#buffer.length - this.maxBuffered;
      this.#buffer.splice(0, this.#buffer.length - this.maxBuffered);
    }
    if (this.#buffer.length >= this.maxBatch) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#flushing = this.#flushing.then(async () => {
      while (this.#buffer.length > 0) {
        const batch = this.#buffer.splice(0, this.maxBatch);
        try {
          await this.deps.store.appendRows('auth_events', COLUMNS, batch, APPEND);
        } catch (error) {
          this.#buffer.unshift(...batch);
          this.deps.onError(error);
          // Retried later (1 s, doubling to 30 s while the database stays away), unless the server
          // is shutting down (the store is going away).
          if (!this.#closed) this.#timer ??= setTimeout(() => void this.flush(), this.#retryMs);
          this.#retryMs = Math.min(30_000, this.#retryMs * 2);
          return;
        }
        this.#retryMs = 1000;
      }
      if (this.#dropped > 0) {
        this.deps.onError(new Error(`${this.#dropped} auth events were dropped while the database was unavailable`));
        this.#dropped = 0;
      }
    });
    return this.#flushing;
  }

  /** Writes what is buffered, once, and schedules no more retries: for shutdown, before the store closes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}

const idTimeOf = (iso: string) => sortableIdTime(Date.parse(iso));

export interface AuthEventQuery {
  keyId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  reason?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Newest first; ids sort by time, so the cursor is the last id of the previous page. */
export async function listAuthEvents(store: Store, query: AuthEventQuery): Promise<{ data: AuthEvent[]; next: string | null }> {
  let select = store.db.selectFrom('auth_events').selectAll();
  if (query.keyId) select = select.where('key_id', '=', query.keyId);
  if (query.outcome) select = select.where('outcome', '=', query.outcome);
  if (query.reason) select = select.where('reason', '=', query.reason);
  // Ids start with their time, so a time range is an id range on the primary key (no extra index to keep up).
  if (query.from) select = select.where('id', '>=', `aev_${idTimeOf(query.from)}`);
  if (query.to) select = select.where('id', '<', `aev_${idTimeOf(query.to)}`);
  if (query.cursor) select = select.where('id', '<', query.cursor);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, (row) => ({
    id: row.id,
    at: row.at,
    keyId: row.key_id,
    keyPrefix: row.key_prefix,
    clientIp: row.client_ip,
    method: row.method,
    path: row.path,
    outcome: row.outcome,
    reason: row.reason,
  }));
}

export async function pruneAuthEvents(store: Store, retentionDays: number): Promise<number> {
  const cutoff = new Date(Date.now() - retentionDays * 86_400_000).toISOString();
  const result = await store.db.deleteFrom('auth_events').where('at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
