/**
 * `npm run bench:auth`: what key authentication costs. Requests per second, p99 latency and the
 * server's CPU time per request for (a) a route with no authentication and (b) the same route
 * behind key authentication, served by one server process, loaded from this process over
 * loopback (autocannon). Target: (b)/(a) ≥ 0.95 (issue 16).
 *
 * The two routes are measured in back-to-back pairs of rounds (which goes first alternates), and
 * the ratio is the median of the pairs' ratios: this machine's speed drifts by a third within a
 * minute (shared host), and a pair's two rounds see nearly the same machine. BENCH_ROUNDS, BENCH_SECONDS (per
 * round) and BENCH_PROFILE=1 (writes a CPU profile of the server to /tmp/prof) tune it.
 *
 * Then `/healthz` of Patchbay's app on its own listener against a bare Express 5 app answering the
 * same JSON (bench/express-hello.ts), each in its own process, in rotating rounds; target ≥ 0.9×.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { alternatingRounds, printRatio, printRounds, startChild } from './pairs.js';
import { freePort } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = 32;

interface Round {
  rps: number;
  p99: number;
  cpuMicrosPerRequest: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function serverCpuMicros(origin: string): Promise<number> {
  return ((await (await fetch(`${origin}/bench/cpu`)).json()) as { micros: number }).micros;
}

async function round(origin: string, url: string, headers: Record<string, string>): Promise<Round> {
  const before = await serverCpuMicros(origin);
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: SECONDS });
  const after = await serverCpuMicros(origin);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99, cpuMicrosPerRequest: (after - before) / result.requests.total };
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
  const open = { url: `${origin}/bench/open`, headers: {} };
  const keyed = { url: `${origin}/bench/keyed`, headers: { authorization: `Bearer ${key}` } };
  // Warm-up: JIT, the key cache and the auth-event writer settle before anything is measured.
  for (const target of [open, keyed]) await autocannon({ ...target, connections: CONNECTIONS, duration: 2 });
  const rounds = { open: [] as Round[], keyed: [] as Round[] };
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) rounds.open.push(await round(origin, open.url, open.headers));
    rounds.keyed.push(await round(origin, keyed.url, keyed.headers));
    if (i % 2 === 1) rounds.open.push(await round(origin, open.url, open.headers));
  }
  const summary = (name: string, runs: Round[]) => {
    const rps = median(runs.map((r) => r.rps));
    const p99 = median(runs.map((r) => r.p99));
    const cpu = median(runs.map((r) => r.cpuMicrosPerRequest));
    console.log(
      `${name.padEnd(30)} ${rps.toFixed(0).padStart(7)} req/s   p99 ${String(p99).padStart(3)} ms   server CPU ${cpu.toFixed(0).padStart(4)} µs/request`,
    );
  };
  console.log(`bench:auth — ${CONNECTIONS} connections, ${ROUNDS} pairs of ${SECONDS} s rounds, loopback, SQLite, Node ${process.version}`);
  summary('(a) same route, no auth', rounds.open);
  summary('(b) same route, access key', rounds.keyed);
  const pairs = rounds.open.map((open, i) => ({ open, keyed: rounds.keyed[i]! }));
  const rpsRatios = pairs.map(({ open, keyed }) => keyed.rps / open.rps);
  const ratio = median(rpsRatios);
  const authMicros = median(pairs.map(({ open, keyed }) => keyed.cpuMicrosPerRequest - open.cpuMicrosPerRequest));
  const spread = `pairs ${Math.min(...rpsRatios).toFixed(2)}–${Math.max(...rpsRatios).toFixed(2)}`;
  console.log(`ratio (b)/(a), requests per second, median of pairs: ${ratio.toFixed(3)} (${spread})  (target ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})`);
  console.log(
    `ratio (a)/(b), server CPU per request, median of pairs: ${median(pairs.map(({ open, keyed }) => open.cpuMicrosPerRequest / keyed.cpuMicrosPerRequest)).toFixed(3)}  (authentication costs ${authMicros.toFixed(0)} µs of CPU per request)`,
  );
  // Patchbay's own app on its own listener (the server above wraps it in a second Express app).
  const patchbay = await startChild<{ port: number }>('./patchbay-server.ts', {
    PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
    PATCHBAY_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${path.join(dataDir, 'healthz.db')}`,
  });
  const hello = await startChild<{ port: number }>('./express-hello.ts');
  try {
    const healthz = { name: 'Patchbay /healthz', url: `http://127.0.0.1:${patchbay.info.port}/healthz` };
    const floor = { name: 'Express 5 hello', url: `http://127.0.0.1:${hello.info.port}/healthz` };
    const results = await alternatingRounds([healthz, floor], Math.max(5, Math.ceil(ROUNDS / 2)));
    printRounds(results);
    printRatio(results, healthz.name, floor.name, 0.9);
  } finally {
    await hello.stop();
    await patchbay.stop();
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
