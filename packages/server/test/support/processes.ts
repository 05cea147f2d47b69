/**
 * Real Patchbay processes for tests that need more than one server, a crash or a signal: each runs
 * `patchbay start` (from the sources, through tsx) on its own loopback port, against a database
 * the test names — a SQLite file or a PostgreSQL schema several processes share.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '../../src/crypto/envelope.js';
import { loadHashingKey } from '../../src/crypto/secrets.js';
import { parseMasterKeys } from '../../src/config.js';
import { createAccessKey, type Scope } from '../../src/keys/service.js';
import { openStore, type Store } from '../../src/store/store.js';
import { dropTestSchema } from './harness.js';

/**
 * How a test runs `patchbay …`: the compiled CLI, as users run it (`npm test` and the server's
 * `npm test` build first); a spawn then costs a third of what transpiling the sources does.
 * PATCHBAY_TEST_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (no build needed).
 */
const CLI =
  process.env.PATCHBAY_TEST_FROM_SOURCE === '1'
    ? // Through ../../test/ so the path holds from test/ and from its compiled copy (scripts/compile-tests.js).
      ['--import', 'tsx', fileURLToPath(new URL('../../test/support/patchbay-cli.ts', import.meta.url))]
    : [fileURLToPath(new URL('../../bin/patchbay.js', import.meta.url))];
const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** The PostgreSQL URL for tests, or undefined. */
export const POSTGRES_URL = process.env.PATCHBAY_TEST_DATABASE_URL || undefined;

/**
 * The store this run of the suite tests: PostgreSQL when PATCHBAY_TEST_DATABASE_URL is set, else a
 * SQLite file. `npm test` runs the suite once for each, so a test made of real processes runs on one
 * store per run (never twice, never skipped) and a test for one store only is registered in its run.
 */
export const STORE_UNDER_TEST: 'sqlite' | 'postgres' = POSTGRES_URL ? 'postgres' : 'sqlite';
export const STORE_LABEL = STORE_UNDER_TEST === 'postgres' ? 'PostgreSQL' : 'SQLite file';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The child's environment: this process's, without any Patchbay setting it might have inherited. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(PATCHBAY_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(name)) env[name] = value;
  }
  return env;
}

/** One database every process of a test shares: its settings, a store handle for the test's own checks, and cleanup. */
export interface SharedDatabase {
  kind: 'sqlite' | 'postgres';
  /** DATABASE_URL, PATCHBAY_DB_SCHEMA, PATCHBAY_DATA_DIR and the shared PATCHBAY_MASTER_KEY. */
  env: Record<string, string>;
  dataDir: string;
  /** Opens (and migrates) a store on the same database, as an operator's tool would. */
  open(): Promise<Store>;
  /** Makes an access key straight in the store, as `patchbay keys create` does. */
  accessKey(name: string, scopes: Scope[]): Promise<{ key: string; id: string }>;
  drop(): Promise<void>;
}

export function sharedDatabase(kind: 'sqlite' | 'postgres'): SharedDatabase {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-proc-'));
  const masterKey = randomBytes(32).toString('base64');
  const schema = kind === 'postgres' ? `p_${randomBytes(6).toString('hex')}` : null;
  if (kind === 'postgres' && !POSTGRES_URL) throw new Error('set PATCHBAY_TEST_DATABASE_URL=postgres://… to test on PostgreSQL');
  const databaseUrl = kind === 'postgres' ? POSTGRES_URL! : `sqlite:${path.join(dataDir, 'patchbay.db')}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    PATCHBAY_DATA_DIR: dataDir,
    PATCHBAY_MASTER_KEY: masterKey,
    ...(schema ? { PATCHBAY_DB_SCHEMA: schema } : {}),
  };
  const stores: Store[] = [];
  const open = async () => {
    const store = await openStore(databaseUrl, { poolSize: 4, ...(schema ? { schema } : {}) });
    stores.push(store);
    await store.migrate();
    return store;
  };
  let keyStore: Promise<{ store: Store; hashingKey: Buffer }> | null = null;
  return {
    kind,
    env,
    dataDir,
    open,
    async accessKey(name, scopes) {
      keyStore ??= open().then(async (store) => ({ store, hashingKey: await loadHashingKey(store, new Keyring(parseMasterKeys(masterKey))) }));
      const { key, record } = await createAccessKey(await keyStore, { name, scopes, actor: 'cli' });
      return { key, id: record.id };
    },
    async drop() {
      await Promise.all(stores.map((store) => store.close()));
      await dropTestSchema({ databaseUrl, dbSchema: schema });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts one `patchbay` CLI command, for a test that signals it or reads it while it runs (`events tail`). */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [...CLI, ...args], { cwd: SERVER_DIR, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs one `patchbay` CLI command to its end; `input`, when given, is its stdin. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  if (input === undefined) return runToEnd(spawnCli(args, env));
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: SERVER_DIR,
    env: { ...baseEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(input);
  return runToEnd(child);
}

/** Waits for a child process to end, with everything it printed. */
export async function runToEnd(child: ChildProcessByStdio<Writable | null, Readable, Readable>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

export interface ServerProcess {
  origin: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote so far (its logs), for failure messages. */
  output(): string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `patchbay start` as a child process on a loopback port (PATCHBAY_PUBLIC_URL is its own origin);
 * resolves once /healthz answers.
 */
export async function startServerProcess(options: { env: Record<string, string>; port?: number; args?: string[] }): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const env = { ...baseEnv(), PORT: String(port), PATCHBAY_HOST: '127.0.0.1', PATCHBAY_PUBLIC_URL: origin, PATCHBAY_LOG_LEVEL: 'warn', ...options.env };
  const child = spawn(process.execPath, [...CLI, 'start', ...(options.args ?? [])], { cwd: SERVER_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ended) throw new Error(`patchbay start exited before it listened:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`patchbay start did not answer /healthz within 60 s:\n${output}`);
    }
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    origin,
    port,
    child,
    output: () => output,
    exited,
    async stop() {
      if (!ended) child.kill('SIGTERM');
      return exited;
    },
  };
}
