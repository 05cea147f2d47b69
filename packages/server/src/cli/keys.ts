/** `patchbay keys …` and `patchbay auth-events`: local, straight on the store, so the first admin key can be made before any key exists. */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { listAuthEvents } from '../keys/auth-events.js';
import { createKeySchema, listAuthEventsSchema, rollKeySchema } from '../keys/schema.js';
import { type AccessKeyRecord, createAccessKey, listAccessKeys, rollAccessKey, setAccessKeyActive } from '../keys/service.js';
import type { Environment } from '../settings.js';
import { fail, parseWith, storeFlags, withStore } from './local-store.js';
import { isoOrInvalid, out } from './output.js';

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

function printNewKey(key: string) {
  out('');
  out(`  ${key}`);
  out('');
  out('This is the only time the key is shown. Store it in your secret manager now.');
}

export async function keys(argv: string[], env: Environment): Promise<number> {
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
      return withStore(values, env, async (deps) => {
        const { key, record } = await createAccessKey(deps, { ...input, actor: 'cli' });
        out(`Created access key ${record.id} (${record.name}), scopes: ${record.scopes.join(' ')}`);
        printNewKey(key);
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
      return withStore(values, env, async (deps) => {
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
      return withStore(values, env, async (deps) => {
        printKey(await setAccessKeyActive(deps, positionals[0]!, action === 'reactivate', 'cli'));
        return 0;
      });
    }
    case 'roll': {
      const { values, positionals } = parseArgs({ args: rest, options: { grace: { type: 'string' }, ...storeFlags }, allowPositionals: true, strict: true });
      if (positionals.length !== 1) return fail('Usage: patchbay keys roll <key id> [--grace SECONDS]');
      const grace = parseWith(rollKeySchema, { gracePeriodSeconds: values.grace === undefined ? undefined : Number(values.grace) });
      if (typeof grace === 'string') return fail(grace);
      return withStore(values, env, async (deps) => {
        const { key, record, previous } = await rollAccessKey(deps, positionals[0]!, grace.gracePeriodSeconds, 'cli');
        out(`Rolled ${previous.id} (${previous.name}); it works until ${previous.expiresAt}.`);
        out(`New key ${record.id} (${record.name}):`);
        printNewKey(key);
        return 0;
      });
    }
    default:
      return fail('Usage: patchbay keys create|list|inactivate|reactivate|roll …');
  }
}

export async function authEvents(argv: string[], env: Environment): Promise<number> {
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
  return withStore(values, env, async ({ store }) => {
    const page = await listAuthEvents(store, query);
    out(['at', 'outcome', 'reason', 'key', 'ip', 'method', 'path'].join('\t'));
    for (const event of page.data)
      out([event.at, event.outcome, event.reason ?? '-', event.keyPrefix ?? event.keyId ?? '-', event.clientIp ?? '-', event.method, event.path].join('\t'));
    return 0;
  });
}
