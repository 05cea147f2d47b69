import type { ConnectorState, SessionConnectorView, TenantConnectionView } from '@patchbay/contract';
import { type AuditActor, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { healthOf, reauthDueAt } from '../connections/health.js';
import { credentialsAad } from '../connections/credentials.js';
import { toConnectionView } from '../connections/service.js';
import { conflict, notFound } from '../http/errors.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { ownedConnection } from './connection.js';
import { requireIntegration } from './service.js';
import { methodsDefaultFirst } from './start.js';
import { sessionExpired, type SessionStatus } from './state.js';

/** A session still re-authorizing a connection: revoking under it would leave it nothing to finish. */
const REAUTH_IN_PROGRESS: SessionStatus[] = ['started', 'configuring', 'authorized'];

/**
 * The session behind a session-token route. An expired session answers 410 even when committed:
 * the token is a short-lived credential, and these routes let it read and change the tenant's
 * connections.
 */
async function liveSession(ctx: AppContext, integrationId: string, sessionId: string) {
  const row = await ctx.store.db
    .selectFrom('sessions')
    .select(['id', 'tenant_id', 'requested_connector', 'expires_at'])
    .where('id', '=', sessionId)
    .where('integration_id', '=', integrationId)
    .executeTakeFirst();
  if (!row) throw notFound('session_not_found', 'No such session.');
  if (Date.parse(row.expires_at) <= Date.now()) throw sessionExpired();
  return row;
}

/**
 * The connectors this session shows: the one the host opened it for, else all the integration's,
 * also after the tenant chose one (the view read again after connecting keeps the others).
 */
function shownConnectors(ctx: AppContext, integrationId: string, session: { requested_connector: string | null }): string[] {
  const integration = requireIntegration(ctx, integrationId);
  return session.requested_connector ? [session.requested_connector] : integration.connectors;
}

function stateOf(connections: TenantConnectionView[]): ConnectorState {
  if (connections.length === 0) return 'not_connected';
  if (connections.some((c) => c.status === 'needs_reauth')) return 'needs_reauth';
  return connections.some((c) => c.status === 'expiring') ? 'expiring' : 'connected';
}

/** The connectors a session may authorize, with the tenant's state for each (for the widget's components). */
export async function sessionConnectors(ctx: AppContext, integrationId: string, sessionId: string): Promise<SessionConnectorView[]> {
  const session = await liveSession(ctx, integrationId, sessionId);
  const allowed = shownConnectors(ctx, integrationId, session);
  const rows = await ctx.store.db
    .selectFrom('connections')
    .select(['id', 'label', 'status', 'needs_reauth_reason', 'connector_id', 'tenant_id', 'credentials_ciphertext', 'created_at'])
    .where('tenant_id', '=', session.tenant_id)
    .where('connector_id', 'in', allowed)
    .where('status', '!=', 'revoked')
    .orderBy('created_at')
    .execute();
  const now = Date.now();
  return allowed.flatMap((slug) => {
    const connector = ctx.catalog.connectors.get(slug);
    if (!connector) return [];
    const connections = rows
      .filter((row) => row.connector_id === slug)
      .flatMap((row): TenantConnectionView[] => {
        const expiresAt = reauthDueAt(ctx, row);
        const { health, reason } = healthOf(ctx, row, expiresAt, now);
        // Revoked rows were left out above; the guard only narrows the type.
        return health === 'revoked' ? [] : [{ id: row.id, label: row.label, status: health, reason, connectedAt: row.created_at, expiresAt }];
      });
    return [
      {
        slug,
        name: connector.name,
        description: connector.description,
        domain: connector.domain ?? null,
        iconUrl: connector.iconUrl ?? null,
        methods: methodsDefaultFirst(connector).map((method) => method.type),
        state: stateOf(connections),
        connections,
      },
    ];
  });
}

/**
 * The tenant disconnects one of its connections from the widget. Revoking marks the row, wipes
 * its credentials and writes the audit entry in one transaction, so there is never a revoked
 * connection with live credentials, nor a revocation without its entry. Revoking is final:
 * `replaceCredentials` refuses a revoked connection, so a re-authorization that began after this
 * check cannot bring it back. Disconnecting an already revoked connection answers the same view
 * again (a retried request is not an error).
 */
export async function disconnectConnection(
  ctx: AppContext,
  integrationId: string,
  sessionId: string,
  connectionId: string,
  by: AuditActor,
): Promise<SessionConnectorView[]> {
  const session = await liveSession(ctx, integrationId, sessionId);
  const allowed = shownConnectors(ctx, integrationId, session);
  await ctx.store.db.transaction().execute(async (trx) => {
    const row = await ownedConnection(trx, connectionId, { tenantId: session.tenant_id, connectors: allowed });
    // One answer for "no such connection", "another tenant's" and "another integration's": no probing.
    if (!row) {
      throw notFound('connection_not_found', 'This tenant has no such connection here.');
    }
    if (row.status === 'revoked') return;
    const busy = await trx
      .selectFrom('sessions')
      .select(['id', 'status'])
      .where('reauth_connection_id', '=', connectionId)
      .where('status', 'in', REAUTH_IN_PROGRESS)
      .where('expires_at', '>', isoNow())
      .executeTakeFirst();
    if (busy) {
      throw conflict(
        'connection_in_use',
        busy.id === sessionId
          ? 'This session is signing in again to this connection; finish or cancel that first.'
          : 'Another sign-in is renewing this connection right now; try again when it has finished.',
      );
    }
    const revoked = await trx
      .updateTable('connections')
      .set({
        status: 'revoked',
        credentials_ciphertext: ctx.keyring.encrypt(JSON.stringify({ type: 'none' }), credentialsAad(row.id, row.tenant_id)),
        expires_at: null,
        refresh_lease_until: null,
        needs_reauth_reason: null,
        next_check_at: null,
        updated_at: isoNow(),
      })
      .where('id', '=', row.id)
      // Two concurrent disconnects: the second finds the row already revoked and writes no second entry.
      .where('status', '!=', 'revoked')
      .returningAll()
      .executeTakeFirst();
    if (!revoked) return;
    await writeAudit(trx, {
      ...by,
      via: sessionId,
      action: 'connection.revoked',
      targetType: 'connection',
      targetId: row.id,
      details: { connector: row.connector_id, tenantId: row.tenant_id, integrationId, via: 'widget' },
    });
    await emitWebhookEvent(trx, 'connection.revoked', toConnectionView(ctx, revoked));
  });
  return sessionConnectors(ctx, integrationId, sessionId);
}
