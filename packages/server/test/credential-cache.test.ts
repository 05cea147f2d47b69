import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection, replaceCredentials } from '../src/connections/service.js';
import type { Declarations } from '../src/index.js';
import type { ConnectionsTable } from '../src/store/schema.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

/**
 * The proxy keeps connection rows (for `connectionCacheSeconds`) and decrypted credentials in
 * memory between calls; these tests change a connection on this instance, and behind its back
 * through the store only, as another instance would, and check when the next call sees the change.
 */
const CACHE_SECONDS = 0.3;
describe('decrypted credentials held between proxy calls', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let accessKey: string;

  before(async () => {
    api = await startStandInApi();
    const declarations = {
      connectors: [
        {
          slug: 'bearer',
          name: 'Bearer API',
          description: '',
          baseUrl: `${api.origin}/bearer`,
          visibility: 'private',
          authMethods: [{ type: 'bearer' }],
          actions: {},
        },
        {
          slug: 'shared-bearer',
          name: 'Shared bearer API',
          description: '',
          baseUrl: `${api.origin}/bearer`,
          authMethods: [{ type: 'bearer' }],
          actions: {},
        },
      ],
      integrations: [
        {
          id: 'cached-sync',
          name: 'Cached sync',
          description: '',
          connectors: ['shared-bearer'],
          allowedOrigins: [],
          configFields: [],
          actions: { who: { connector: 'shared-bearer', method: 'GET', path: '/first', forwardBody: false } },
        },
      ],
    } as unknown as Declarations;
    patchbay = await startPatchbay({ declarations, config: { connectionCacheSeconds: CACHE_SECONDS } });
    accessKey = await patchbay.accessKey(['installs:read', 'installs:write']);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const proxy = (connectionId: string) =>
    fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/me`, { headers: { authorization: `Bearer ${accessKey}` } });

  const assertRevoked = async (answer: Response, why: string) => {
    assert.equal(answer.status, 409, why);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'connection_revoked', why);
  };

  it('uses credentials re-authorized on this instance at the very next call', async () => {
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't1', credentials: { type: 'bearer', token: 'stale-token' } });
    assert.equal((await proxy(connectionId)).status, 401, 'the stand-in refuses the stale token');
    assert.equal((await proxy(connectionId)).status, 401, 'the stale token is what the proxy holds now');
    await replaceCredentials(ctx, connectionId, 't1', { type: 'bearer', token: STAND_IN.bearer });
    assert.equal((await proxy(connectionId)).status, 200);
  });

  it('refuses a connection revoked on this instance (DELETE /v1/connections/:id) at the very next call', async () => {
    const { ctx } = patchbay.patchbay;
    const admin = await patchbay.accessKey(['installs:read', 'installs:write']);
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't4', credentials: { type: 'bearer', token: STAND_IN.bearer } });
    assert.equal((await proxy(connectionId)).status, 200);
    const revoke = await fetch(`${patchbay.origin}/v1/connections/${connectionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(revoke.status, 200);
    await assertRevoked(await proxy(connectionId), 'the revoking instance forgets the row it held');
  });

  it('refuses a connection revoked in the store (another instance) once the connection cache window has passed', async () => {
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't2', credentials: { type: 'bearer', token: STAND_IN.bearer } });
    assert.equal((await proxy(connectionId)).status, 200);
    // Straight through the store, as another instance writes it: this instance is not told.
    await ctx.store.db.updateTable('connections').set({ status: 'revoked' }).where('id', '=', connectionId).execute();
    await new Promise((resolve) => setTimeout(resolve, CACHE_SECONDS * 1000 + 50));
    await assertRevoked(await proxy(connectionId), 'the window bounds how long another instance may serve it');
  });

  it('tenant actions see an integration changed and an install deleted by another instance within the window', async () => {
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'shared-bearer', tenantId: 't6', credentials: { type: 'bearer', token: STAND_IN.bearer } });
    const now = new Date().toISOString();
    await ctx.store.db
      .insertInto('installs')
      .values({
        id: 'ins_cached',
        integration_id: 'cached-sync',
        tenant_id: 't6',
        session_id: 'ses_cached',
        tags: '{}',
        connection_ids: JSON.stringify([connectionId]),
        config: '{}',
        status: 'success',
        status_message: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .execute();
    const act = () =>
      fetch(`${patchbay.origin}/v1/integrations/cached-sync/api/tenant/t6/who`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
        body: '{}',
      });
    const pathCalled = async () => {
      const answer = await act();
      assert.equal(answer.status, 200);
      return ((await answer.json()) as { body: { path: string } }).body.path;
    };
    assert.equal(await pathCalled(), '/bearer/first');
    // The action's path changed straight in the store, as another instance's PATCH writes it.
    const row = await ctx.store.db.selectFrom('integrations').select('definition').where('id', '=', 'cached-sync').executeTakeFirstOrThrow();
    const definition = JSON.parse(row.definition) as { actions: { who: { path: string } } };
    definition.actions.who.path = '/second';
    await ctx.store.db
      .updateTable('integrations')
      .set({ definition: JSON.stringify(definition) })
      .where('id', '=', 'cached-sync')
      .execute();
    await new Promise((resolve) => setTimeout(resolve, CACHE_SECONDS * 1000 + 50));
    assert.equal(await pathCalled(), '/bearer/second', 'the window bounds how long the old declaration is used');
    // Deleted straight in the store, as another instance writes it (one deleted here: install-cache.test.ts).
    await ctx.store.db.updateTable('installs').set({ deleted_at: new Date().toISOString() }).where('id', '=', 'ins_cached').execute();
    await new Promise((resolve) => setTimeout(resolve, CACHE_SECONDS * 1000 + 50));
    const ended = await act();
    assert.equal(ended.status, 404, 'the window bounds how long another instance runs an uninstalled tenant’s actions');
    assert.equal(((await ended.json()) as { error: { code: string } }).error.code, 'install_not_found');
  });

  it('keeps no row read while a change was being made on this instance (it may predate the change)', async () => {
    const { ReadCache } = await import('../src/store/read-cache.js');
    const cache = new ReadCache<ConnectionsTable>(60_000);
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't5', credentials: { type: 'bearer', token: STAND_IN.bearer } });
    const load = () => ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirst();
    const inFlight = cache.read(connectionId, async () => {
      const row = await load();
      cache.forget(connectionId);
      return row;
    });
    assert.equal((await inFlight)?.status, 'active');
    let reads = 0;
    await cache.read(connectionId, () => ((reads += 1), load()));
    assert.equal(reads, 1, 'the row read across the forget was not kept');
    await cache.read(connectionId, () => ((reads += 1), load()));
    assert.equal(reads, 1, 'a row read after it is kept for the window');
  });

  it('never writes what it holds: the token is in no log line and in no stored column', async () => {
    const { ctx } = patchbay.patchbay;
    const token = 'held-in-memory-only-0123456789';
    api.rotate({ bearer: token });
    try {
      const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't3', credentials: { type: 'bearer', token } });
      for (let call = 0; call < 5; call++) assert.equal((await proxy(connectionId)).status, 200);
      assert.ok(!patchbay.logs.text.includes(token), 'the token is not in the logs');
      const row = await ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(token), 'the row holds only ciphertext');
    } finally {
      api.reset();
    }
  });
});
