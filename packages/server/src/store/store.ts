import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CompiledQuery, Kysely, type LogEvent, sql, SqliteDialect, type Transaction } from 'kysely';
import { OwnSchemaPostgresDialect } from './pg-introspector.js';
import SQLite from 'better-sqlite3';
import type { Database } from './schema.js';
import { migrateToLatest, pendingMigrations } from './migrations.js';
import { EVENTS_CHANNEL } from '../events/log.js';
import { type NewEvent, postgresEventAppender, sqliteEventAppender } from './event-append.js';
import { GroupCommit } from './group-commit.js';
import { sqliteRowAppender } from './row-append.js';

/**
 * The one storage seam. Services write portable Kysely queries against `db`; everything that
 * differs between SQLite and PostgreSQL (connection, pragmas, locking) stays in this file.
 */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Inside a transaction, waits until no other transaction (on any instance) holds the same lock,
   * until commit: one tenant's commits of an integration take turns on its install (installs/service.ts).
   */
  lock(trx: Transaction<Database>, name: string): Promise<void>;
  /**
   * Calls `onNotify` each time any instance commits a change announced on `channel` (appendEvent
   * does, with the last sequence number it committed as the payload), and with no payload after
   * the listening connection came back from an outage (anything may have been missed); resolves
   * to a stop function.
   */
  listen(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>>;
  /**
   * Appends rows, given as values in `columns` order, all or none. For the append-only logs written
   * on every request (auth events): the statements are fixed text, prepared once on SQLite (Kysely
   * builds, compiles and SQLite re-prepares a many-row insert on each call, which cost more than
   * the insert itself), one parameterized multi-row INSERT per round trip on PostgreSQL.
   */
  appendRows<T extends keyof Database & string, const C extends readonly (keyof Database[T] & string)[]>(
    table: T,
    columns: C,
    rows: readonly RowValues<Database[T], C>[],
    options?: AppendOptions,
  ): Promise<void>;
  /**
   * Appends one event to the log and resolves to its sequence number once committed, with the
   * numbering of events/service.ts; appends that arrive together are committed together.
   */
  appendEvent(event: NewEvent): Promise<number>;
  migrate(): Promise<string[]>;
  /** Migrations not applied yet; throws when the database cannot be reached (readiness). */
  pendingMigrations(): Promise<string[]>;
  /** Sees every statement run through `db` with its duration (metrics); null stops it. */
  observeQueries(observer: QueryObserver | null): void;
  /** PostgreSQL: the pool's connections now; SQLite has no pool. */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** SQLite: refresh planner statistics now (also done at open and hourly). PostgreSQL's autovacuum does this itself. */
  optimize?(): Promise<void>;
  close(): Promise<void>;
}

export class UnsupportedDatabaseError extends Error {}

export type QueryObserver = (sql: string, durationMs: number) => void;

/** Kysely's `log` hook, fixed when the Kysely instance is made, forwarding to an observer set later. */
function queryLog() {
  let observer: QueryObserver | null = null;
  return {
    log: (event: LogEvent) => observer?.(event.query.sql, event.queryDurationMillis),
    observe: (next: QueryObserver | null) => {
      observer = next;
    },
  };
}

export interface AppendOptions {
  /**
   * How many leading columns differ from row to row, when neighbouring rows often hold the same
   * values in all the others (one client's burst of auth events): SQLite then binds those once per run.
   */
  varying?: number;
}

/** One row for `appendRows`: the values of `C`'s columns, in that order. */
export type RowValues<Row, C extends readonly (keyof Row)[]> = { -readonly [I in keyof C]: Row[C[I]] };

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** `INSERT INTO "table" ("a", "b") VALUES ` for `appendRows`; the names come from code, checked all the same. */
function insertPrefix(table: string, columns: readonly string[]): string {
  for (const name of [table, ...columns]) if (!IDENTIFIER.test(name)) throw new UnsupportedDatabaseError(`Invalid identifier "${name}".`);
  return `INSERT INTO "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) VALUES `;
}

/** The store settings from a Config (kept here so every caller opens the store the same way). */
export function storeOptionsOf(config: { dbPoolSize: number; dbStatementTimeoutMs: number; dbSchema: string | null }): StoreOptions {
  return { poolSize: config.dbPoolSize, statementTimeoutMs: config.dbStatementTimeoutMs, ...(config.dbSchema ? { schema: config.dbSchema } : {}) };
}

export interface StoreOptions {
  /** PostgreSQL pool size (connections per server instance). */
  poolSize?: number;
  /** PostgreSQL statement timeout, so a stuck query cannot hold a request forever. */
  statementTimeoutMs?: number;
  /** PostgreSQL schema to use (tests give each run its own); created when missing. */
  schema?: string;
}

export async function openStore(databaseUrl: string, options: StoreOptions = {}): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return openPostgresStore(databaseUrl, options);
  throw new UnsupportedDatabaseError(`Unsupported DATABASE_URL scheme in "${databaseUrl.split(':')[0]}:"; use sqlite:<file>.`);
}

/** How long a SQLite write waits for another process's lock before failing (answered 503 store_unavailable). */
const LOCK_WAIT_MS = 5000;
/** The same for the background batches of `appendRows`, which retry instead. */
const BATCH_LOCK_WAIT_MS = 100;

function openSqliteStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SQLite(file);
  // WAL lets readers run beside the writer; busy_timeout makes a second process wait instead of failing.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
  database.pragma('foreign_keys = ON');
  // Planner statistics: without them SQLite answers a tag search by scanning every install of the
  // integration (~1 ms per 1 000 installs) instead of starting from the tag index. `optimize`
  // analyzes only what changed enough; at open (0x10002, bounded work) and then hourly.
  const optimize = (mask = '') => {
    try {
      database.pragma(`optimize${mask}`);
    } catch {
      // statistics are an optimisation; a busy database just skips this round
    }
  };
  optimize('=0x10002');
  const optimizer = setInterval(() => optimize(), 3_600_000);
  optimizer.unref();
  const queries = queryLog();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }), log: queries.log });
  const appenders = new Map<string, (rows: readonly (readonly unknown[])[]) => void>();
  const appenderFor = (table: string, columns: readonly string[], varying: number | undefined) => {
    const shape = `${table}(${columns.join(',')})/${varying ?? 0}`;
    let append = appenders.get(shape);
    if (!append) appenders.set(shape, (append = sqliteRowAppender(database, insertPrefix(table, columns), columns.length, varying)));
    return append;
  };
  /**
   * Appended rows are background batches (auth events, the request log) whose writers retry a
   * failed batch later. better-sqlite3 waits for another process's lock synchronously, stopping
   * the whole event loop: with the usual 5 s wait, a file held by a backup tool froze every request
   * for 5 s per batch and retry. These writes wait briefly instead (a CLI command's write is over
   * by then), then fail and are retried.
   */
  const withShortLockWait = <T>(write: () => T): T => {
    database.pragma(`busy_timeout = ${BATCH_LOCK_WAIT_MS}`);
    try {
      return write();
    } finally {
      database.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    }
  };
  const events = new GroupCommit(sqliteEventAppender(database, db));
  return {
    db,
    dialect: 'sqlite',
    appendEvent: (event) => events.add(event),
    async appendRows(table, columns, rows, options) {
      if (rows.length === 0) return;
      const append = appenderFor(table, columns, options?.varying);
      // Through Kysely's one connection: its lock keeps this out of a Kysely transaction that is
      // open across an await (the rows would otherwise join it, and go if it rolled back).
      await db.connection().execute(async () => withShortLockWait(() => append(rows)));
    },
    // One SQLite file has one writer at a time, and this process's Kysely connection runs one
    // transaction at a time: transactions already take turns.
    lock: async () => undefined,
    // One process per SQLite file: there is no other instance to wake.
    listen: async () => async () => undefined,
    migrate: () => migrateSqliteExclusively(database, db),
    pendingMigrations: () => pendingMigrations(db),
    observeQueries: queries.observe,
    /** Re-reads planner statistics where the data changed enough (the hourly job, on demand). */
    optimize: async () => optimize(),
    close: async () => {
      clearInterval(optimizer);
      optimize();
      await db.destroy();
    },
  };
}

/** Distinct statement texts kept prepared; the queries in code are a few hundred at most. */
const PREPARED_STATEMENTS = 1000;
/**
 * Longer texts are prepared for the one call: the queries written in code are shorter, and a longer
 * one is built for its data (a many-row insert, a long IN list), so each size would hold a large
 * prepared statement in the cache that nothing reuses.
 */
const CACHED_TEXT_CHARS = 4096;

/**
 * Kysely hands every query to `prepare`, and better-sqlite3 parses and plans the SQL anew each
 * time: that was most of a hot query's cost. The same text reuses one prepared statement (safe on
 * the store's one connection, where Kysely runs one statement at a time; SQLite re-prepares a
 * statement itself after a schema change).
 */
function withStatementCache(database: SQLite.Database): Pick<SQLite.Database, 'prepare' | 'close'> {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(text: string) {
      if (text.length > CACHED_TEXT_CHARS) return database.prepare(text);
      let statement = statements.get(text);
      if (!statement) {
        statement = database.prepare(text);
        if (statements.size >= PREPARED_STATEMENTS) statements.delete(statements.keys().next().value!);
        statements.set(text, statement);
      }
      return statement;
    },
    close: () => database.close(),
  } as Pick<SQLite.Database, 'prepare' | 'close'>;
}

/**
 * Kysely runs SQLite migrations with no transaction and no lock, so two processes migrating one
 * file at once both apply the same migration ("table … already exists"). Here the whole run is one
 * BEGIN IMMEDIATE transaction on the store's only connection: a second process waits for the write
 * lock, then finds the migrations recorded; a migration that fails leaves nothing behind.
 */
async function migrateSqliteExclusively(database: SQLite.Database, db: Kysely<Database>): Promise<string[]> {
  database.pragma('busy_timeout = 60000');
  try {
    database.exec('BEGIN IMMEDIATE');
    try {
      const applied = await migrateToLatest(db);
      database.exec('COMMIT');
      return applied;
    } catch (error) {
      if (database.inTransaction) database.exec('ROLLBACK');
      throw error;
    }
  } finally {
    database.pragma('busy_timeout = 5000');
  }
}

async function openPostgresStore(databaseUrl: string, options: StoreOptions): Promise<Store> {
  // pg is loaded only when PostgreSQL is configured: the SQLite default needs nothing else.
  const { default: pg } = await import('pg');
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new UnsupportedDatabaseError(`Invalid schema name "${schema}".`);
  if (schema) {
    const setup = new pg.Client({ connectionString: databaseUrl });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (error) {
      // Two processes creating the schema at once: IF NOT EXISTS can still lose the race on the
      // catalog's unique index. The schema exists then, which is all that was asked.
      const exists = await setup.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount !== 1) throw error;
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
    // While the database is away a request waits at most this long for a connection, then answers
    // 503 store_unavailable (store/unavailable.ts) instead of hanging.
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    // The client-side bound for a connection that died silently mid-query (no RST, no answer).
    query_timeout: (options.statementTimeoutMs ?? 15_000) + 5_000,
    keepAlive: true,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one between two queries of a transaction: node-postgres emits its
  // socket error as an 'error' event then, which would end the process without a listener. The
  // next query on it fails instead (and is answered 503), and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const queries = queryLog();
  const db = new Kysely<Database>({ dialect: new OwnSchemaPostgresDialect({ pool }), log: queries.log });
  const listenChannel = (channel: string) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new UnsupportedDatabaseError(`Invalid channel name "${channel}".`);
    return channel;
  };
  const events = new GroupCommit(postgresEventAppender(db, EVENTS_CHANNEL));
  return {
    db,
    dialect: 'postgres',
    appendEvent: (event) => events.add(event),
    async appendRows(table, columns, rows) {
      if (rows.length === 0) return;
      const prefix = insertPrefix(table, columns);
      // PostgreSQL takes at most 65 535 parameters per statement; more rows than that go in several
      // statements of one transaction.
      const perStatement = Math.floor(65_535 / columns.length);
      const statements: CompiledQuery[] = [];
      for (let start = 0; start < rows.length; start += perStatement) {
        const slice = rows.slice(start, start + perStatement);
        let parameter = 0;
        const values = slice.map(() => `(${columns.map(() => `$${++parameter}`).join(', ')})`).join(', ');
        statements.push(CompiledQuery.raw(prefix + values, slice.flat()));
      }
      if (statements.length === 1) {
        await db.executeQuery(statements[0]!);
        return;
      }
      await db.transaction().execute(async (trx) => {
        for (const statement of statements) await trx.executeQuery(statement);
      });
    },
    async lock(trx, name) {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${name}))`.execute(trx);
    },
    async listen(channel, onNotify) {
      // A dedicated connection: LISTEN belongs to a session, and pooled ones come and go.
      let client: InstanceType<typeof pg.Client> | null = null;
      let stopped = false;
      const connect = async (): Promise<void> => {
        const next = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
        next.on('notification', (message) => onNotify(message.payload));
        next.on('error', () => {
          if (client === next) client = null;
          void next.end().catch(() => undefined);
          reconnect(1);
        });
        try {
          await next.connect();
          await next.query(`LISTEN ${listenChannel(channel)}`);
        } catch (error) {
          await next.end().catch(() => undefined);
          throw error;
        }
        if (stopped) await next.end().catch(() => undefined);
        else client = next;
      };
      // After a dropped connection, keep trying (1 s, 2 s, … up to 30 s) for as long as the database
      // is away; once back, wake the listener: it re-reads whatever it missed meanwhile.
      const reconnect = (attempt: number) => {
        if (stopped) return;
        setTimeout(
          () =>
            void connect().then(
              () => onNotify(),
              () => reconnect(attempt + 1),
            ),
          Math.min(30_000, 1000 * 2 ** (attempt - 1)),
        ).unref();
      };
      await connect();
      return async () => {
        stopped = true;
        await client?.end().catch(() => undefined);
      };
    },
    // Kysely's migrator takes a PostgreSQL advisory lock, so several instances can migrate at once.
    migrate: () => migrateToLatest(db, schema),
    pendingMigrations: () => pendingMigrations(db, schema),
    observeQueries: queries.observe,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}
