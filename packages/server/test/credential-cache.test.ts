import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection, replaceCredentials } from '../src/connections/service.js';
import type { Declarations } from '../src/index.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

/**
 * The proxy keeps decrypted credentials in memory between calls; these tests change a connection
 * behind its back, through the store only, as another instance would, and check that the next
 * call sees the change.
 */
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
      ],
      integrations: [],
    } as unknown as Declarations;
    patchbay = await startPatchbay({ declarations });
    accessKey = await patchbay.accessKey(['installs:read', 'installs:write']);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const proxy = (connectionId: string) =>
    fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/me`, { headers: { authorization: `Bearer ${accessKey}` } });

  it('uses credentials changed in the store (another instance re-authorizing) at the very next call', async () => {
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't1', credentials: { type: 'bearer', token: 'stale-token' } });
    assert.equal((await proxy(connectionId)).status, 401, 'the stand-in refuses the stale token');
    assert.equal((await proxy(connectionId)).status, 401, 'the stale token is what the proxy holds now');
    // Straight through the store, as another instance writes it: this instance is not told.
    await replaceCredentials(ctx, connectionId, 't1', { type: 'bearer', token: STAND_IN.bearer });
    assert.equal((await proxy(connectionId)).status, 200);
  });

  it('refuses a connection revoked in the store at the next call, whatever it held for it', async () => {
    const { ctx } = patchbay.patchbay;
    const connectionId = await createConnection(ctx, { connector: 'bearer', tenantId: 't2', credentials: { type: 'bearer', token: STAND_IN.bearer } });
    assert.equal((await proxy(connectionId)).status, 200);
    await ctx.store.db.updateTable('connections').set({ status: 'revoked' }).where('id', '=', connectionId).execute();
    const refused = await proxy(connectionId);
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'connection_revoked');
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
