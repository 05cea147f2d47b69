/**
 * `npm run bench:proxy`: Patchbay's proxy (`/v1/connections/{id}/proxy/*`) and a tenant action
 * route against a floor, a bare node:http forward proxy that injects the credential header
 * (bench/floor-proxy.ts), both in front of the same loopback upstream. Each runs in its own
 * process; rounds rotate between them (ROUNDS rounds of SECONDS seconds, 32 connections) and the
 * ratios are medians of per-round ratios, with their spread. Then unloaded added latency (one
 * request at a time, p50 minus the upstream's own p50) and resident memory after 10 000 proxied
 * calls (under tsx: bench:start measures the memory target on `patchbay start`). Targets: ≥ 0.5×
 * the floor, ≤ 0.3 ms added unloaded. Each ratio is also given in server CPU per request (floor's ÷
 * Patchbay's), which a busy machine disturbs far less.
 * BENCH_ROUNDS, BENCH_SECONDS, BENCH_UNLOADED (requests), BENCH_PROFILE=1 (CPU profiles to /tmp/prof),
 * BENCH_PATCHBAY_NODE_OPTIONS (NODE_OPTIONS for Patchbay's process alone).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import {
  alternatingRounds,
  type Child,
  CONNECTIONS,
  patchbayNodeOptions,
  printRatio,
  printRounds,
  ROUNDS,
  SECONDS,
  startChild,
  type Target,
  unloadedP50,
} from './pairs.js';

const mib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function memoryOf(child: Child<unknown>): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve) => {
    child.process.once('message', (message) => resolve((message as { memory: NodeJS.MemoryUsage }).memory));
    child.process.send('memory');
  });
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const upstream = await startChild<{ port: number }>('./upstream-server.ts');
const upstreamOrigin = `http://127.0.0.1:${upstream.info.port}`;
const floor = await startChild<{ port: number }>('./floor-proxy.ts', { BENCH_UPSTREAM: upstreamOrigin });
const patchbay = await startChild<{ port: number; key: string; connectionId: string }>('./patchbay-server.ts', {
  BENCH_UPSTREAM: upstreamOrigin,
  PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
  PATCHBAY_DATA_DIR: dataDir,
  PATCHBAY_LOG_LEVEL: process.env.PATCHBAY_LOG_LEVEL ?? 'info',
  ...patchbayNodeOptions(),
});
try {
  const origin = `http://127.0.0.1:${patchbay.info.port}`;
  const auth = { authorization: `Bearer ${patchbay.info.key}` };
  const proxy: Target = {
    name: 'Patchbay proxy',
    url: `${origin}/v1/connections/${patchbay.info.connectionId}/proxy/me`,
    headers: auth,
    pid: patchbay.process.pid,
  };
  const action: Target = {
    name: 'Patchbay tenant action',
    url: `${origin}/v1/integrations/bench-sync/api/tenant/t1/me`,
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: '{}',
    pid: patchbay.process.pid,
  };
  const floorTarget: Target = { name: 'floor (node:http proxy)', url: `http://127.0.0.1:${floor.info.port}/proxy/me`, pid: floor.process.pid };
  const direct: Target = { name: 'upstream itself', url: `${upstreamOrigin}/me` };

  const fresh = { rss: mib(patchbay.process.pid!), memory: await memoryOf(patchbay) };
  // Memory first, on a fresh process: 10 000 proxied calls, then the resident set of each server.
  for (const target of [proxy, floorTarget]) await autocannon({ url: target.url, headers: target.headers ?? {}, connections: CONNECTIONS, amount: 10_000 });
  const rss = { patchbay: mib(patchbay.process.pid!), floor: mib(floor.process.pid!) };
  const memory = await memoryOf(patchbay);

  const results = await alternatingRounds([proxy, action, floorTarget]);
  const unloaded = await unloadedP50([direct, floorTarget, proxy, action]);
  const rssAfter = mib(patchbay.process.pid!);

  console.log(
    `bench:proxy — ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s rotating between the targets, loopback, SQLite, Node ${process.version}`,
  );
  printRounds(results);
  printRatio(results, proxy.name, floorTarget.name, 0.5);
  printRatio(results, action.name, floorTarget.name, 0.5);
  const base = unloaded.get(direct.name)!;
  console.log(`  unloaded p50, one request at a time: upstream itself ${base.toFixed(3)} ms; added by:`);
  for (const target of [floorTarget, proxy, action]) {
    const added = unloaded.get(target.name)! - base;
    const verdict = target === floorTarget ? '' : `  target ≤ 0.3 ms: ${added <= 0.3 ? 'met' : 'NOT met'}`;
    console.log(`    ${target.name.padEnd(32)} +${added.toFixed(3)} ms${verdict}`);
  }
  console.log(
    // This Patchbay runs from the TypeScript bench under tsx, whose loader thread alone holds ~40 MiB:
    // the memory target is measured on `patchbay start` itself, by bench:start.
    `  RSS after 10 000 proxied calls: Patchbay (under tsx) ${rss.patchbay.toFixed(0)} MiB, floor ${rss.floor.toFixed(0)} MiB (the ≤ 120 MiB target: npm run bench:start); Patchbay after every round: ${rssAfter.toFixed(0)} MiB`,
  );
  const inMiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  console.log(
    `    Patchbay's JavaScript heap after those calls ${inMiB(memory.heapUsed)} used of ${inMiB(memory.heapTotal)}; fresh (before any call): RSS ${fresh.rss.toFixed(0)} MiB, heap ${inMiB(fresh.memory.heapUsed)} used of ${inMiB(fresh.memory.heapTotal)}`,
  );
} finally {
  await patchbay.stop();
  await floor.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
