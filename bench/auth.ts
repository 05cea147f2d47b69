/**
 * `npm run bench:auth`: what key authentication costs. Requests per second and p99 latency for
 * (a) a route with no authentication and (b) the same route behind key authentication, served by
 * one server process, loaded from this process over loopback. Target: (b)/(a) ≥ 0.85.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from './support.js';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;

async function measure(url: string, headers: Record<string, string>) {
  // A short warm-up so JIT and caches settle before the measured run.
  await autocannon({ url, headers, connections: CONNECTIONS, duration: 2 });
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_SECONDS });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const port = await freePort();
const child = fork(fileURLToPath(new URL('./auth-server.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])],
  env: { ...process.env, PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'), PATCHBAY_DATA_DIR: dataDir, PORT: String(port) },
});
try {
  const { key } = await new Promise<{ key: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { key: string }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  const open = await measure(`${origin}/bench/open`, {});
  const keyed = await measure(`${origin}/bench/keyed`, { authorization: `Bearer ${key}` });
  const ratio = keyed.rps / open.rps;
  const row = (name: string, m: { rps: number; p50: number; p99: number }) => `${name.padEnd(30)} ${m.rps.toFixed(0).padStart(8)} req/s   p50 ${m.p50} ms   p99 ${m.p99} ms`;
  console.log(`bench:auth — ${CONNECTIONS} connections, ${DURATION_SECONDS} s each, loopback, SQLite, Node ${process.version}`);
  console.log(row('(a) same route, no auth', open));
  console.log(row('(b) same route, access key', keyed));
  console.log(`ratio (b)/(a): ${ratio.toFixed(3)}  (target ≥ 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'})`);
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
