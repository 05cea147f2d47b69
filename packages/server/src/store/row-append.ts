/**
 * `Store.appendRows` on SQLite, written as fixed SQL prepared once: it runs for every burst of
 * auth events (one row per keyed request), and Kysely's building and compiling of a many-row insert,
 * which SQLite then re-prepares, cost more than the insert itself.
 */
import type SQLite from 'better-sqlite3';

export const placeholders = (count: number) => `(${Array.from({ length: count }, () => '?').join(', ')})`;

/** Rows per many-row INSERT (9 columns × 32 = 288 parameters). */
const CHUNK = 32;
/** A shorter run of rows sharing their last columns is not worth a statement of its own. */
const MIN_SHARED_RUN = 4;

type Rows = readonly (readonly unknown[])[];

/** Fills `values` with the rows from `from` on, row after row, as many as it holds. */
function flattenInto(values: unknown[], rows: Rows, from: number): unknown[] {
  let at = 0;
  for (let i = from; at < values.length; i++) {
    const row = rows[i]!;
    for (let column = 0; column < row.length; column++) values[at++] = row[column];
  }
  return values;
}

/** How many rows from `from` on (at most `CHUNK`) hold the same values as `rows[from]` in every column from `varying` on. */
function sharedRunAt(rows: Rows, from: number, varying: number): number {
  const first = rows[from]!;
  let end = from + 1;
  for (const last = Math.min(rows.length, from + CHUNK); end < last; end++) {
    const row = rows[end]!;
    let column = varying;
    while (column < row.length && row[column] === first[column]) column++;
    if (column < row.length) break;
  }
  return end - from;
}

/**
 * The appender for one table and column list, `prefix` being its `INSERT INTO "t" ("a", …) VALUES `
 * (store.ts checks the names). Rows go in whole chunks through one many-row
 * statement and the rest one at a time, inside one transaction. With `varying` (the leading columns
 * that differ on every row), a run of neighbouring rows that share every later column is written
 * by a statement that binds those shared values once: binding a value cost as much as inserting
 * it, and the auth events of one client's burst differ only in their id and time.
 */
export function sqliteRowAppender(database: SQLite.Database, prefix: string, columnCount: number, varying?: number): (rows: Rows) => void {
  const row = placeholders(columnCount);
  const chunk = database.prepare(prefix + Array.from({ length: CHUNK }, () => row).join(', '));
  const single = database.prepare(prefix + row);
  // One parameter array per statement, refilled for every chunk: `slice().flat()` cost more per row than binding it.
  const chunkValues: unknown[] = new Array(CHUNK * columnCount);
  const own = varying !== undefined && varying > 0 && varying < columnCount ? varying : null;
  const shared = own === null ? null : sharedRunWriter(database, prefix, columnCount, own);
  /** Rows `from` to `to` that belong to no run: whole chunks through the many-row statement, the rest one by one. */
  const writeMixed = (rows: Rows, from: number, to: number) => {
    for (; from + CHUNK <= to; from += CHUNK) chunk.run(flattenInto(chunkValues, rows, from));
    for (; from < to; from++) single.run(rows[from]);
  };
  return database.transaction((rows: Rows) => {
    // Rows from `mixedFrom` to `next` wait to be written with the many-row statement, so that an odd
    // row before a run does not take the run's rows into its chunk.
    let mixedFrom = 0;
    let next = 0;
    while (next < rows.length) {
      const run = shared ? sharedRunAt(rows, next, own!) : 1;
      if (run >= MIN_SHARED_RUN) {
        writeMixed(rows, mixedFrom, next);
        shared!(rows, next, run);
        mixedFrom = next += run;
        continue;
      }
      next += run;
      if (next - mixedFrom >= CHUNK) {
        writeMixed(rows, mixedFrom, mixedFrom + CHUNK);
        mixedFrom += CHUNK;
      }
    }
    writeMixed(rows, mixedFrom, rows.length);
  });
}

/**
 * Writes `count` rows from `from` on that share their values from column `own` on:
 * `INSERT … SELECT v.column1, …, ?, ? FROM (VALUES (?, …), …) AS v`, the shared values bound first
 * (they come first in the text). One statement per run length, prepared when first needed.
 */
function sharedRunWriter(database: SQLite.Database, prefix: string, columnCount: number, own: number) {
  const insert = prefix.slice(0, -' VALUES '.length);
  const sharedCount = columnCount - own;
  const select = [...Array.from({ length: own }, (_, i) => `v.column${i + 1}`), ...Array.from({ length: sharedCount }, () => '?')].join(', ');
  const ownRow = placeholders(own);
  const statements: (SQLite.Statement | undefined)[] = [];
  const values: unknown[][] = [];
  return (rows: Rows, from: number, count: number) => {
    let statement = statements[count];
    let bound = values[count];
    if (!statement || !bound) {
      const list = Array.from({ length: count }, () => ownRow).join(', ');
      statement = statements[count] = database.prepare(`${insert} SELECT ${select} FROM (VALUES ${list}) AS v`);
      bound = values[count] = new Array<unknown>(sharedCount + count * own);
    }
    const first = rows[from]!;
    let at = 0;
    for (let column = own; column < columnCount; column++) bound[at++] = first[column];
    for (let i = from; i < from + count; i++) {
      const row = rows[i]!;
      for (let column = 0; column < own; column++) bound[at++] = row[column];
    }
    statement.run(bound);
  };
}
