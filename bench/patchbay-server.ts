/**
 * The Patchbay process for bench:proxy and bench:events: the real app on its own listener, with a
 * connector whose base URL is BENCH_UPSTREAM (when given), a bearer connection and a working
 * install for tenant `t1`, an access key and a partner key allowed to send and receive `bench/*`.
 * It tells the parent its port and those credentials, then serves until SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConnection } from '../packages/server/src/connections/service.js';
import { loadConfig, createPatchbay, type Declarations } from '../packages/server/src/index.js';
import { createAccessKey } from '../packages/server/src/keys/service.js';
import { grantTopic } from '../packages/server/src/partners/grants.js';
import { issuePartnerKey } from '../packages/server/src/partners/keys.js';
import { createPartner } from '../packages/server/src/partners/service.js';
import { isoNow } from '../packages/server/src/store/time.js';

const upstream = process.env.BENCH_UPSTREAM ?? 'http://127.0.0.1:9';
const declarations = {
  connectors: [{ slug: 'bench', name: 'Bench API', description: '', baseUrl: upstream, visibility: 'shared', authMethods: [{ type: 'bearer' }], actions: {} }],
  integrations: [
    {
      id: 'bench-sync',
      name: 'Bench sync',
      description: '',
      connectors: ['bench'],
      allowedOrigins: ['https://app.example.com'],
      configFields: [],
      actions: { me: { connector: 'bench', method: 'GET', path: '/me', forwardBody: false } },
    },
  ],
} as unknown as Declarations;

const config = loadConfig([], process.env);
const patchbay = await createPatchbay(config, { declarations });
const { ctx } = patchbay;
const { key } = await createAccessKey(ctx, { name: 'bench', scopes: ['installs:read', 'installs:write', 'events:publish', 'events:consume'] });
const connectionId = await createConnection(ctx, { connector: 'bench', tenantId: 't1', credentials: { type: 'bearer', token: 'bench-secret' } });
const now = isoNow();
await ctx.store.db
  .insertInto('installs')
  .values({
    id: `ins_bench${Date.now()}`,
    integration_id: 'bench-sync',
    tenant_id: 't1',
    session_id: `ses_bench${Date.now()}`,
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
const partner = await createPartner(ctx, { appName: 'Bench partner' }, 'bench');
await grantTopic(ctx, partner.id, { pattern: 'bench/*', environment: 'prod', send: true, receive: true }, 'bench');
const partnerKey = await issuePartnerKey(ctx, partner.id, 'prod', null);

const server = createServer(patchbay.app);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port, key, partnerKey, connectionId }));
// The parent asks for memory figures between phases.
process.on('message', (message) => {
  if (message === 'memory') process.send?.({ memory: process.memoryUsage() });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void patchbay.close().then(() => process.exit(0)));
});
