import type { z } from 'zod';
import { type AuditActor, changedFields, inTransaction, SYSTEM, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import { newId } from '../crypto/random.js';
import { notFound } from '../http/errors.js';
import type { ConnectionsTable } from '../store/schema.js';
import type { connectionViewSchema } from './schema.js';
import { isoNow } from '../store/time.js';
import { healthOf, nextCheckAt, reauthDueAt } from './health.js';
import { credentialsAad } from './credentials.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { pageOf } from '../store/page.js';

export type ConnectionView = z.output<typeof connectionViewSchema>;

/** Reads health (decrypting to learn when the person is needed), so callers pass the keyring and config. */
export function toConnectionView(deps: Pick<AppContext, 'config' | 'keyring'>, row: ConnectionsTable, now = Date.now()): ConnectionView {
  const { health, reason } = healthOf(deps, row, reauthDueAt(deps, row), now);
  return {
    id: row.id,
    connector: row.connector_id,
    tenantId: row.tenant_id,
    label: row.label,
    authMethod: row.auth_method,
    status: row.status,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    health,
    healthReason: reason,
    lastRefreshedAt: row.last_refreshed_at,
    lastVerifiedAt: row.last_verified_at,
    lastError: row.last_error,
  };
}

/** What the audit trail records of a connection: never its credentials. */
function auditView(row: Pick<ConnectionsTable, 'connector_id' | 'tenant_id' | 'label' | 'auth_method' | 'status' | 'expires_at'>) {
  return { connector: row.connector_id, tenantId: row.tenant_id, label: row.label, authMethod: row.auth_method, status: row.status, expiresAt: row.expires_at };
}

export function expiryOf(credentials: Credentials): string | null {
  return credentials.type === 'oauth2' && credentials.tokens.expiresAt !== null ? new Date(credentials.tokens.expiresAt).toISOString() : null;
}

/** Stores a new connection; credentials are encrypted with AAD bound to the connection and tenant. */
export async function createConnection(
  deps: Pick<AppContext, 'store' | 'keyring' | 'config' | 'catalog'>,
  input: { connector: string; tenantId: string; label?: string | null; credentials: Credentials },
  by: AuditActor = SYSTEM,
): Promise<string> {
  const id = newId('con');
  const now = isoNow();
  const row: ConnectionsTable = {
    id,
    connector_id: input.connector,
    tenant_id: input.tenantId,
    label: input.label ?? null,
    auth_method: input.credentials.type,
    status: 'active',
    credentials_ciphertext: deps.keyring.encrypt(JSON.stringify(input.credentials), credentialsAad(id, input.tenantId)),
    expires_at: expiryOf(input.credentials),
    refresh_lease_until: null,
    created_at: now,
    updated_at: now,
    needs_reauth_reason: null,
    last_refreshed_at: null,
    last_verified_at: null,
    last_error: null,
    next_check_at: null,
  };
  row.next_check_at = nextCheckAt(deps, deps.catalog.connectors.get(input.connector), row, input.credentials);
  await deps.store.db.transaction().execute(async (trx) => {
    await trx.insertInto('connections').values(row).execute();
    await writeAudit(trx, { ...by, action: 'connection.created', targetType: 'connection', targetId: id, details: auditView(row) });
    await emitWebhookEvent(trx, 'connection.created', toConnectionView(deps, row));
  });
  return id;
}

/** Re-authorization: new credentials replace the old ones in place; the id (and installs using it) stay. */
export async function replaceCredentials(
  deps: Pick<AppContext, 'store' | 'keyring' | 'config' | 'catalog' | 'connectionRows'>,
  connectionId: string,
  tenantId: string,
  credentials: Credentials,
  by: AuditActor = SYSTEM,
): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('connections').selectAll().where('id', '=', connectionId).where('tenant_id', '=', tenantId).executeTakeFirst();
    const now = isoNow();
    // New credentials start a new health: issued now, nothing failed yet, checked by what they hold.
    const fresh = { status: 'active', needs_reauth_reason: null, expires_at: expiryOf(credentials), last_refreshed_at: null, created_at: now } as const;
    const checkAt = before ? nextCheckAt(deps, deps.catalog.connectors.get(before.connector_id), { ...fresh, last_verified_at: now }, credentials) : null;
    const after = await trx
      .updateTable('connections')
      .set({
        credentials_ciphertext: deps.keyring.encrypt(JSON.stringify(credentials), credentialsAad(connectionId, tenantId)),
        auth_method: credentials.type,
        expires_at: expiryOf(credentials),
        status: 'active',
        refresh_lease_until: null,
        needs_reauth_reason: null,
        last_error: null,
        last_refreshed_at: now,
        next_check_at: checkAt,
        updated_at: now,
      })
      .where('id', '=', connectionId)
      .where('tenant_id', '=', tenantId)
      // Revoking is final: a re-authorization still under way when the tenant disconnected finds nothing.
      .where('status', '!=', 'revoked')
      .returningAll()
      .executeTakeFirst();
    if (!before || !after) throw notFound('connection_not_found', 'No such connection.');
    await writeAudit(trx, {
      ...by,
      action: 'connection.reauthorized',
      targetType: 'connection',
      targetId: connectionId,
      details: { connector: after.connector_id, tenantId, changes: changedFields(auditView(before), auditView(after)) },
    });
    await emitWebhookEvent(trx, 'connection.reauthorized', toConnectionView(deps, after));
  });
  deps.connectionRows.forget(connectionId);
}

export async function getConnection(deps: Pick<AppContext, 'store' | 'config' | 'keyring'>, id: string): Promise<ConnectionView | null> {
  const row = await getConnectionRow(deps, id);
  return row ? toConnectionView(deps, row) : null;
}

export async function getConnectionRow(deps: Pick<AppContext, 'store'>, id: string): Promise<ConnectionsTable | undefined> {
  return deps.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The row for the hot paths (proxy, tenant actions): as read within the cache window (store/read-cache.ts). */
export function recentConnectionRow(deps: Pick<AppContext, 'store' | 'connectionRows'>, id: string): Promise<ConnectionsTable | undefined> {
  return deps.connectionRows.read(id, () => getConnectionRow(deps, id));
}

export async function listConnections(
  deps: Pick<AppContext, 'store' | 'config' | 'keyring'>,
  query: {
    tenantId?: string | undefined;
    connector?: string | undefined;
    status?: ConnectionsTable['status'] | undefined;
    limit: number;
    cursor?: string | undefined;
  },
): Promise<{ data: ConnectionView[]; next: string | null }> {
  let select = deps.store.db.selectFrom('connections').selectAll();
  if (query.tenantId) select = select.where('tenant_id', '=', query.tenantId);
  if (query.connector) select = select.where('connector_id', '=', query.connector);
  if (query.status) select = select.where('status', '=', query.status);
  if (query.cursor) select = select.where('id', '>', query.cursor);
  const rows = await select
    .orderBy('id')
    .limit(query.limit + 1)
    .execute();
  const now = Date.now();
  return pageOf(rows, query.limit, (row) => toConnectionView(deps, row, now));
}

/** Revoked connections keep their row (installs and audit point at them) but lose their credentials. */
export async function revokeConnection(
  deps: Pick<AppContext, 'store' | 'keyring' | 'config' | 'connectionRows'>,
  id: string,
  by: AuditActor,
): Promise<ConnectionView> {
  const revoked = await revokeConnectionIn(deps.store.db, deps, id, by);
  deps.connectionRows.forget(id);
  return revoked;
}

/**
 * `revokeConnection` in the caller's transaction when `db` is one (a connector deleted with force
 * revokes each of its connections); the caller has `connectionRows` forget them once committed.
 */
export async function revokeConnectionIn(
  db: AppContext['store']['db'],
  deps: Pick<AppContext, 'keyring' | 'config'>,
  id: string,
  by: AuditActor,
): Promise<ConnectionView> {
  const { keyring } = deps;
  return inTransaction(db, async (trx) => {
    const row = await trx.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('connection_not_found', 'No such connection.');
    const updated = await trx
      .updateTable('connections')
      .set({
        status: 'revoked',
        credentials_ciphertext: keyring.encrypt(JSON.stringify({ type: 'none' }), credentialsAad(row.id, row.tenant_id)),
        expires_at: null,
        needs_reauth_reason: null,
        next_check_at: null,
        updated_at: isoNow(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      ...by,
      action: 'connection.revoked',
      targetType: 'connection',
      targetId: id,
      details: { connector: row.connector_id, tenantId: row.tenant_id, changes: changedFields(auditView(row), auditView(updated)) },
    });
    const view = toConnectionView(deps, updated);
    await emitWebhookEvent(trx, 'connection.revoked', view);
    return view;
  });
}
