/**
 * `npm run bench:webhooks`: (1) deliveries per second from the outbox to a loopback receiver, with
 * one and with two dispatcher processes on one database (PostgreSQL when PATCHBAY_TEST_DATABASE_URL
 * is set, else a SQLite file): BENCH_MESSAGES messages are written first, then the dispatchers start
 * and the clock runs until the receiver has them all; (2) what the outbox adds to a change: a
 * connection revoke (one transaction: the change, its audit entry, its event and one delivery per
 * subscribed endpoint) timed one at a time with 0 and with 3 endpoints, the two alternating by round.
 * Medians of BENCH_ROUNDS rounds.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SYSTEM } from '../packages/server/src/audit/service.js';
import { createConnection, revokeConnection } from '../packages/server/src/connections/service.js';
import { createLogger, createPatchbay, type Declarations, loadConfig } from '../packages/server/src/index.js';
import { emitWebhookEvent } from '../packages/server/src/webhooks/emit.js';
import { createWebhook } from '../packages/server/src/webhooks/service.js';
import { type Child, median, startChild } from './pairs.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const postgresUrl = process.env.PATCHBAY_TEST_DATABASE_URL;
const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const env: NodeJS.ProcessEnv = {
  PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'),
  PATCHBAY_DATA_DIR: dataDir,
  DATABASE_URL: postgresUrl ?? `sqlite:${path.join(dataDir, 'bench.db')}`,
  ...(postgresUrl ? { PATCHBAY_DB_SCHEMA: `bench_${randomBytes(4).toString('hex')}` } : {}),
  PATCHBAY_DEV: '1',
  PATCHBAY_LOG_LEVEL: 'warn',
  PATCHBAY_WEBHOOK_POLL_MS: '60000',
};
const declarations = {
  connectors: [
    { slug: 'plain', name: 'Plain', description: '', baseUrl: 'http://127.0.0.1:9', visibility: 'private', authMethods: [{ type: 'none' }], actions: {} },
  ],
  integrations: [],
} as unknown as Declarations;

// The receiver: answers 204 to everything, counts, and says when it has what it waits for.
let received = 0;
let waiting: { count: number; resolve: () => void } | null = null;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204).end();
    received += 1;
    if (waiting && received >= waiting.count) waiting.resolve();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

// The parent's own Patchbay: the schema, the endpoints, the changes of part 2.
Object.assign(process.env, env);
const patchbay = await createPatchbay(loadConfig([], process.env), { declarations, logger: createLogger('warn') });
const { ctx } = patchbay;
// Only the dispatcher processes under test send.
await patchbay.webhooks.close();
const db = ctx.store.db;

async function clearOutbox() {
  await db.deleteFrom('webhook_deliveries').execute();
  await db.deleteFrom('webhook_events').execute();
}

async function deliveriesPerSecond(instances: number): Promise<number> {
  await clearOutbox();
  received = 0;
  for (let index = 0; index < MESSAGES; index += 100) {
    await db.transaction().execute(async (trx) => {
      for (let n = index; n < Math.min(MESSAGES, index + 100); n++) await emitWebhookEvent(trx, 'install.created', { id: `ins_${n}` });
    });
  }
  const children: Child<unknown>[] = [];
  for (let i = 0; i < instances; i++) children.push(await startChild('./webhook-dispatcher.ts', { ...env, PATCHBAY_WEBHOOK_POLL_MS: '20' }));
  const done = new Promise<void>((resolve) => (waiting = { count: MESSAGES, resolve }));
  const started = performance.now();
  for (const child of children) child.process.send('go');
  await done;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(children.map((child) => child.stop()));
  return MESSAGES / seconds;
}

async function revokeLatencies(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const id = await createConnection(ctx, { connector: 'plain', tenantId: `t${i % 50}`, credentials: { type: 'none' } });
    const started = performance.now();
    await revokeConnection(ctx, id, SYSTEM);
    times.push(performance.now() - started);
  }
  return times;
}

try {
  const endpoint = await createWebhook(ctx, { url: receiverUrl, events: ['install.created'], description: 'bench' }, SYSTEM);
  console.log(`bench:webhooks on ${postgresUrl ? 'PostgreSQL' : 'SQLite'}: ${MESSAGES} messages to a loopback receiver, ${ROUNDS} rounds`);
  const rates = new Map<number, number[]>([
    [1, []],
    [2, []],
  ]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const instances of round % 2 ? [2, 1] : [1, 2]) rates.get(instances)!.push(await deliveriesPerSecond(instances));
  }
  for (const [instances, values] of rates)
    console.log(
      `  ${instances} dispatcher process${instances > 1 ? 'es' : ''}: ${median(values).toFixed(0).padStart(6)} deliveries/s  (rounds ${values.map((v) => v.toFixed(0)).join(', ')})`,
    );
  await db.deleteFrom('webhook_endpoints').where('id', '=', endpoint.id).execute();
  await clearOutbox();

  console.log(`connection revoke, ${CHANGES} one at a time per round (change + audit + outbox in one transaction):`);
  const latency = new Map<number, number[]>([
    [0, []],
    [3, []],
  ]);
  await revokeLatencies(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const endpoints of round % 2 ? [3, 0] : [0, 3]) {
      await db.deleteFrom('webhook_endpoints').execute();
      for (let i = 0; i < endpoints; i++) await createWebhook(ctx, { url: receiverUrl, events: ['connection.revoked'], description: `bench ${i}` }, SYSTEM);
      latency.get(endpoints)!.push(median(await revokeLatencies()));
      await clearOutbox();
    }
  }
  for (const [endpoints, values] of latency)
    console.log(`  ${endpoints} endpoints: p50 ${median(values).toFixed(3)} ms  (rounds ${values.map((v) => v.toFixed(3)).join(', ')})`);
  console.log(`  added by 3 endpoints: ${(median(latency.get(3)!) - median(latency.get(0)!)).toFixed(3)} ms`);
} finally {
  await patchbay.close();
  receiver.close();
  if (postgresUrl) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${env.PATCHBAY_DB_SCHEMA}" CASCADE`);
    await client.end();
  }
  rmSync(dataDir, { recursive: true, force: true });
}
