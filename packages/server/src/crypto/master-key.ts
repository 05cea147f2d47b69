import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ConfigError } from '../settings.js';
import type { MasterKey } from './envelope.js';

/**
 * `PATCHBAY_MASTER_KEY` is one base64 key of 32 bytes, or several as `id:base64,id:base64`
 * (the first encrypts, all decrypt) while a rotation is under way.
 */
export function parseMasterKeys(text: string): MasterKey[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : `k${index + 1}`;
    const key = Buffer.from(colon > 0 ? entry.slice(colon + 1) : entry, 'base64');
    if (key.length !== 32) throw new ConfigError(`PATCHBAY_MASTER_KEY: key "${id}" must be 32 bytes of base64 (openssl rand -base64 32).`);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new ConfigError(`PATCHBAY_MASTER_KEY: key id "${id}" may hold letters, digits, _ and - only.`);
    return { id, key };
  });
  if (keys.length === 0) throw new ConfigError('PATCHBAY_MASTER_KEY is empty.');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError('PATCHBAY_MASTER_KEY: key ids must be unique.');
  return keys;
}

/** The master keys a server runs with, and the file dev mode wrote to make one (null: none written). */
export interface ResolvedMasterKeys {
  keys: MasterKey[];
  generatedPath: string | null;
}

/**
 * The configured keys, or in dev mode (configuration `masterKeys: null`) the data dir's
 * `master.key`, created on first use. Kept out of loading the configuration: reading settings
 * writes nothing, the commands that run the server (start, the operator commands) do.
 */
export function resolveMasterKeys(config: { masterKeys: readonly MasterKey[] | null; dataDir: string }): ResolvedMasterKeys {
  if (config.masterKeys) return { keys: [...config.masterKeys], generatedPath: null };
  const file = path.join(config.dataDir, 'master.key');
  const existing = () => ({ keys: parseMasterKeys(readFileSync(file, 'utf8')).slice(0, 1), generatedPath: null });
  if (existsSync(file)) return existing();
  mkdirSync(config.dataDir, { recursive: true });
  const key = { id: 'dev', key: randomBytes(32) };
  try {
    // `wx`: of two processes starting at once, one writes the key and the other reads it.
    writeFileSync(file, `dev:${key.key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return existing();
    throw error;
  }
  return { keys: [key], generatedPath: file };
}
