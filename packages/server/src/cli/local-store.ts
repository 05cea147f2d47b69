import type { z } from 'zod';
import { loadConfig } from '../config.js';
import { Keyring } from '../crypto/envelope.js';
import { resolveMasterKeys } from '../crypto/master-key.js';
import { loadHashingKey } from '../crypto/secrets.js';
import { openStore, type Store, storeOptionsOf } from '../store/store.js';
import type { Environment } from '../settings.js';

/** The flags that name the store, the same as `start`'s. */
export const storeFlags = {
  dev: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
} as const;

/** Opens the store with the same settings as `start`, for the local commands. */
export async function withStore<T>(
  flags: { dev?: boolean | undefined; 'data-dir'?: string | undefined; 'database-url'?: string | undefined },
  env: Environment,
  work: (deps: { store: Store; hashingKey: Buffer }) => Promise<T>,
): Promise<T> {
  const configArgs = [
    ...(flags.dev ? ['--dev'] : []),
    ...(flags['data-dir'] ? ['--data-dir', flags['data-dir']] : []),
    ...(flags['database-url'] ? ['--database-url', flags['database-url']] : []),
  ];
  const config = loadConfig(configArgs, env);
  const store = await openStore(config.databaseUrl, storeOptionsOf(config));
  try {
    await store.migrate();
    const hashingKey = await loadHashingKey(store, new Keyring(resolveMasterKeys(config).keys));
    return await work({ store, hashingKey });
  } finally {
    await store.close();
  }
}

/** The parsed value, or every problem as `field: message` lines. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> | string {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  return result.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('\n');
}

export function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}
