/**
 * The event log's append, per database, written as fixed SQL: it runs for every published event,
 * and Kysely's building and compiling of each statement cost more than the insert itself. The
 * numbering rule (max + 1 under the append lock, committed before the lock is released) is
 * explained in events/service.ts; a batch takes the next numbers in its order, in one transaction.
 */
import type SQLite from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database, EventsTable } from './schema.js';

export type NewEvent = Omit<EventsTable, 'seq'>;

export const EVENTS_APPEND_LOCK = 'events';

/** SQLite: one writer per file already; better-sqlite3 runs the transaction synchronously on Kysely's one connection. */
export function sqliteEventAppender(database: SQLite.Database, db: Kysely<Database>): (events: NewEvent[]) => Promise<number[]> {
  // Prepared on first use: the store opens before migrations have made the table.
  let append: ((events: NewEvent[]) => number[]) | null = null;
  const prepare = () => {
    const last = database.prepare('SELECT max(seq) AS max FROM events');
    const insert = database.prepare('INSERT INTO events (seq, id, topic, payload, publisher, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    return database.transaction((events: NewEvent[]) => {
      const first = Number((last.get() as { max: number | bigint | null }).max ?? 0) + 1;
      events.forEach((event, index) => insert.run(first + index, event.id, event.topic, event.payload, event.publisher, event.created_at));
      return events.map((_event, index) => first + index);
    });
  };
  // Through Kysely's connection: its lock keeps this out of a Kysely transaction open across an await.
  return (events) => db.connection().execute(async () => (append ??= prepare())(events));
}

/** PostgreSQL: the advisory lock orders appends of every instance; the notification wakes their streams on commit. */
export function postgresEventAppender(db: Kysely<Database>, channel: string): (events: NewEvent[]) => Promise<number[]> {
  const lock = CompiledQuery.raw('SELECT pg_advisory_xact_lock(hashtext($1))', [EVENTS_APPEND_LOCK]);
  const last = CompiledQuery.raw('SELECT max(seq) AS max FROM events');
  return (events) =>
    db.transaction().execute(async (trx) => {
      await trx.executeQuery(lock);
      const { rows } = await trx.executeQuery<{ max: string | number | null }>(last);
      const first = Number(rows[0]?.max ?? 0) + 1;
      const values: unknown[] = [];
      const tuples = events.map((event, index) => {
        const at = values.length;
        values.push(first + index, event.id, event.topic, event.payload, event.publisher, event.created_at);
        return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6})`;
      });
      await trx.executeQuery(CompiledQuery.raw(`INSERT INTO events (seq, id, topic, payload, publisher, created_at) VALUES ${tuples.join(', ')}`, values));
      // The payload tells the listeners how far the log now reaches (events/hub.ts skips reading what it dispatched already).
      await trx.executeQuery(CompiledQuery.raw('SELECT pg_notify($1, $2)', [channel, String(first + events.length - 1)]));
      return events.map((_event, index) => first + index);
    });
}
