/**
 * `npm run bench:events`: publishing with a partner key, Patchbay on SQLite (and on PostgreSQL when
 * PATCHBAY_TEST_DATABASE_URL is set) against a floor of node:http + better-sqlite3 numbering and
 * inserting each event in one transaction (bench/floor-events.ts); rounds rotate between them (ROUNDS
 * rounds of SECONDS seconds, 32 connections), ratios are medians of per-round ratios with their
 * spread. Then publish → SSE delivery with 50 subscribers: one publish at a time, the time from
 * sending it to each subscriber reading it. Targets: ≥ 0.5× the floor, PostgreSQL ≥ 0.5× SQLite,
 * delivery p50 ≤ 2 ms on SQLite. BENCH_ROUNDS, BENCH_SECONDS, BENCH_DELIVERIES, BENCH_PROFILE=1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { get, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { alternatingRounds, type Child, CONNECTIONS, median, printRatio, printRounds, ROUNDS, SECONDS, startChild, type Target } from './pairs.js';

const SUBSCRIBERS = 50;
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 200);
const postgresUrl = process.env.PATCHBAY_TEST_DATABASE_URL;

type PatchbayInfo = { port: number; key: string; partnerKey: string };
const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const schema = `bench_${randomBytes(4).toString('hex')}`;
const children: Child<unknown>[] = [];
const start = async <T>(file: string, env: NodeJS.ProcessEnv) => {
  const child = await startChild<T>(file, env);
  children.push(child as Child<unknown>);
  return child;
};
const patchbayEnv = (databaseUrl: string, extra: NodeJS.ProcessEnv = {}) => ({
  PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
  PATCHBAY_DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
  PATCHBAY_LOG_LEVEL: process.env.PATCHBAY_LOG_LEVEL ?? 'info',
  ...extra,
});

/** `pid`: the serving process, when it does all the work (not PostgreSQL's), so its CPU per request compares. */
const publishTarget = (name: string, port: number, partnerKey?: string, pid?: number): Target => ({
  name,
  ...(pid !== undefined ? { pid } : {}),
  url: `http://127.0.0.1:${port}/v1/events`,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(partnerKey ? { authorization: `Bearer ${partnerKey}` } : {}) },
  body: JSON.stringify({ topic: 'bench/created', payload: { order: 'ord_1234', amount: 4200, currency: 'EUR' } }),
});

/** 50 SSE readers; resolves each publish's deliveries as they arrive. */
async function deliveryLatencies(port: number, key: string): Promise<number[]> {
  const waiting = new Map<number, { sent: number; left: number; done: () => void }>();
  const latencies: number[] = [];
  const streams = await Promise.all(
    Array.from(
      { length: SUBSCRIBERS },
      () =>
        new Promise<import('node:http').ClientRequest>((resolve, reject) => {
          const req = get(`http://127.0.0.1:${port}/v1/events/stream?topics=bench/*`, { headers: { authorization: `Bearer ${key}` } }, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              let end: number;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                const data = block.split('\n').find((line) => line.startsWith('data: '));
                if (!data) continue;
                const { payload } = JSON.parse(data.slice(6)) as { payload: { i: number } };
                const entry = waiting.get(payload.i);
                if (!entry) continue;
                latencies.push(performance.now() - entry.sent);
                if (--entry.left === 0) entry.done();
              }
            });
            resolve(req);
          });
          req.on('error', reject);
        }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < DELIVERIES + 20; i++) {
    const delivered = new Promise<void>((done) => waiting.set(i, { sent: performance.now(), left: SUBSCRIBERS, done }));
    const before = latencies.length;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `http://127.0.0.1:${port}/v1/events`,
        { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ topic: 'bench/created', payload: { i } }));
    });
    await Promise.race([delivered, new Promise((resolve) => setTimeout(resolve, 2000))]);
    // The first rounds warm the JIT up: not counted.
    if (i < 20) latencies.length = before;
    waiting.delete(i);
  }
  for (const stream of streams) stream.destroy();
  return latencies.sort((a, b) => a - b);
}

try {
  const floor = await start<{ port: number }>('./floor-events.ts', { BENCH_DIR: dataDir });
  const sqlite = await start<PatchbayInfo>('./patchbay-server.ts', patchbayEnv(`sqlite:${path.join(dataDir, 'patchbay.db')}`));
  const postgres = postgresUrl ? await start<PatchbayInfo>('./patchbay-server.ts', patchbayEnv(postgresUrl, { PATCHBAY_DB_SCHEMA: schema })) : null;
  const targets = [
    publishTarget('Patchbay publish, SQLite', sqlite.info.port, sqlite.info.partnerKey, sqlite.process.pid),
    ...(postgres ? [publishTarget('Patchbay publish, PostgreSQL', postgres.info.port, postgres.info.partnerKey)] : []),
    publishTarget('floor (node:http + better-sqlite3)', floor.info.port, undefined, floor.process.pid),
  ];
  const results = await alternatingRounds(targets);
  console.log(`bench:events — ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s rotating between the targets, loopback, Node ${process.version}`);
  printRounds(results);
  printRatio(results, targets[0]!.name, targets.at(-1)!.name, 0.5);
  if (postgres) {
    // For comparison only: the target for PostgreSQL is against SQLite (next line).
    printRatio(results, targets[1]!.name, targets.at(-1)!.name, null);
    printRatio(results, targets[1]!.name, targets[0]!.name, 0.5);
  } else console.log('  (PostgreSQL: set PATCHBAY_TEST_DATABASE_URL)');
  const deliveryRuns: Array<{ name: string; info: PatchbayInfo; target: number | null }> = [
    { name: 'SQLite', info: sqlite.info, target: 2 },
    ...(postgres ? [{ name: 'PostgreSQL', info: postgres.info, target: null }] : []),
  ];
  for (const { name, info, target } of deliveryRuns) {
    const times = await deliveryLatencies(info.port, info.partnerKey);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    const verdict = target === null ? '' : `  target p50 ≤ ${target} ms: ${median(times) <= target ? 'met' : 'NOT met'}`;
    console.log(
      `  publish → SSE, ${SUBSCRIBERS} subscribers, ${name}: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms (${times.length} deliveries)${verdict}`,
    );
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  if (postgresUrl) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  rmSync(dataDir, { recursive: true, force: true });
}
