/**
 * `npm run bench:scheduler`: what the health scheduler costs with 100 000 connections, on SQLite and
 * on PostgreSQL in one run — time and queries per tick
 *  - when nothing is due (the common case: one claim statement that matches nothing), and
 *  - when 1% is due (1 000 connections, claimed in batches of `healthCheckBatch`, each verified
 *    against a loopback API that answers 200 at once, so the figure is the scheduler's own cost).
 *
 * Connections are bearer connections inserted in bulk through the store (encrypted as the server
 * does), with a connector that verifies every 6 h. PostgreSQL: PATCHBAY_BENCH_DATABASE_URL, else
 * PATCHBAY_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test, in a fresh schema
 * dropped afterwards. BENCH_CONNECTIONS (default 100000) scales it down.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../packages/server/src/config.js';
import { CredentialBroker } from '../packages/server/src/connections/broker.js';
import { HealthScheduler } from '../packages/server/src/connections/health-check.js';
import { createOAuthClients } from '../packages/server/src/connections/oauth.js';
import { RequestLog } from '../packages/server/src/connections/request-log.js';
import { credentialsAad } from '../packages/server/src/connections/credentials.js';
import type { Catalog } from '../packages/server/src/connectors/catalog.js';
import type { AppContext } from '../packages/server/src/context.js';
import { Keyring } from '../packages/server/src/crypto/envelope.js';
import { createLogger } from '../packages/server/src/logger.js';
import { Metrics } from '../packages/server/src/metrics/metrics.js';
import { openStore, type Store } from '../packages/server/src/store/store.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100_000);
const DUE = Math.max(1, Math.round(CONNECTIONS / 100));
const IDLE_TICKS = 200;
const HOUR_MS = 3_600_000;

const postgresUrl = process.env.PATCHBAY_BENCH_DATABASE_URL || process.env.PATCHBAY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const api = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

const config = { ...loadConfig([], { PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64') }), healthCheckIntervalMs: 0 };
const keyring = new Keyring([{ id: 'bench', key: randomBytes(32) }]);
const connector = {
  slug: 'bench',
  name: 'Bench',
  description: '',
  visibility: 'shared',
  baseUrl: apiOrigin,
  authMethods: [{ type: 'bearer', default: true }],
  actions: { me: { method: 'GET', path: '/me', query: {} } },
  verifyAction: 'me',
  verifyEvery: '6h',
  source: 'file',
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
};
// Only what the scheduler reads of the catalog: the connector by slug.
const catalog = { connectors: new Map([['bench', connector]]) } as unknown as Catalog;

async function fill(store: Store, now: number): Promise<void> {
  const batch = store.dialect === 'sqlite' ? 2000 : 4000;
  const later = new Date(now + 6 * HOUR_MS).toISOString();
  const due = new Date(now - 1000).toISOString();
  const created = new Date(now - HOUR_MS).toISOString();
  const ciphertext = (id: string) => keyring.encrypt(JSON.stringify({ type: 'bearer', token: 'bench-token' }), credentialsAad(id, 't'));
  for (let start = 0; start < CONNECTIONS; start += batch) {
    const rows = Array.from({ length: Math.min(batch, CONNECTIONS - start) }, (_, i) => {
      const index = start + i;
      const id = `con_bench${String(index).padStart(8, '0')}`;
      return {
        id,
        connector_id: 'bench',
        tenant_id: 't',
        status: 'active' as const,
        credentials_ciphertext: ciphertext(id),
        expires_at: null,
        created_at: created,
        updated_at: created,
        label: null,
        auth_method: 'bearer',
        refresh_lease_until: null,
        needs_reauth_reason: null,
        last_refreshed_at: null,
        last_verified_at: created,
        last_error: null,
        // Every 100th connection is due now; the rest in 6 h.
        next_check_at: index % 100 === 0 ? due : later,
      };
    });
    await store.db.insertInto('connections').values(rows).execute();
  }
}

async function run(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  const { store, cleanup } = await open();
  try {
    await store.migrate();
    const now = Date.now();
    const filled = performance.now();
    await fill(store, now);
    console.log(`\n${name}: ${CONNECTIONS.toLocaleString('en')} connections stored in ${((performance.now() - filled) / 1000).toFixed(1)} s`);
    let queries = 0;
    store.observeQueries(() => (queries += 1));
    const logger = createLogger('warn');
    const metrics = new Metrics();
    const ctx = {
      config,
      store,
      keyring,
      catalog,
      customAuthMethods: {},
      logger,
      metrics,
      requestLog: new RequestLog({ store, logger }, 0),
    } as unknown as AppContext;
    const broker = new CredentialBroker(ctx, createOAuthClients(catalog, 5));

    // Nothing due: the clock is a minute before the 1% come due.
    const idle = new HealthScheduler(ctx, broker, () => now - 60_000);
    queries = 0;
    const times: number[] = [];
    for (let tick = 0; tick < IDLE_TICKS; tick++) {
      const started = performance.now();
      await idle.tick();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  nothing due: p50 ${times[Math.floor(IDLE_TICKS / 2)]!.toFixed(3)} ms, p99 ${times[Math.floor(IDLE_TICKS * 0.99)]!.toFixed(3)} ms per tick, ${(queries / IDLE_TICKS).toFixed(1)} queries per tick`,
    );

    // 1% due: ticks until every due connection is checked and rescheduled.
    const busy = new HealthScheduler(ctx, broker, () => now);
    queries = 0;
    let ticks = 0;
    let checked = 0;
    const started = performance.now();
    for (let claimed = -1; claimed !== 0; ticks++) {
      claimed = await busy.tick();
      checked += claimed;
    }
    const elapsed = performance.now() - started;
    const working = ticks - 1;
    console.log(
      `  1% due (${DUE.toLocaleString('en')}): ${checked.toLocaleString('en')} verified in ${working} ticks of ${config.healthCheckBatch}, ${(elapsed / working).toFixed(1)} ms and ${(queries / working).toFixed(0)} queries per tick (${(queries / checked).toFixed(1)} per connection), ${(elapsed / 1000).toFixed(2)} s in all`,
    );
    store.observeQueries(null);
  } finally {
    await store.close();
    await cleanup();
  }
}

console.log(`bench:scheduler — ${CONNECTIONS.toLocaleString('en')} connections, ${DUE.toLocaleString('en')} due`);
await run('SQLite (embedded file, WAL)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-scheduler-'));
  return { store: await openStore(`sqlite:${path.join(dir, 'bench.db')}`), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const schema = `bench_${randomBytes(5).toString('hex')}`;
const { default: pg } = await import('pg');
const probe = new pg.Client({ connectionString: postgresUrl });
const reachable = await probe.connect().then(
  () => true,
  () => false,
);
if (!reachable) console.log(`\nPostgreSQL skipped: nothing answers at ${postgresUrl.replace(/\/\/[^@/]*@/, '//…@')}`);
else {
  await run(`PostgreSQL (schema ${schema})`, async () => ({
    store: await openStore(postgresUrl, { schema, poolSize: 10 }),
    cleanup: async () => {
      await probe.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  }));
}
await probe.end().catch(() => undefined);
api.close();
