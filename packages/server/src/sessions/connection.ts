import type { Kysely } from 'kysely';
import { tenantActor } from '../audit/service.js';
import type { Credentials } from '../connectors/auth-methods.js';
import type { Integration } from '../connectors/catalog.js';
import type { AppContext } from '../context.js';
import { createConnection, replaceCredentials } from '../connections/service.js';
import type { ConnectionsTable, Database } from '../store/schema.js';
import { moveSession, sessionCancelled, sessionExpired, type SessionRow } from './state.js';

/**
 * The connection `connectionId` when it belongs to this tenant and to one of these connectors;
 * undefined otherwise. Callers answer one error for "no such connection" and "someone else's", so
 * nobody can probe other tenants' ids. Revoked connections are returned: callers decide.
 */
export async function ownedConnection(
  db: Kysely<Database>,
  connectionId: string,
  owner: { tenantId: string; connectors: readonly string[] },
): Promise<Pick<ConnectionsTable, 'id' | 'tenant_id' | 'connector_id' | 'status' | 'auth_method'> | undefined> {
  const row = await db
    .selectFrom('connections')
    .select(['id', 'tenant_id', 'connector_id', 'status', 'auth_method'])
    .where('id', '=', connectionId)
    .executeTakeFirst();
  return row && row.tenant_id === owner.tenantId && owner.connectors.includes(row.connector_id) ? row : undefined;
}

/** Saves the connection a session authorized: a new one, or new credentials for the one being re-authorized. */
async function storeConnection(ctx: AppContext, row: SessionRow, connector: string, credentials: Credentials): Promise<string> {
  if (row.reauth_connection_id) {
    await replaceCredentials(ctx, row.reauth_connection_id, row.tenant_id, credentials, tenantActor(row.tenant_id, row.id));
    return row.reauth_connection_id;
  }
  return createConnection(ctx, { connector, tenantId: row.tenant_id, label: row.connection_label, credentials }, tenantActor(row.tenant_id, row.id));
}

/**
 * The end of a successful sign-in, by OAuth or by the credential form: saves the connection, then
 * moves the session on (to configuration when the integration asks for it). Only a session still
 * `started` moves: a Cancel chosen in the app meanwhile (sessions/cancel.ts) wins, and this
 * sign-in does not count.
 */
export async function finishSignIn(
  ctx: AppContext,
  row: SessionRow,
  integration: Integration,
  connector: string,
  credentials: Credentials,
): Promise<SessionRow> {
  const connectionId = await storeConnection(ctx, row, connector, credentials);
  const moved = await moveSession(ctx.store.db, {
    session: { id: row.id },
    from: ['started'],
    to: integration.configFields.length > 0 ? 'configuring' : 'authorized',
    set: { connection_id: connectionId, pkce_verifier_ciphertext: null },
  });
  if (moved.refused) throw moved.refused.from === 'expired' ? sessionExpired() : sessionCancelled();
  return moved.row;
}
