/** What every remote command shares: its flags, lists with paging, `--file` bodies, JSON output. */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Environment } from '../settings.js';
import type { ApiClient, Query } from './client.js';
import { out, UsageError, warn } from './output.js';
import { type Column, renderTable } from './table.js';

export const remoteFlags = {
  server: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const pageFlags = {
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
} as const;

export const fileFlag = { file: { type: 'string', short: 'f' } } as const;

export interface Page<T> {
  data: T[];
  next: string | null;
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

function limitOf(limit: string | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1) throw new UsageError(`--limit: a whole number of at least 1, not "${limit}".`);
  return Number(limit);
}

/**
 * Lists one page (`--limit`, `--cursor`), or every page with `--all` (following `next`). The human
 * table goes to stdout; the cursor of the next page, when there is one, to stderr.
 */
export async function listCommand<T>(
  api: ApiClient,
  path: string,
  query: Query,
  flags: { limit?: string | undefined; cursor?: string | undefined; all?: boolean | undefined; json?: boolean | undefined },
  columns: readonly Column<T>[],
): Promise<number> {
  const limit = limitOf(flags.limit);
  let cursor = flags.cursor;
  const data: T[] = [];
  let page: Page<T>;
  for (;;) {
    page = (await api.get<Page<T>>(path, { ...query, limit: limit ?? (flags.all ? 100 : undefined), cursor })).body ?? { data: [], next: null };
    data.push(...page.data);
    if (!flags.all || page.next === null || page.next === cursor) break;
    cursor = page.next;
  }
  if (flags.json) {
    printJson(flags.all ? { data, next: null } : page);
    return 0;
  }
  out(renderTable(data, columns));
  if (!flags.all && page.next !== null) warn(`More: add --cursor ${page.next} (or --all for every page).`);
  return 0;
}

/** The JSON object in `--file` (`-` is stdin), or an empty one without the flag. */
export async function readBody(file: string | undefined): Promise<Record<string, unknown>> {
  if (file === undefined) return {};
  let source: string;
  try {
    source = file === '-' ? await text(process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(source);
  } catch (error) {
    throw new UsageError(`--file: ${file === '-' ? 'stdin' : file} is not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new UsageError(`--file: ${file === '-' ? 'stdin' : file} must hold one JSON object.`);
  return body as Record<string, unknown>;
}

/** The body from `--file`, with each flag that was given laid over the field it names. */
export async function bodyOf(file: string | undefined, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  const body = await readBody(file);
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body[name] = value;
  return body;
}

export type Subcommand = (argv: string[], env: Environment) => Promise<number>;

/** `patchbay <group> <action> …`: runs the action, or prints the group's usage. */
export async function dispatch(argv: string[], env: Environment, actions: Record<string, Subcommand>, usage: string): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === 'help' || action === '--help' || action === '-h') {
    out(usage);
    return action === undefined ? 2 : 0;
  }
  const run = Object.hasOwn(actions, action) ? actions[action] : undefined;
  if (!run) throw new UsageError(`Unknown action "${action}".\n\n${usage}`);
  return run(rest, env);
}

/** A one-time secret the API returned on creation: printed once, set apart, with what it is. */
export function printSecretOnce(what: string, secret: string, note: string): void {
  out('');
  out(`${what} (shown only now):`);
  out('');
  out(`  ${secret}`);
  out('');
  out(note);
}

/** DELETE, with `?force=true` when asked; says what was removed (the answer's body, when there is one). */
export async function deleteCommand(
  api: ApiClient,
  path: string,
  values: { force?: boolean | undefined; json?: boolean | undefined },
  what: string,
): Promise<number> {
  const { body } = await api.request('DELETE', path, { query: { force: values.force ? 'true' : undefined } });
  if (values.json) {
    if (body !== undefined) printJson(body);
  } else out(`Deleted ${what}.${body === undefined ? '' : `\n${JSON.stringify(body, null, 2)}`}`);
  return 0;
}
