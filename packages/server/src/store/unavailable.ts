/**
 * Tells a database that is away (restarting, unreachable, locked by another process) from a fault
 * in our own code. The first is the operator's weather: the request answers a fast
 * `503 store_unavailable` with Retry-After, and the same request succeeds once the database is
 * back. The second stays a 500.
 */

// PostgreSQL SQLSTATE classes and codes that mean "not now", never "never":
// 08 connection exception, 57P01-57P03 admin shutdown / crash shutdown / cannot connect now,
// 53300 too many connections.
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;

// Socket-level failures on the way to PostgreSQL.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

// node-postgres reports a dropped connection or a full pool by message only.
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Query read timeout',
  'Connection terminated due to connection timeout',
];

// SQLite: another process holds the file's lock for longer than busy_timeout (a backup, a migration).
const SQLITE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED']);

export function isStoreUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    if (typeof current !== 'object') return false;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (POSTGRES_UNAVAILABLE.test(code) || NETWORK_CODES.has(code) || SQLITE_CODES.has(code))) return true;
    if (typeof message === 'string' && PG_MESSAGES.some((text) => message.includes(text))) return true;
    // An AggregateError (every address of a host refused) carries its reasons in `errors`.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0 && errors.every((inner) => isStoreUnavailable(inner))) return true;
  }
  return false;
}
