/**
 * The `patchbay` command. Two kinds of commands:
 * - local ones (start, migrate, keys, auth-events, master-key) run the server or work on its store
 *   directly, because they must work before any access key exists;
 * - remote ones (connectors, integrations, connections, installs, partners, audit, events, webhooks) are
 *   clients of a running server's API, so every change is authorized by the key's scopes and
 *   tenant, audited under its identity, and sees what the server sees (its runtime catalog, every
 *   instance's database).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';
import { DeclarationsError } from '../declarations.js';
import { HttpError } from '../http/errors.js';
import type { Environment } from '../settings.js';
import { ApiError, ServerUnreachable } from './client.js';
import { out, UsageError } from './output.js';
import type { Subcommand } from './remote.js';
import { USAGE } from './usage.js';

/**
 * Each command loads its module when it runs, not before: a remote command (a small HTTP client)
 * then starts without loading Express, Kysely, the SQLite driver and the rest, and `start` without
 * the other commands' clients and tables.
 */
const lazy =
  (load: () => Promise<Subcommand>): Subcommand =>
  async (args, env) =>
    (await load())(args, env);

const COMMANDS: Record<string, Subcommand> = {
  // bin/patchbay.js runs `start` from its own bundle, and sizes the heap for a server before that bundle loads.
  start: lazy(async () => (await import('./server.js')).start),
  migrate: lazy(async () => (await import('./server.js')).migrate),
  keys: lazy(async () => (await import('./keys.js')).keys),
  'auth-events': lazy(async () => (await import('./keys.js')).authEvents),
  'master-key': async () => {
    out(randomBytes(32).toString('base64'));
    return 0;
  },
  connectors: lazy(async () => (await import('./connectors.js')).connectors),
  integrations: lazy(async () => (await import('./integrations.js')).integrations),
  connections: lazy(async () => (await import('./connections.js')).connections),
  installs: lazy(async () => (await import('./installs.js')).installs),
  partners: lazy(async () => (await import('./partners.js')).partners),
  audit: lazy(async () => (await import('./audit.js')).audit),
  events: lazy(async () => (await import('./events.js')).events),
  webhooks: lazy(async () => (await import('./webhooks.js')).webhooks),
};

/** The CLI's entry point; answers the exit code. The only place that reads process.env. */
export async function main(argv: string[], env: Environment = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command === undefined ? 1 : 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest, env);
  } catch (error) {
    // Bad flags and bad settings are usage errors (exit 2) with the reason, not a stack trace.
    const usage = error instanceof UsageError || error instanceof ConfigError || String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    if (usage) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 2;
    }
    if (error instanceof ApiError) {
      process.stderr.write(`error: ${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ServerUnreachable) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    // A declaration the server could not honour: one line each, no stack trace.
    if (error instanceof DeclarationsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof HttpError && error.expose) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
