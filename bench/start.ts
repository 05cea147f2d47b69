/**
 * `npm run bench:start`: cold start and memory of the real `patchbay start` (the built CLI,
 * packages/server/bin/patchbay.js, as an operator runs it; no tsx).
 *
 * Cold start: from spawn to the first 200 from /healthz, SQLite in a fresh data directory each
 * time (so migrations and first-start keys are included), in alternating pairs with a bare
 * Express 5 hello (bench/express-hello.ts) started the same way; the normal mode and `--dev` (the
 * demo) separately. Each figure is the median of the pairs, with the spread of the pairs' ratios;
 * the children's CPU time is printed too, since on this shared machine it drifts less than wall
 * time. Target: ≤ 300 ms (issue 16, measured where Express hello starts in ~190 ms).
 *
 * `patchbay start` keeps V8's compiled code on disk once it has been up a second, and later starts
 * reuse it (src/cli/code-cache.ts): the bench gives Patchbay a code cache folder of its own, lets
 * the warm-up start write it, and measures the starts after, as an operator meets every start but
 * the first. The first start, with no cached code, is measured too (NODE_DISABLE_COMPILE_CACHE).
 *
 * Memory: resident set of `patchbay start` after 10 000 and then 20 000 proxied calls
 * (/v1/connections/{id}/proxy/me, 32 connections) against the floor, a bare node:http proxy
 * (bench/floor-proxy.ts), both before the same loopback upstream. Target: ≤ 120 MiB, flat from
 * 10 000 to 20 000. BENCH_ROUNDS (pairs, default 7), BENCH_CALLS (default 10 000),
 * BENCH_PATCHBAY_NODE_OPTIONS (NODE_OPTIONS for Patchbay alone); `-- start` or `-- memory` runs one part.
 *
 * The floors run as plain node too: their TypeScript is stripped by esbuild and passed with -e, so
 * neither side pays for tsx (whose loader thread alone holds ~40 MiB).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { transformSync } from 'esbuild';
import { createPatchbay, loadConfig } from '../packages/server/dist/index.js';
import { benchDeclarations, seedBench } from './bench-app.js';
import { CONNECTIONS, median, patchbayNodeOptions, startChild } from './pairs.js';
import { freePort } from './support.js';

const ROUNDS = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 7));
const CALLS = Number(process.env.BENCH_CALLS ?? 10_000);
const root = fileURLToPath(new URL('..', import.meta.url));
// BENCH_CLI: another build's bin/patchbay.js (say, of the commit before a change) in place of this one.
const cli = process.env.BENCH_CLI ?? path.join(root, 'packages/server/bin/patchbay.js');

interface Spawned {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Runs a bench .ts file (its imports resolved from the repository root) as plain node. */
function spawnFloor(file: string, env: NodeJS.ProcessEnv): ChildProcess {
  const source = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
  const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' });
  return spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

/** This run's code cache folder: written by each mode's warm-up start, removed at the end. */
const codeCache = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-code-cache-'));
process.on('exit', () => rmSync(codeCache, { recursive: true, force: true }));

/** Patchbay's environment: a fresh data directory (removed on stop), its own master key, this run's code cache. */
function patchbayEnv(port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_COMPILE_CACHE: codeCache,
    PATCHBAY_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'patchbay-bench-start-')),
    PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
    PATCHBAY_HOST: '127.0.0.1',
    PATCHBAY_LOG_LEVEL: 'warn',
    PORT: String(port),
    ...patchbayNodeOptions(),
    ...extra,
  };
}

function spawnPatchbay(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [cli, 'start', ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

function stopper(child: ChildProcess, dataDir?: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

/** Polls /healthz every 2 ms until it answers 200; the child must not exit meanwhile. */
async function untilHealthy(child: ChildProcess, port: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the process exited with ${child.exitCode} before /healthz answered`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** CPU time (user + system) the process has used so far, in ms, from /proc (10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const mib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface Start {
  ms: number;
  cpu: number;
}

/** Whether the code cache folder holds a cache file (the start writes it a second after loading). */
const hasCodeCache = () => readdirSync(codeCache, { recursive: true }).some((name) => String(name).endsWith('.cache'));

/** One start to /healthz 200; with `untilCached`, kept running until its code cache is on disk (5 s at most). */
async function coldStart(launch: (port: number) => { child: ChildProcess; dataDir?: string }, untilCached = false): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const { child, dataDir } = launch(port);
  try {
    await untilHealthy(child, port);
    const start = { ms: performance.now() - started, cpu: cpuMs(child.pid!) };
    for (let waited = 0; untilCached && !hasCodeCache() && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    // An older build (BENCH_CLI) keeps none: its starts are measured as they are, and said so.
    if (untilCached && !hasCodeCache()) console.log(`  (this patchbay start wrote no code cache in ${codeCache})`);
    return start;
  } finally {
    await stopper(child, dataDir)();
  }
}

const patchbayStart =
  (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  (port: number) => {
    const env = patchbayEnv(port, extra);
    return { child: spawnPatchbay(args, env), dataDir: env.PATCHBAY_DATA_DIR };
  };
const helloStart = (port: number) => ({ child: spawnFloor('./express-hello.ts', { ...process.env, PORT: String(port) }) });

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)]!;

/** ROUNDS pairs, which goes first alternating; prints both sides and the median of the pairs' ratios. */
async function startPairs(label: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<void> {
  // Warm-up, not measured: the OS file cache, and the code cache the measured starts reuse.
  await coldStart(patchbayStart(args, extra), !extra.NODE_DISABLE_COMPILE_CACHE);
  await coldStart(helloStart);
  const patchbay: Start[] = [];
  const hello: Start[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      patchbay.push(await coldStart(patchbayStart(args, extra)));
      hello.push(await coldStart(helloStart));
    } else {
      hello.push(await coldStart(helloStart));
      patchbay.push(await coldStart(patchbayStart(args, extra)));
    }
  }
  const line = (name: string, runs: Start[]) =>
    `  ${name.padEnd(30)} p50 ${median(runs.map((r) => r.ms))
      .toFixed(0)
      .padStart(5)} ms   p99 ${quantile(
      runs.map((r) => r.ms),
      0.99,
    )
      .toFixed(0)
      .padStart(5)} ms   CPU ${median(runs.map((r) => r.cpu))
      .toFixed(0)
      .padStart(5)} ms`;
  console.log(line(`Patchbay ${label}`, patchbay));
  console.log(line('floor (Express 5 hello)', hello));
  const ratios = patchbay.map((run, i) => run.ms / hello[i]!.ms);
  const cpuRatios = patchbay.map((run, i) => run.cpu / Math.max(hello[i]!.cpu, 10));
  const p50 = median(patchbay.map((r) => r.ms));
  console.log(
    `  ${'Patchbay ÷ floor'.padEnd(30)} ${median(ratios).toFixed(2)}×  (pairs ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); CPU ${median(cpuRatios).toFixed(2)}×; target ≤ 300 ms: ${p50 <= 300 ? 'met' : 'NOT met'}`,
  );
}

/** A `patchbay start` serving the bench connector (declarations file) with the bench's records. */
async function startSeededPatchbay(upstreamOrigin: string): Promise<Spawned & { key: string; connectionId: string }> {
  const port = await freePort();
  const env = patchbayEnv(port);
  const dataDir = env.PATCHBAY_DATA_DIR!;
  const declarations = benchDeclarations(upstreamOrigin);
  // The records are written by this process, through the services, then it lets go of the database.
  const seeding = await createPatchbay(loadConfig([], { ...env, PATCHBAY_LOG_LEVEL: 'error' }), { declarations });
  const { key, connectionId } = await seedBench(seeding.ctx);
  await seeding.close();
  const configFile = path.join(dataDir, 'patchbay.config.json');
  writeFileSync(configFile, JSON.stringify(declarations));
  const child = spawnPatchbay([], { ...env, PATCHBAY_CONFIG: configFile });
  await untilHealthy(child, port);
  return { child, port, key, connectionId, stop: stopper(child, dataDir) };
}

async function startFloorProxy(upstreamOrigin: string): Promise<Spawned> {
  const child = spawnFloor('./floor-proxy.ts', { ...process.env, BENCH_UPSTREAM: upstreamOrigin });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`floor-proxy exited with ${code}`)));
  });
  return { child, port, stop: stopper(child) };
}

/** The heap figures prom-client's default metrics publish, in MiB. */
async function heapOf(origin: string, key: string): Promise<string> {
  const text = await (await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  // Where the total sits: V8 grows the young generation under a high allocation rate.
  const spaces = [...text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)]
    .filter(([, , bytes]) => Number(bytes) >= 2 ** 20)
    .map(([, space, bytes]) => `${space} ${(Number(bytes) / 2 ** 20).toFixed(0)}`);
  return `heap ${value('nodejs_heap_size_used_bytes').toFixed(0)} used of ${value('nodejs_heap_size_total_bytes').toFixed(0)} MiB (${spaces.join(', ')}), external ${value('nodejs_external_memory_bytes').toFixed(0)} MiB`;
}

async function memory(): Promise<void> {
  const upstream = await startChild<{ port: number }>('./upstream-server.ts');
  const upstreamOrigin = `http://127.0.0.1:${upstream.info.port}`;
  const floor = await startFloorProxy(upstreamOrigin);
  const patchbay = await startSeededPatchbay(upstreamOrigin);
  try {
    const origin = `http://127.0.0.1:${patchbay.port}`;
    const targets = [
      { pid: patchbay.child.pid!, url: `${origin}/v1/connections/${patchbay.connectionId}/proxy/me`, headers: { authorization: `Bearer ${patchbay.key}` } },
      { pid: floor.child.pid!, url: `http://127.0.0.1:${floor.port}/proxy/me`, headers: {} },
    ];
    const fresh = { patchbay: mib(patchbay.child.pid!), floor: mib(floor.child.pid!) };
    const after: { patchbay: number; floor: number; heap: string }[] = [];
    for (let phase = 0; phase < 2; phase++) {
      for (const target of targets) {
        const result = await autocannon({ url: target.url, headers: target.headers, connections: CONNECTIONS, amount: CALLS, timeout: 30 });
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
      }
      after.push({ patchbay: mib(patchbay.child.pid!), floor: mib(floor.child.pid!), heap: await heapOf(origin, patchbay.key) });
    }
    console.log(`  resident set (MiB)              fresh   after ${CALLS}   after ${2 * CALLS}`);
    for (const name of ['patchbay', 'floor'] as const) {
      const label = name === 'patchbay' ? 'Patchbay (patchbay start)' : 'floor (node:http proxy)';
      console.log(
        `  ${label.padEnd(30)} ${fresh[name].toFixed(0).padStart(6)} ${after[0]![name].toFixed(0).padStart(11)} ${after[1]![name].toFixed(0).padStart(12)}`,
      );
    }
    const [first, second] = after as [(typeof after)[0], (typeof after)[0]];
    console.log(
      `  ${'Patchbay ÷ floor'.padEnd(30)} ${(second.patchbay / second.floor).toFixed(2)}×; target ≤ 120 MiB: ${first.patchbay <= 120 && second.patchbay <= 120 ? 'met' : 'NOT met'}; growth ${CALLS}→${2 * CALLS}: ${(second.patchbay - first.patchbay).toFixed(1)} MiB`,
    );
    console.log(`  Patchbay's ${first.heap} after ${CALLS}; ${second.heap} after ${2 * CALLS}`);
  } finally {
    await patchbay.stop();
    await floor.stop();
    await upstream.stop();
  }
}

// `npm run bench:start -- memory` (or `-- start`) runs one part only.
const part = process.argv[2];
console.log(`bench:start — ${ROUNDS} alternating pairs per mode, fresh SQLite data directory per start, loopback, Node ${process.version}`);
if (part !== 'memory') {
  await startPairs('start', []);
  await startPairs('start, no code cache', [], { NODE_DISABLE_COMPILE_CACHE: '1' });
  await startPairs('start --dev', ['--dev']);
}
if (part !== 'start') await memory();
