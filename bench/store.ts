/**
 * `npm run bench:store`: what the store costs as it grows, on SQLite and on PostgreSQL in one run.
 *
 *  - key verification p50/p99 (the uncached path: HMAC, then the lookup by secret hash) with
 *    1 000 and with 1 000 000 stored keys; target: the 1 000 000 figure within 1.2× of the 1 000 one;
 *  - install search by tag p50 with 100 000 installs (a tenant tag that matches one install, and a
 *    plan tag that matches a third of them, first page);
 *  - session commits per second (install, tag rows and the session's link in one transaction, plus
 *    the asynchronous completion), from 16 concurrent callers.
 *
 * Rows are inserted in bulk batches straight through the store, not through the API, so filling a
 * million keys takes seconds. PostgreSQL: PATCHBAY_BENCH_DATABASE_URL, else PATCHBAY_TEST_DATABASE_URL,
 * else a postgres DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; each run uses a fresh
 * schema and drops it. BENCH_KEYS (default 1000000) and BENCH_INSTALLS (default 100000) scale it down.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AppContext } from '../packages/server/src/context.js';
import { generateAccessKey, accessKeyPrefix } from '../packages/server/src/crypto/access-key.js';
import { hmacSha256 } from '../packages/server/src/crypto/hmac.js';
import { ActiveInstallCache } from '../packages/server/src/installs/active-cache.js';
import { commitInstall, searchInstalls } from '../packages/server/src/installs/service.js';
import { KeyVerifier } from '../packages/server/src/keys/verifier.js';
import { createLogger } from '../packages/server/src/logger.js';
import { openStore, type Store } from '../packages/server/src/store/store.js';

const BIG_KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const SMALL_KEYS = 1_000;
const INSTALLS = Number(process.env.BENCH_INSTALLS ?? 100_000);
const LOOKUPS = 3_000;
const SEARCHES = 300;
const COMMITS = 2_000;
const COMMIT_CONCURRENCY = 16;
const NOW = new Date().toISOString();

const postgresUrl =
  process.env.PATCHBAY_BENCH_DATABASE_URL ||
  process.env.PATCHBAY_TEST_DATABASE_URL ||
  (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined) ||
  'postgres://postgres@127.0.0.1:5432/test';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (value: number) => `${value.toFixed(3)} ms`;

/** Inserts rows in batches sized to stay under both databases' bound-parameter limits. */
async function insertBatches(
  store: Store,
  table: 'access_keys' | 'installs' | 'install_tags' | 'sessions',
  total: number,
  row: (index: number) => Record<string, unknown>,
): Promise<void> {
  const columns = Object.keys(row(0)).length;
  const batch = Math.floor((store.dialect === 'sqlite' ? 30_000 : 60_000) / columns);
  for (let start = 0; start < total; start += batch) {
    const rows = Array.from({ length: Math.min(batch, total - start) }, (_, i) => row(start + i));
    await store.db
      .insertInto(table)
      .values(rows as never)
      .execute();
  }
}

function keyRow(hashingKey: Buffer, index: number, key?: string) {
  const secret = key ?? `filler-${index}-${randomBytes(8).toString('hex')}`;
  return {
    id: `key_${String(index).padStart(22, '0')}`,
    name: `bench-${index}`,
    key_prefix: key ? accessKeyPrefix(key) : 'pbk_fill',
    secret_hash: hmacSha256(hashingKey, secret),
    scopes: '["installs:read"]',
    tenant_id: null,
    created_at: NOW,
    expires_at: null,
    inactive_at: null,
    last_authenticated_at: null,
    description: null,
    ip_allowlist: null,
    rolled_from: null,
  };
}

async function timeLookups(verifier: KeyVerifier, keys: string[]): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 300; i++) await verifier.verifyKey(keys[i % keys.length]!);
  const samples: number[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const key = keys[Math.floor(Math.random() * keys.length)]!;
    const started = performance.now();
    const result = await verifier.verifyKey(key);
    samples.push(performance.now() - started);
    if (!result.ok) throw new Error('a stored key did not verify');
  }
  samples.sort((a, b) => a - b);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

async function benchKeys(store: Store) {
  const hashingKey = randomBytes(32);
  const verifier = new KeyVerifier({ store, hashingKey }, 0); // no cache: every call reads the store
  const keys = Array.from({ length: SMALL_KEYS }, () => generateAccessKey());
  await insertBatches(store, 'access_keys', SMALL_KEYS, (i) => keyRow(hashingKey, i, keys[i]));
  const small = await timeLookups(verifier, keys);
  const filling = performance.now();
  await insertBatches(store, 'access_keys', BIG_KEYS - SMALL_KEYS, (i) => keyRow(hashingKey, SMALL_KEYS + i));
  const fillSeconds = (performance.now() - filling) / 1000;
  if (store.dialect === 'postgres') await store.db.executeQuery({ sql: 'ANALYZE access_keys', parameters: [], query: { kind: 'RawNode' } } as never);
  const big = await timeLookups(verifier, keys);
  return { small, big, fillSeconds };
}

async function benchSearch(store: Store, ctx: AppContext) {
  const plans = ['free', 'pro', 'team'];
  await insertBatches(store, 'installs', INSTALLS, (i) => ({
    id: `ins_${String(i).padStart(22, '0')}`,
    integration_id: 'bench-sync',
    tenant_id: `tenant-${i}`,
    session_id: `ses_fill_${i}`,
    tags: JSON.stringify({ 'fusebit.tenantId': `tenant-${i}`, plan: plans[i % 3], region: i % 2 ? 'eu' : 'us' }),
    connection_ids: '[]',
    config: '{}',
    status: 'success',
    status_message: null,
    created_at: NOW,
    updated_at: NOW,
    deleted_at: null,
  }));
  await insertBatches(store, 'install_tags', INSTALLS * 3, (n) => {
    const i = Math.floor(n / 3);
    const which = n % 3;
    const [tag_key, tag_value] = which === 0 ? ['fusebit.tenantId', `tenant-${i}`] : which === 1 ? ['plan', plans[i % 3]!] : ['region', i % 2 ? 'eu' : 'us'];
    return { install_id: `ins_${String(i).padStart(22, '0')}`, tag_key, tag_value };
  });
  // What the server's statistics job does: PostgreSQL's ANALYZE (autovacuum), SQLite's hourly PRAGMA optimize.
  if (store.dialect === 'postgres')
    await store.db.executeQuery({ sql: 'ANALYZE installs; ANALYZE install_tags', parameters: [], query: { kind: 'RawNode' } } as never);
  else await store.optimize?.();
  const time = async (tag: () => [string, string], expect: (count: number) => boolean) => {
    const samples: number[] = [];
    for (let i = 0; i < SEARCHES + 30; i++) {
      const tags = [tag()];
      const started = performance.now();
      const page = await searchInstalls(ctx, 'bench-sync', { tags, limit: 20 });
      if (i >= 30) samples.push(performance.now() - started);
      if (!expect(page.data.length)) throw new Error(`search for ${tags[0]!.join('=')} found ${page.data.length}`);
    }
    samples.sort((a, b) => a - b);
    return quantile(samples, 0.5);
  };
  const tenant = await time(
    () => ['fusebit.tenantId', `tenant-${Math.floor(Math.random() * INSTALLS)}`],
    (count) => count === 1,
  );
  const plan = await time(
    () => ['plan', plans[Math.floor(Math.random() * 3)]!],
    (count) => count === 20,
  );
  return { tenant, plan };
}

async function benchCommits(store: Store, ctx: AppContext) {
  await store.db
    .insertInto('connections')
    .values({
      id: 'con_bench',
      connector_id: 'plain',
      tenant_id: 'bench',
      label: null,
      auth_method: 'none',
      status: 'active',
      credentials_ciphertext: 'x',
      expires_at: null,
      refresh_lease_until: null,
      created_at: NOW,
      updated_at: NOW,
    } as never)
    .execute();
  await insertBatches(store, 'sessions', COMMITS, (i) => ({
    id: `ses_bench_${i}`,
    integration_id: 'bench-sync',
    tenant_id: `commit-tenant-${i}`,
    tags: JSON.stringify({ 'fusebit.tenantId': `commit-tenant-${i}`, plan: 'pro' }),
    redirect_url: null,
    token_hash: `hash-${i}`,
    status: 'authorized',
    opener_origin: null,
    mode: 'popup',
    oauth_state_hash: null,
    pkce_verifier_ciphertext: null,
    connection_id: 'con_bench',
    config: null,
    error_code: null,
    error_message: null,
    install_id: null,
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    created_at: NOW,
    updated_at: NOW,
  }));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: COMMIT_CONCURRENCY }, async () => {
      while (next < COMMITS) {
        const i = next++;
        await commitInstall(ctx, {
          sessionId: `ses_bench_${i}`,
          integrationId: 'bench-sync',
          tenantId: `commit-tenant-${i}`,
          tags: { 'fusebit.tenantId': `commit-tenant-${i}`, plan: 'pro' },
          connectionId: 'con_bench',
          config: {},
          by: { actor: 'bench' },
          committedInstall: async () => null,
          linkSession: async (trx, installId) => {
            await trx.updateTable('sessions').set({ install_id: installId, status: 'committed' }).where('id', '=', `ses_bench_${i}`).execute();
          },
        });
      }
    }),
  );
  const perSecond = COMMITS / ((performance.now() - started) / 1000);
  // Let the asynchronous completions finish before the store closes.
  for (let i = 0; i < 600; i++) {
    const pending = await store.db.selectFrom('installs').select('id').where('status', '=', 'pending').limit(1).execute();
    if (pending.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return perSecond;
}

async function run(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  const { store, cleanup } = await open();
  try {
    await store.migrate();
    const logger = createLogger('warn');
    const ctx = { store, logger, activeInstalls: new ActiveInstallCache(0) } as unknown as AppContext;
    const keys = await benchKeys(store);
    const search = await benchSearch(store, ctx);
    const commits = await benchCommits(store, ctx);
    const ratio = keys.big.p50 / keys.small.p50;
    console.log(`\n${name}`);
    console.log(`  key verification, ${SMALL_KEYS.toLocaleString('en')} keys:      p50 ${ms(keys.small.p50)}  p99 ${ms(keys.small.p99)}`);
    console.log(
      `  key verification, ${BIG_KEYS.toLocaleString('en')} keys:  p50 ${ms(keys.big.p50)}  p99 ${ms(keys.big.p99)}  (p50 ${ratio.toFixed(2)}× the small one; target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'MISSED'}; filled in ${keys.fillSeconds.toFixed(1)} s)`,
    );
    console.log(
      `  install search by tag, ${INSTALLS.toLocaleString('en')} installs: p50 ${ms(search.tenant)} (tenant tag, 1 match), ${ms(search.plan)} (plan tag, first 20 of ~${Math.round(INSTALLS / 3).toLocaleString('en')})`,
    );
    console.log(
      `  session commits: ${Math.round(commits).toLocaleString('en')} per second (${COMMIT_CONCURRENCY} concurrent callers, ${COMMITS.toLocaleString('en')} commits)`,
    );
  } finally {
    await store.close();
    await cleanup();
  }
}

console.log(
  `bench:store — ${BIG_KEYS.toLocaleString('en')} keys, ${INSTALLS.toLocaleString('en')} installs, ${LOOKUPS} lookups per figure (uncached verification)`,
);
await run('SQLite (embedded file, WAL)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-store-'));
  return { store: await openStore(`sqlite:${path.join(dir, 'bench.db')}`), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const schema = `bench_${randomBytes(5).toString('hex')}`;
const { default: pg } = await import('pg');
const probe = new pg.Client({ connectionString: postgresUrl });
const reachable = await probe.connect().then(
  () => true,
  () => false,
);
if (!reachable) {
  console.log(`\nPostgreSQL skipped: nothing answers at ${postgresUrl.replace(/\/\/[^@/]*@/, '//…@')} (set PATCHBAY_BENCH_DATABASE_URL=postgres://…)`);
} else {
  await run(`PostgreSQL (${postgresUrl.replace(/\/\/[^@/]*@/, '//…@')}, schema ${schema})`, async () => ({
    store: await openStore(postgresUrl, { schema, poolSize: 10 }),
    cleanup: async () => {
      await probe.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  }));
}
await probe.end().catch(() => undefined);
