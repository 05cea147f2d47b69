import type { Store } from '../store/store.js';
import { HttpError } from '../http/errors.js';

/** Rows per delete: short statements, so a publish (and on SQLite, any write) waits at most one batch. */
const BATCH = 1000;

/**
 * Deletes events older than `maxAgeDays` and beyond the newest `maxCount`, oldest first, in small
 * batches with a pause between them. The newest event is never deleted: the next number is
 * max(seq) + 1, and an emptied log would start again at 1 under every reader's cursor. Since
 * numbers are gap-free from 1 and only a prefix is ever deleted, "the oldest kept" tells any
 * reader whether its cursor still points into the log.
 */
export async function pruneEvents(store: Store, options: { maxAgeDays: number; maxCount: number; batch?: number }): Promise<number> {
  const newest = await store.db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  const max = Number(newest?.max ?? 0);
  if (max <= 1) return 0;
  const cutoff = new Date(Date.now() - options.maxAgeDays * 86_400_000).toISOString();
  const aged = await store.db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('max'))
    .where('created_at', '<', cutoff)
    .executeTakeFirst();
  const upTo = Math.min(max - 1, Math.max(max - options.maxCount, Number(aged?.max ?? 0)));
  let deleted = 0;
  for (;;) {
    const batch = await store.db
      .deleteFrom('events')
      .where('seq', 'in', (eb) =>
        eb
          .selectFrom('events')
          .select('seq')
          .where('seq', '<=', upTo)
          .orderBy('seq')
          .limit(options.batch ?? BATCH),
      )
      .executeTakeFirst();
    const count = Number(batch.numDeletedRows);
    deleted += count;
    if (count === 0) return deleted;
    // Lets publishes and reads in between: housekeeping never holds the log for long.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The oldest event still kept (0 when the log is empty). */
export async function oldestSeq(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('events')
    .select((eb) => eb.fn.min('seq').as('min'))
    .executeTakeFirst();
  return Number(row?.min ?? 0);
}

/**
 * A cursor from before the oldest kept event (events after it were deleted by retention): 410
 * with the oldest kept, so the reader can decide to continue from there, knowing it missed some.
 */
export async function assertCursorKept(store: Store, after: number): Promise<void> {
  const oldest = await oldestSeq(store);
  if (oldest > 1 && after + 1 < oldest) {
    throw new HttpError(
      410,
      'cursor_expired',
      `Events after ${after} are no longer kept; the oldest kept is ${oldest}: continue with after=${oldest - 1} (or Last-Event-ID: ${oldest - 1}).`,
    );
  }
}
