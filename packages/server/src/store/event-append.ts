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

/**
 * PostgreSQL: the advisory lock orders appends of every instance; the notification wakes their
 * streams on commit. Three round trips per batch, not six: BEGIN and the lock go as one simple
 * query; the numbering, the insert and the notification are one statement; then COMMIT. The
 * numbering reads `max(seq)` in a statement after the one that took the lock, so under READ
 * COMMITTED it sees every append committed before the lock was granted (a statement's snapshot is
 * taken when it starts; one that took the lock itself would have read an older log).
 */
export function postgresEventAppender(db: Kysely<Database>, channel: string): (events: NewEvent[]) => Promise<number[]> {
  // The lock's key is a constant of this file, not input, so it is written into the SQL.
  const beginLocked = CompiledQuery.raw(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('${EVENTS_APPEND_LOCK}'))`);
  const commit = CompiledQuery.raw('COMMIT');
  const rollback = CompiledQuery.raw('ROLLBACK');
  return (events) =>
    db.connection().execute(async (connection) => {
      await connection.executeQuery(beginLocked);
      try {
        const values: unknown[] = [channel];
        const tuples = events.map((event, index) => {
          const at = values.length;
          values.push(index + 1, event.id, event.topic, event.payload, event.publisher, event.created_at);
          return `($${at + 1}::int, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6})`;
        });
        // The payload tells the listeners how far the log now reaches (events/hub.ts skips reading what it dispatched already).
        const { rows } = await connection.executeQuery<{ first: string | number }>(
          CompiledQuery.raw(
            `WITH appended AS (
               INSERT INTO events (seq, id, topic, payload, publisher, created_at)
               SELECT last.max + v.ord, v.id, v.topic, v.payload, v.publisher, v.created_at
               FROM (SELECT coalesce(max(seq), 0) AS max FROM events) AS last,
                    (VALUES ${tuples.join(', ')}) AS v (ord, id, topic, payload, publisher, created_at)
               RETURNING seq
             )
             SELECT min(seq) AS first, pg_notify($1, max(seq)::text) FROM appended`,
            values,
          ),
        );
        await connection.executeQuery(commit);
        const first = Number(rows[0]!.first);
        return events.map((_event, index) => first + index);
      } catch (error) {
        // The connection goes back to the pool: it must not stay inside the failed transaction.
        await connection.executeQuery(rollback).catch(() => undefined);
        throw error;
      }
    });
}
