import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InstallView } from '@patchbay/contract';
import { ActiveInstallCache } from '../src/installs/active-cache.js';
import { bearerConnector, catalogClient, echoIntegration } from './support/catalog.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, installEchoForTenant } from './support/install-flow.js';
import { STORE_LABEL } from './support/processes.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/** First's window outlasts every test: only a `forget` explains a change seen there. */
const FIRST_WINDOW_SECONDS = 60;
const SECOND_WINDOW_SECONDS = 0.3;

/**
 * Tenant actions reuse the tenant's install for the connection cache window
 * (installs/active-cache.ts). Two instances on one store (SQLite file or PostgreSQL): the first keeps what it
 * read for a minute, so a change it sees at once was forgotten by its own write; the second keeps
 * it for a fraction of a second, and sees the first's writes once that has passed.
 */
describe(`tenant actions' install cache (two instances on one ${STORE_LABEL})`, () => {
  let api: StandInApi;
  let first: TestPatchbay;
  let second: TestPatchbay;
  let hostKey: string;

  before(async () => {
    api = await startStandInApi();
    first = await startPatchbay({ declarations: echoDeclarations(api), config: { connectionCacheSeconds: FIRST_WINDOW_SECONDS } });
    second = await startPatchbay({
      declarations: echoDeclarations(api),
      config: {
        databaseUrl: first.config.databaseUrl,
        dbSchema: first.config.dbSchema,
        masterKeys: first.config.masterKeys,
        connectionCacheSeconds: SECOND_WINDOW_SECONDS,
      },
    });
    hostKey = await first.accessKey();
  });

  after(async () => {
    // The second shares the first's store: it goes first.
    await second?.close();
    await first?.close();
    await api?.close();
  });

  const act = (server: TestPatchbay, tenantId: string, integrationId = 'echo-sync') =>
    fetch(`${server.origin}/v1/integrations/${integrationId}/api/tenant/${tenantId}/echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hostKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId }),
    });
  const errorCode = async (answer: Response) => ((await answer.json()) as { error: { code: string } }).error.code;
  const assertUninstalled = async (answer: Response, why: string) => {
    assert.equal(answer.status, 404, why);
    assert.equal(await errorCode(answer), 'install_not_found', why);
  };
  const onFirst = (path: string, init: RequestInit = {}) =>
    fetch(`${first.origin}${path}`, { ...init, headers: { authorization: `Bearer ${hostKey}`, ...init.headers } });

  it('an install deleted on one instance ends its actions there at the very next call, and on the other within its window', async () => {
    const { installId } = await installEchoForTenant(first.origin, hostKey, 'leaving');
    assert.equal((await act(first, 'leaving')).status, 200);
    assert.equal((await act(second, 'leaving')).status, 200, 'the second instance reads (and keeps) the install the first one made');
    const deleted = await onFirst(`/v1/integrations/echo-sync/install/${installId}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    await assertUninstalled(await act(first, 'leaving'), 'the deleting instance forgot the install it held');
    await new Promise((resolve) => setTimeout(resolve, SECOND_WINDOW_SECONDS * 1000 + 50));
    await assertUninstalled(await act(second, 'leaving'), 'the window bounds how long another instance runs an uninstalled tenant’s actions');
  });

  it('a commit that replaces the tenant’s connection is used from the next call on, so revoking the old one stops nothing', async () => {
    const { installId } = await installEchoForTenant(first.origin, hostKey, 'moving');
    const installed = (await (await onFirst(`/v1/integrations/echo-sync/install/${installId}`)).json()) as InstallView;
    assert.equal((await act(first, 'moving')).status, 200);
    const again = await installEchoForTenant(first.origin, hostKey, 'moving');
    assert.equal(again.installId, installId, 'the commit added to the tenant’s install');
    const [replaced] = installed.connectionIds;
    const revoked = await onFirst(`/v1/connections/${replaced}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200);
    const answer = await act(first, 'moving');
    assert.equal(answer.status, 200, `the action runs on the new connection: ${await answer.clone().text()}`);
    assert.equal(((await answer.json()) as { status: number }).status, 200);
  });

  it('an integration deleted with force takes its installs along: made again under the same id, it has none', async () => {
    const call = catalogClient(first.origin, await first.accessKey(['connectors:read', 'connectors:write']));
    const connector = await call('/v1/connectors', { json: bearerConnector(api, { name: 'Cache bearer' }) });
    assert.equal(connector.status, 201, connector.text);
    const slug = connector.body.slug as string;
    const created = await call('/v1/integrations', { json: echoIntegration(slug, { id: 'cache-sync' }) });
    assert.equal(created.status, 201, created.text);
    await installEchoForTenant(first.origin, hostKey, 'kept', { integrationId: 'cache-sync', connector: slug });
    assert.equal((await act(first, 'kept', 'cache-sync')).status, 200);
    const deleted = await call('/v1/integrations/cache-sync?force=true', { method: 'DELETE' });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await call('/v1/integrations', { json: echoIntegration(slug, { id: 'cache-sync' }) })).status, 201);
    await assertUninstalled(await act(first, 'kept', 'cache-sync'), 'the deleted integration’s install is not run for the new one');
  });
});

describe('ActiveInstallCache', () => {
  const view = (tenantId: string): InstallView => ({
    id: `ins_${tenantId}`,
    integrationId: 'sync',
    tenantId,
    tags: {},
    connectionIds: [],
    config: {},
    operationState: { status: 'success' },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  });
  /** Reads through the cache, counting the loads that reach the "store". */
  const counted = (cache: ActiveInstallCache) => {
    const loads: string[] = [];
    const read = (integrationId: string, tenantId: string) =>
      cache.read(integrationId, tenantId, async () => {
        loads.push(`${integrationId}/${tenantId}`);
        return view(tenantId);
      });
    return { loads, read };
  };

  it('keeps no install read while a change was being made (it may predate the change)', async () => {
    const cache = new ActiveInstallCache(60_000);
    await cache.read('sync', 't1', async () => {
      cache.forget('sync', 't1');
      return view('t1');
    });
    const { loads, read } = counted(cache);
    await read('sync', 't1');
    assert.deepEqual(loads, ['sync/t1'], 'the install read across the forget was not kept');
    await read('sync', 't1');
    assert.deepEqual(loads, ['sync/t1'], 'an install read after it is kept for the window');
  });

  it('keeps no tenant without an install, so an install made elsewhere works at its first action', async () => {
    const cache = new ActiveInstallCache(60_000);
    assert.equal(await cache.read('sync', 't1', async () => null), null);
    assert.equal((await cache.read('sync', 't1', async () => view('t1')))?.id, 'ins_t1');
  });

  it('forgets one tenant, or every tenant of one integration, and nothing of the other integrations', async () => {
    const cache = new ActiveInstallCache(60_000);
    const { loads, read } = counted(cache);
    for (const [integration, tenant] of [
      ['sync', 't1'],
      ['sync', 't2'],
      ['other', 't1'],
      // Keys that a plain separator would confuse: `a/b` + `c` and `a` + `b/c`.
      ['a/b', 'c'],
      ['a', 'b/c'],
    ] as const)
      await read(integration, tenant);
    assert.equal(loads.length, 5, 'no two integration and tenant pairs share an entry');
    cache.forget('sync', 't1');
    await read('sync', 't1');
    await read('sync', 't2');
    assert.deepEqual(loads.slice(5), ['sync/t1'], 'one tenant forgotten');
    cache.forget('sync');
    for (const [integration, tenant] of [
      ['sync', 't1'],
      ['sync', 't2'],
      ['other', 't1'],
      ['a/b', 'c'],
    ] as const)
      await read(integration, tenant);
    assert.deepEqual(loads.slice(6), ['sync/t1', 'sync/t2'], 'the integration’s tenants forgotten, the others kept');
  });

  it('holds at most 10 000 installs, letting the oldest go', async () => {
    const cache = new ActiveInstallCache(60_000);
    const { loads, read } = counted(cache);
    for (let tenant = 0; tenant <= 10_000; tenant++) await read('sync', `t${tenant}`);
    await read('sync', 't10000');
    await read('sync', 't1');
    assert.equal(loads.length, 10_001, 'the newest and the second oldest are still held');
    await read('sync', 't0');
    assert.equal(loads.at(-1), 'sync/t0', 'the oldest went when the 10 001st came');
  });

  it('keeps nothing with a window of 0 (PATCHBAY_CONNECTION_CACHE_SECONDS=0)', async () => {
    const cache = new ActiveInstallCache(0);
    const { loads, read } = counted(cache);
    await read('sync', 't1');
    await read('sync', 't1');
    assert.equal(loads.length, 2);
  });
});
