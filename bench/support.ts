import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../packages/server/bin/patchbay.js', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BenchServer {
  origin: string;
  env: NodeJS.ProcessEnv;
  /** Runs a `patchbay` CLI command against the same data directory. */
  cli(args: string[]): string;
  stop(): Promise<void>;
}

/** The built server as its own process (so the load generator does not share its event loop). */
export async function startBenchServer(extraEnv: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
  const port = await freePort();
  const env = {
    ...process.env,
    PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
    PATCHBAY_DATA_DIR: dataDir,
    PORT: String(port),
    PATCHBAY_HOST: '127.0.0.1',
    PATCHBAY_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`patchbay ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  run(['migrate']);
  const child: ChildProcess = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    origin,
    env,
    cli: run,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function keyFrom(output: string): string {
  const match = /pbk_[0-9A-Za-z]{28}/.exec(output);
  if (!match) throw new Error('no key in the CLI output');
  return match[0];
}
