import type { AppContext } from '../context.js';
import { newId } from '../crypto/random.js';
import { HttpError } from '../http/errors.js';
import { isoNow } from '../store/time.js';
import { EventHub } from './hub.js';
import { type EventView, toEventView } from './log.js';
import { likePrefixOf, topicMatches } from './topics.js';

/**
 * Appends one event and returns it with its sequence number, the cursor consumers resume from.
 *
 * Why not an auto-increment (bigserial) id: on PostgreSQL a sequence hands out numbers when rows
 * are inserted, not when they commit. Writer 1 takes 41, writer 2 takes 42 and commits first; a
 * consumer reads 42, stores it as its cursor, and never sees 41 when it commits a moment later.
 * A cursor is only safe if numbers become visible in order. So the number is taken (max + 1) and
 * the row inserted under one transaction-scoped lock (pg_advisory_xact_lock on
 * PostgreSQL, shared by every instance; SQLite has one writer already). The lock is released only
 * after commit, so the next writer's max already includes this row: numbers are gap-free and commit
 * in order, and "everything after N" is a complete answer at any moment. The price is one append
 * at a time per database, which a short insert transaction makes a few hundred microseconds; and
 * publishes that arrive together share one transaction (group commit, `Store.appendEvent`), each
 * answered only once its transaction has committed.
 *
 * The notification wakes every instance's streams when (and only if) the event commits.
 */
export async function publishEvent(
  deps: Pick<AppContext, 'store' | 'config'>,
  input: { topic: string; payload: unknown; publisher: string },
): Promise<EventView> {
  const payload = JSON.stringify(input.payload);
  if (Buffer.byteLength(payload) > deps.config.eventPayloadMaxBytes)
    throw new HttpError(413, 'payload_too_large', `The payload is larger than ${deps.config.eventPayloadMaxBytes} bytes.`);
  const id = newId('evt');
  const publishedAt = isoNow();
  const seq = await deps.store.appendEvent({ id, topic: input.topic, payload, publisher: input.publisher, created_at: publishedAt });
  // The event as the log now holds it (its payload serializes to the text stored), for the hub to dispatch without reading it back.
  return { seq, id, topic: input.topic, payload: input.payload, publishedAt };
}

/** Events after a cursor on any of the patterns, oldest first; `next` is the cursor for the next page. */
export async function readEvents(
  deps: Pick<AppContext, 'store'>,
  query: { patterns: string[]; after: number; limit: number; anyTopic?: boolean },
): Promise<{ data: EventView[]; next: number }> {
  let select = deps.store.db.selectFrom('events').selectAll().where('seq', '>', query.after);
  if (!query.anyTopic) select = select.where((eb) => eb.or(query.patterns.map((pattern) => eb('topic', 'like', likePrefixOf(pattern)))));
  const events = (await select.orderBy('seq').limit(query.limit).execute()).map(toEventView);
  const matching = query.anyTopic ? events : events.filter((event) => query.patterns.some((pattern) => topicMatches(pattern, event.topic)));
  return { data: matching, next: events.at(-1)?.seq ?? query.after };
}

/** The newest sequence number, 0 when the log is empty. */
export async function lastSeq(deps: Pick<AppContext, 'store'>): Promise<number> {
  const row = await deps.store.db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** This instance's hub, reading the log through the functions above. */
export function createEventHub(deps: Pick<AppContext, 'store' | 'logger'>): EventHub {
  return new EventHub({
    store: deps.store,
    logger: deps.logger,
    lastSeq: () => lastSeq(deps),
    readAfter: (after) => readEvents(deps, { patterns: ['*'], after, limit: 500, anyTopic: true }),
  });
}
