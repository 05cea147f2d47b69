/**
 * What the Patchbay processes of bench:proxy, bench:events and bench:start serve: a connector whose
 * base URL is the bench upstream, an integration with one action on it, and for tenant `t1` a
 * bearer connection and a working install, an access key and a partner key allowed to send and
 * receive `bench/*`.
 */
import { createConnection } from '../packages/server/dist/connections/service.js';
import type { AppContext, Declarations } from '../packages/server/dist/index.js';
import { createAccessKey } from '../packages/server/dist/keys/service.js';
import { grantTopic } from '../packages/server/dist/partners/grants.js';
import { issuePartnerKey } from '../packages/server/dist/partners/keys.js';
import { createPartner } from '../packages/server/dist/partners/service.js';
import { isoNow } from '../packages/server/dist/store/time.js';

export function benchDeclarations(upstream: string): Declarations {
  return {
    connectors: [
      { slug: 'bench', name: 'Bench API', description: '', baseUrl: upstream, visibility: 'shared', authMethods: [{ type: 'bearer' }], actions: {} },
    ],
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
}

export interface BenchCredentials {
  key: string;
  partnerKey: string;
  connectionId: string;
}

/** Writes the bench's records through the services, on a Patchbay built with benchDeclarations. */
export async function seedBench(ctx: AppContext): Promise<BenchCredentials> {
  const { key } = await createAccessKey(ctx, {
    name: 'bench',
    scopes: ['installs:read', 'installs:write', 'events:publish', 'events:consume', 'metrics:read'],
  });
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
  return { key, partnerKey, connectionId };
}
