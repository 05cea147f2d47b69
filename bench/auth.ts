/**
 * `npm run bench:auth`: what key authentication costs. Requests per second and the server's CPU
 * time per request for (a) a route with no authentication and (b) the same route behind key
 * authentication, served by one server process, loaded from this process over loopback
 * (autocannon, 32 connections). Target: (b)/(a) ≥ 0.95 (issue 16).
 *
 * How: one continuous load whose requests go to (a) or (b) by phase, the phases short (250 ms) and
 * in the order a b b a a b b a …, and every pair of neighbouring phases compared. This machine is
 * shared and its speed drifts within seconds; separate rounds of load measured it at different
 * moments and paid a start-up each (connections, JIT of the client), which gave pairs from 0.5 to
 * 1.3. Phases a quarter of a second apart see nearly the same machine, and there are many of them,
 * so the median stands on more. The server counts what it served for each route and reports its
 * own CPU time between phases (over IPC, not HTTP, so the reading is not a request of either
 * route); the requests still in flight at a switch (at most one per connection) fall on both sides
 * alike. Printed: the median ratio with its quartiles and extremes, and keyed − open CPU per
 * request, the microseconds authentication costs.
 *
 * BENCH_PAIRS (default 60), BENCH_PHASE_MS (250) and BENCH_PROFILE=1 (writes a CPU profile of the
 * server to /tmp/prof) tune it; BENCH_AUTH_ONLY=1 leaves out the /healthz comparison below;
 * BENCH_KEYED_MIDDLEWARE=noop measures (b) with a middleware that does nothing in place of
 * authentication: the most any middleware in that place can reach.
 *
 * Then `/healthz` of Patchbay's app on its own listener against a bare Express 5 app answering the
 * same JSON (bench/express-hello.ts), each in its own process, in rotating rounds; target ≥ 0.9×.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { alternatingRounds, printRatio, printRounds, ROUNDS, startChild } from './pairs.js';
import { freePort } from './support.js';
import type { ServedSample } from './auth-server.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 60);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 250);
const WARM_UP_MS = 3000;
const CONNECTIONS = 32;

type Route = 'open' | 'keyed';

/** One phase as the server saw it: its route's requests per second and the CPU time per request served. */
interface Phase {
  rps: number;
  cpuMicrosPerRequest: number;
}

const median = (values: number[]) => quantile(values, 0.5);

/** The q-quantile of the values (nearest rank): quartiles show the spread without the one odd pair. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `median (quartiles q1–q3, pairs min–max)` of one figure over the pairs. */
function spreadOf(values: number[], digits: number): string {
  const f = (value: number) => value.toFixed(digits);
  return `${f(median(values))} (quartiles ${f(quantile(values, 0.25))}–${f(quantile(values, 0.75))}, pairs ${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

/** The server's counters and CPU time, asked for over IPC. */
function served(server: ChildProcess): Promise<ServedSample> {
  return new Promise((resolve) => {
    server.once('message', (message) => resolve(message as ServedSample));
    server.send('sample');
  });
}

function phaseOf(route: Route, from: ServedSample, to: ServedSample): Phase {
  const requests = to[route] - from[route];
  const all = to.open + to.keyed - from.open - from.keyed;
  return { rps: (requests * 1000) / (to.atMs - from.atMs), cpuMicrosPerRequest: (to.cpuMicros - from.cpuMicros) / all };
}

/** autocannon's running instance (to stop it) and its result. */
function startLoad(options: autocannon.Options): { instance: autocannon.Instance; done: Promise<autocannon.Result> } {
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
  return { instance, done };
}

/** a b b a a b b a …: each pair's order alternates, so the drift within a pair favours neither route. */
const routeOfPhase = (phase: number): Route => (((phase + 1) >> 1) % 2 === 0 ? 'open' : 'keyed');

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
  const requests: Record<Route, { method: 'GET'; path: string; headers: Record<string, string> }> = {
    open: { method: 'GET', path: '/bench/open', headers: {} },
    keyed: { method: 'GET', path: '/bench/keyed', headers: { authorization: `Bearer ${key}` } },
  };
  let route: Route = 'open';
  const load = startLoad({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: Math.ceil((WARM_UP_MS + 2 * PAIRS * PHASE_MS) / 1000) + 5,
    // Built for each request, from the route of the phase it is sent in.
    requests: [{ setupRequest: (request) => ({ ...request, ...requests[route] }) }],
  });
  // Warm-up: JIT, the key cache and the auth-event writer settle before anything is measured.
  for (const warm of ['open', 'keyed'] as const) {
    route = warm;
    await sleep(WARM_UP_MS / 2);
  }
  const phases: Record<Route, Phase[]> = { open: [], keyed: [] };
  let last = await served(child);
  for (let phase = 0; phase < 2 * PAIRS; phase++) {
    route = routeOfPhase(phase);
    await sleep(PHASE_MS);
    const next = await served(child);
    phases[route].push(phaseOf(route, last, next));
    last = next;
  }
  load.instance.stop();
  const result = await load.done;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`bench:auth: ${result.non2xx} non-2xx answers, ${result.errors} errors`);

  const summary = (name: string, runs: Phase[]) => {
    const rps = median(runs.map((r) => r.rps));
    const cpu = median(runs.map((r) => r.cpuMicrosPerRequest));
    console.log(`${name.padEnd(30)} ${rps.toFixed(0).padStart(7)} req/s   server CPU ${cpu.toFixed(0).padStart(4)} µs/request`);
  };
  console.log(`bench:auth — ${CONNECTIONS} connections, ${PAIRS} pairs of ${PHASE_MS} ms phases in one load, loopback, SQLite, Node ${process.version}`);
  summary('(a) same route, no auth', phases.open);
  summary(process.env.BENCH_KEYED_MIDDLEWARE === 'noop' ? '(b) same route, no-op middleware' : '(b) same route, access key', phases.keyed);
  // A phase in which the server answered nothing (stopped by other load on the machine) has no ratio.
  const pairs = phases.open.map((open, i) => ({ open, keyed: phases.keyed[i]! })).filter(({ open, keyed }) => open.rps > 0 && keyed.rps > 0);
  if (pairs.length < PAIRS) console.log(`(${PAIRS - pairs.length} of ${PAIRS} pairs left out: a phase with no answers)`);
  const rpsRatios = pairs.map(({ open, keyed }) => keyed.rps / open.rps);
  const ratio = median(rpsRatios);
  const cpuRatios = pairs.map(({ open, keyed }) => open.cpuMicrosPerRequest / keyed.cpuMicrosPerRequest);
  const authMicros = pairs.map(({ open, keyed }) => keyed.cpuMicrosPerRequest - open.cpuMicrosPerRequest);
  console.log(`ratio (b)/(a), requests per second, median of pairs: ${spreadOf(rpsRatios, 3)}  (target ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})`);
  console.log(`ratio (a)/(b), server CPU per request, median of pairs: ${spreadOf(cpuRatios, 3)}`);
  console.log(`authentication, server CPU per request (b − a), µs: ${spreadOf(authMicros, 1)}`);
  if (!process.env.BENCH_AUTH_ONLY) {
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
      const results = await alternatingRounds([healthz, floor], ROUNDS);
      printRounds(results);
      printRatio(results, healthz.name, floor.name, 0.9);
    } finally {
      await hello.stop();
      await patchbay.stop();
    }
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
