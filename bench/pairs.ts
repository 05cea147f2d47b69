/**
 * What bench:proxy and bench:events share: child processes for the servers under test (so the load
 * generator does not share their event loop), rounds of autocannon load in alternating pairs, and
 * the summary lines (Patchbay, floor, median ratio with its spread, p50/p99). BENCH_PROFILE=1
 * profiles each child (to BENCH_PROFILE_DIR, default /tmp/prof: helpers sharing a machine keep apart;
 * BENCH_PROFILE_INTERVAL, µs between samples, default 1000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
export const CONNECTIONS = 32;

/** BENCH_PATCHBAY_NODE_OPTIONS: V8 settings (say, a smaller young generation) for Patchbay's process alone, as NODE_OPTIONS. */
export const patchbayNodeOptions = (): NodeJS.ProcessEnv =>
  process.env.BENCH_PATCHBAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_PATCHBAY_NODE_OPTIONS } : {};

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface Child<T> {
  info: T;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Forks a bench server (a .ts file next to this one) and waits for the first message it sends (its port and whatever the run needs). */
export async function startChild<T>(file: string, env: NodeJS.ProcessEnv = {}): Promise<Child<T>> {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? '/tmp/prof'}`, '--cpu-prof-interval', process.env.BENCH_PROFILE_INTERVAL ?? '1000']
        : []),
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const info = await new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return {
    info,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export interface Target {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** The serving process, whose CPU time per request each round also measures (Linux /proc). */
  pid?: number;
}

export interface Round {
  rps: number;
  p50: number;
  p99: number;
  /** The serving process's CPU time (user + system) per request answered, in µs, when its pid is known. */
  cpuUs?: number;
}

/** CPU time a process has used so far, in µs: utime + stime of /proc/{pid}/stat, in clock ticks of 10 ms. */
function cpuUsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

export async function load(target: Target, seconds = SECONDS): Promise<Round> {
  const cpuBefore = target.pid ? cpuUsOf(target.pid) : 0;
  const result = await autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    ...(target.body !== undefined ? { body: target.body } : {}),
    connections: CONNECTIONS,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const cpuUs = target.pid ? (cpuUsOf(target.pid) - cpuBefore) / result.requests.total : undefined;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs };
}

/**
 * Runs every target once per round, the order rotating from round to round, so each target sees
 * the machine's drift about as often first as last; a round's targets are compared with each other.
 */
export async function alternatingRounds(targets: Target[], rounds = ROUNDS): Promise<Map<string, Round[]>> {
  // Warm-up: JIT, caches and pools settle before anything is measured.
  for (const target of targets) await load(target, 1);
  const results = new Map(targets.map((target) => [target.name, [] as Round[]]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length]!;
      results.get(target.name)!.push(await load(target));
    }
  }
  return results;
}

export function printRounds(results: Map<string, Round[]>): void {
  for (const [name, runs] of results) {
    const rps = median(runs.map((r) => r.rps));
    const cpu =
      runs[0]?.cpuUs === undefined
        ? ''
        : `   server CPU ${median(runs.map((r) => r.cpuUs!))
            .toFixed(0)
            .padStart(4)} µs/request`;
    console.log(
      `  ${name.padEnd(34)} ${rps.toFixed(0).padStart(7)} req/s   p50 ${String(median(runs.map((r) => r.p50))).padStart(3)} ms   p99 ${String(median(runs.map((r) => r.p99))).padStart(3)} ms${cpu}`,
    );
  }
}

/** The median of the per-round ratios a/b, with the spread (min–max) of those ratios. */
export function printRatio(results: Map<string, Round[]>, a: string, b: string, target: number | null): number {
  const ratios = results.get(a)!.map((round, i) => round.rps / results.get(b)![i]!.rps);
  const ratio = median(ratios);
  console.log(
    `  ${`${a} ÷ ${b}`.padEnd(52)} ${ratio.toFixed(3)}  (pairs ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})  ${target === null ? '(no target)' : `target ≥ ${target}: ${ratio >= target ? 'met' : 'NOT met'}`}`,
  );
  // The same comparison in server CPU per request (b's ÷ a's): a busy machine moves it far less
  // than req/s, since a server that saturates its core is bounded by exactly that cost.
  const cpu = results.get(a)!.map((round, i) => (round.cpuUs && results.get(b)![i]!.cpuUs ? results.get(b)![i]!.cpuUs! / round.cpuUs : NaN));
  if (cpu.every((value) => Number.isFinite(value)))
    console.log(
      `  ${'    the same in server CPU per request'.padEnd(52)} ${median(cpu).toFixed(3)}  (pairs ${Math.min(...cpu).toFixed(3)}–${Math.max(...cpu).toFixed(3)})`,
    );
  return ratio;
}

/** One request on a kept-alive connection, timed from send to the end of the answer. */
function timedRequest(agentUrl: URL, target: Target, agent: import('node:http').Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(agentUrl, { method: target.method ?? 'GET', headers: target.headers ?? {}, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode! < 300 ? resolve(performance.now() - started) : reject(new Error(`${target.name}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(target.body);
  });
}

/**
 * Unloaded latency: one request at a time, the targets interleaved request by request so drift
 * hits them alike; p50 of each in milliseconds.
 */
export async function unloadedP50(targets: Target[], requests = Number(process.env.BENCH_UNLOADED ?? 1000)): Promise<Map<string, number>> {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = new Map(targets.map((target) => [target.name, [] as number[]]));
  for (let i = 0; i < requests + 100; i++) {
    for (const target of targets) {
      const took = await timedRequest(new URL(target.url), target, agent);
      if (i >= 100) times.get(target.name)!.push(took);
    }
  }
  agent.destroy();
  return new Map([...times].map(([name, values]) => [name, median(values)]));
}
