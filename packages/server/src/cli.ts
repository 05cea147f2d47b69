import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { DeclarationsError } from './declarations.js';
import { Keyring } from './crypto/envelope.js';
import { resolveMasterKeys } from './crypto/master-key.js';
import { loadHashingKey } from './crypto/secrets.js';
import { z } from 'zod';
import { HttpError } from './http/errors.js';
import { listAuthEvents } from './keys/auth-events.js';
import { createKeySchema, listAuthEventsSchema, rollKeySchema } from './keys/schema.js';
import { SCOPE_NAMES } from './keys/scopes.js';
import { type AccessKeyRecord, createAccessKey, listAccessKeys, rollAccessKey, setAccessKeyActive } from './keys/service.js';
import { createPatchbay, listen } from './runtime.js';
import { startFlagsUsage, startHelp } from './settings-help.js';
import { openStore, type Store, storeOptionsOf } from './store/store.js';

const USAGE = `patchbay — the Patchbay companion server

Usage:
  patchbay start ${startFlagsUsage()}
  patchbay start --help                              (every setting: flag, environment variable, default)
  patchbay migrate [--data-dir DIR]
  patchbay keys create --name NAME [--scope SCOPE ...] [--tenant TENANT] [--ip CIDR ...] [--expires ISO-DATE] [--description TEXT]
  patchbay keys list [--search TEXT] [--inactive]
  patchbay keys inactivate|reactivate <key id>
  patchbay keys roll <key id> [--grace SECONDS]      (0 = old key stops now; at most 604800)
  patchbay auth-events [--key ID] [--outcome success|failure] [--reason CODE] [--from ISO] [--to ISO] [--limit N]
  patchbay master-key

Settings come from flags or the environment (PATCHBAY_MASTER_KEY, PORT, DATABASE_URL, PATCHBAY_…):
see patchbay start --help. --dev (or PATCHBAY_DEV=1) runs the demo on loopback.
Scopes: ${SCOPE_NAMES.join(', ')} (read-only = every read scope).
Operator commands take --data-dir / --database-url / --dev like start.`;

function out(text: string) {
  process.stdout.write(`${text}\n`);
}

/** The CLI's entry point; answers the exit code. The only place that reads process.env. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest);
      case 'migrate':
        return await migrate(rest);
      case 'keys':
        return await keys(rest);
      case 'auth-events':
        return await authEvents(rest);
      case 'master-key':
        out(randomBytes(32).toString('base64'));
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    // Bad flags and bad settings are usage errors (exit 2) with the reason, not a stack trace.
    const usage = error instanceof ConfigError || String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    if (usage) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 2;
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

async function start(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(startHelp());
    return 0;
  }
  const config = loadConfig(argv, process.env);
  const patchbay = await createPatchbay(config);
  const server = await listen(patchbay, config);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  patchbay.ctx.logger.info({ url: config.publicUrl, port, dev: config.dev }, 'patchbay is listening');
  if (config.dev && process.stdout.isTTY) out(`\n  Patchbay demo: ${config.publicUrl}/demo\n`);
  return await new Promise<number>(() => {});
}

async function migrate(argv: string[]): Promise<number> {
  const config = loadConfig(argv, process.env);
  const store = await openStore(config.databaseUrl, storeOptionsOf(config));
  const applied = await store.migrate();
  await store.close();
  out(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  return 0;
}

/** Opens the store with the same settings as `start`, for the operator's commands. */
async function withStore<T>(
  flags: { dev?: boolean | undefined; 'data-dir'?: string | undefined; 'database-url'?: string | undefined },
  work: (deps: { store: Store; hashingKey: Buffer }) => Promise<T>,
): Promise<T> {
  const configArgs = [
    ...(flags.dev ? ['--dev'] : []),
    ...(flags['data-dir'] ? ['--data-dir', flags['data-dir']] : []),
    ...(flags['database-url'] ? ['--database-url', flags['database-url']] : []),
  ];
  const config = loadConfig(configArgs, process.env);
  const store = await openStore(config.databaseUrl, storeOptionsOf(config));
  try {
    await store.migrate();
    const hashingKey = await loadHashingKey(store, new Keyring(resolveMasterKeys(config).keys));
    return await work({ store, hashingKey });
  } finally {
    await store.close();
  }
}

const storeFlags = {
  dev: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
} as const;

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

function printKey(record: AccessKeyRecord) {
  const state = record.active ? (record.expiresAt && Date.parse(record.expiresAt) <= Date.now() ? 'expired' : 'active') : 'inactive';
  out(
    [
      record.id,
      record.name,
      `${record.keyPrefix}…`,
      state,
      record.scopes.join(','),
      record.tenantId ?? '-',
      record.ipAllowlist?.join(',') ?? '-',
      record.expiresAt ?? '-',
      record.lastAuthenticatedAt ?? 'never',
    ].join('\t'),
  );
}

/** A date as ISO, or the text unchanged so validation names it. */
function isoOrInvalid(text: string): string {
  const time = Date.parse(text);
  return Number.isNaN(time) ? text : new Date(time).toISOString();
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> | string {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  return result.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('\n');
}

async function keys(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  switch (action) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        options: {
          name: { type: 'string' },
          description: { type: 'string' },
          scope: { type: 'string', multiple: true },
          tenant: { type: 'string' },
          ip: { type: 'string', multiple: true },
          expires: { type: 'string' },
          ...storeFlags,
        },
        strict: true,
      });
      const input = parseWith(createKeySchema, {
        name: values.name,
        description: values.description,
        scopes: values.scope ?? ['sessions:write', 'installs:read', 'installs:write'],
        tenantId: values.tenant,
        ipAllowlist: values.ip,
        expiresAt: values.expires ? isoOrInvalid(values.expires) : undefined,
      });
      if (typeof input === 'string') return fail(input);
      return withStore(values, async (deps) => {
        const { key, record } = await createAccessKey(deps, { ...input, actor: 'cli' });
        out(`Created access key ${record.id} (${record.name}), scopes: ${record.scopes.join(' ')}`);
        out('');
        out(`  ${key}`);
        out('');
        out('This is the only time the key is shown. Store it in your secret manager now.');
        return 0;
      });
    }
    case 'list': {
      const { values } = parseArgs({
        args: rest,
        options: { search: { type: 'string' }, inactive: { type: 'boolean' }, limit: { type: 'string' }, ...storeFlags },
        strict: true,
      });
      const limit = parseWith(z.coerce.number().int().min(1).max(100), values.limit ?? '100');
      if (typeof limit === 'string') return fail(`--limit: ${limit}`);
      return withStore(values, async (deps) => {
        const page = await listAccessKeys(deps, { search: values.search, active: values.inactive ? false : undefined, limit });
        out(['id', 'name', 'prefix', 'state', 'scopes', 'tenant', 'ip', 'expires', 'last used'].join('\t'));
        page.data.forEach(printKey);
        return 0;
      });
    }
    case 'inactivate':
    case 'reactivate': {
      const { values, positionals } = parseArgs({ args: rest, options: storeFlags, allowPositionals: true, strict: true });
      if (positionals.length !== 1) return fail(`Usage: patchbay keys ${action} <key id>`);
      return withStore(values, async (deps) => {
        printKey(await setAccessKeyActive(deps, positionals[0]!, action === 'reactivate', 'cli'));
        return 0;
      });
    }
    case 'roll': {
      const { values, positionals } = parseArgs({ args: rest, options: { grace: { type: 'string' }, ...storeFlags }, allowPositionals: true, strict: true });
      if (positionals.length !== 1) return fail('Usage: patchbay keys roll <key id> [--grace SECONDS]');
      const grace = parseWith(rollKeySchema, { gracePeriodSeconds: values.grace === undefined ? undefined : Number(values.grace) });
      if (typeof grace === 'string') return fail(grace);
      return withStore(values, async (deps) => {
        const { key, record, previous } = await rollAccessKey(deps, positionals[0]!, grace.gracePeriodSeconds, 'cli');
        out(`Rolled ${previous.id} (${previous.name}); it works until ${previous.expiresAt}.`);
        out(`New key ${record.id} (${record.name}):`);
        out('');
        out(`  ${key}`);
        out('');
        out('This is the only time the key is shown. Store it in your secret manager now.');
        return 0;
      });
    }
    default:
      return fail('Usage: patchbay keys create|list|inactivate|reactivate|roll …');
  }
}

async function authEvents(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      key: { type: 'string' },
      outcome: { type: 'string' },
      reason: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      ...storeFlags,
    },
    strict: true,
  });
  const query = parseWith(listAuthEventsSchema, {
    keyId: values.key,
    outcome: values.outcome,
    reason: values.reason,
    from: values.from,
    to: values.to,
    limit: values.limit ?? '50',
  });
  if (typeof query === 'string') return fail(query);
  return withStore(values, async ({ store }) => {
    const page = await listAuthEvents(store, query);
    out(['at', 'outcome', 'reason', 'key', 'ip', 'method', 'path'].join('\t'));
    for (const event of page.data)
      out([event.at, event.outcome, event.reason ?? '-', event.keyPrefix ?? event.keyId ?? '-', event.clientIp ?? '-', event.method, event.path].join('\t'));
    return 0;
  });
}
