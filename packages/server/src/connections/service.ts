import type { z } from 'zod';
import { type AuditActor, changedFields, inTransaction, SYSTEM, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import { newId } from '../crypto/random.js';
import { HttpError, notFound } from '../http/errors.js';
import type { ConnectionsTable } from '../store/schema.js';
import type { connectionViewSchema } from './schema.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { DecryptedCredentials } from './credential-cache.js';
import { isInvalidGrant, type OAuthClients, oidc, providerError, type TokenSet, toTokenSet } from './oauth.js';

/** What a connection's credentials are bound to (also used by master key rotation). */
export const credentialsAad = (connectionId: string, tenantId: string) => `connections:${connectionId}:${tenantId}`;
const LEASE_MS = 30_000;
const LEASE_POLL_MS = 50;

export type ConnectionView = z.output<typeof connectionViewSchema>;

export function toConnectionView(row: ConnectionsTable): ConnectionView {
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
  };
}

/** What the audit trail records of a connection: never its credentials. */
function auditView(row: Pick<ConnectionsTable, 'connector_id' | 'tenant_id' | 'label' | 'auth_method' | 'status' | 'expires_at'>) {
  return { connector: row.connector_id, tenantId: row.tenant_id, label: row.label, authMethod: row.auth_method, status: row.status, expiresAt: row.expires_at };
}

function expiryOf(credentials: Credentials): string | null {
  return credentials.type === 'oauth2' && credentials.tokens.expiresAt !== null ? new Date(credentials.tokens.expiresAt).toISOString() : null;
}

export function decryptCredentials(deps: Pick<AppContext, 'keyring'>, row: Pick<ConnectionsTable, 'id' | 'tenant_id' | 'credentials_ciphertext'>): Credentials {
  const parsed = JSON.parse(deps.keyring.decrypt(row.credentials_ciphertext, credentialsAad(row.id, row.tenant_id))) as Credentials | TokenSet;
  // Connections stored before typed credentials held a bare OAuth token set.
  return 'type' in parsed && typeof parsed.type === 'string' && !('accessToken' in parsed)
    ? (parsed as Credentials)
    : { type: 'oauth2', tokens: parsed as TokenSet };
}

/** Stores a new connection; credentials are encrypted with AAD bound to the connection and tenant. */
export async function createConnection(
  deps: Pick<AppContext, 'store' | 'keyring'>,
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
  };
  await deps.store.db.transaction().execute(async (trx) => {
    await trx.insertInto('connections').values(row).execute();
    await writeAudit(trx, { ...by, action: 'connection.created', targetType: 'connection', targetId: id, details: auditView(row) });
    await emitWebhookEvent(trx, 'connection.created', toConnectionView(row));
  });
  return id;
}

/** Re-authorization: new credentials replace the old ones in place; the id (and installs using it) stay. */
export async function replaceCredentials(
  deps: Pick<AppContext, 'store' | 'keyring'>,
  connectionId: string,
  tenantId: string,
  credentials: Credentials,
  by: AuditActor = SYSTEM,
): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('connections').selectAll().where('id', '=', connectionId).where('tenant_id', '=', tenantId).executeTakeFirst();
    const after = await trx
      .updateTable('connections')
      .set({
        credentials_ciphertext: deps.keyring.encrypt(JSON.stringify(credentials), credentialsAad(connectionId, tenantId)),
        auth_method: credentials.type,
        expires_at: expiryOf(credentials),
        status: 'active',
        refresh_lease_until: null,
        updated_at: isoNow(),
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
    await emitWebhookEvent(trx, 'connection.reauthorized', toConnectionView(after));
  });
}

export async function getConnection(deps: Pick<AppContext, 'store'>, id: string): Promise<ConnectionView | null> {
  const row = await getConnectionRow(deps, id);
  return row ? toConnectionView(row) : null;
}

export async function getConnectionRow(deps: Pick<AppContext, 'store'>, id: string): Promise<ConnectionsTable | undefined> {
  return deps.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listConnections(
  deps: Pick<AppContext, 'store'>,
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
  const page = rows.slice(0, query.limit);
  return { data: page.map(toConnectionView), next: rows.length > query.limit ? page[page.length - 1]!.id : null };
}

/** Revoked connections keep their row (installs and audit point at them) but lose their credentials. */
export async function revokeConnection(deps: Pick<AppContext, 'store' | 'keyring'>, id: string, by: AuditActor): Promise<ConnectionView> {
  return revokeConnectionIn(deps.store.db, deps.keyring, id, by);
}

/** `revokeConnection` in the caller's transaction when `db` is one (a connector deleted with force revokes each of its connections). */
export async function revokeConnectionIn(db: AppContext['store']['db'], keyring: AppContext['keyring'], id: string, by: AuditActor): Promise<ConnectionView> {
  return inTransaction(db, async (trx) => {
    const row = await trx.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('connection_not_found', 'No such connection.');
    const updated = await trx
      .updateTable('connections')
      .set({
        status: 'revoked',
        credentials_ciphertext: keyring.encrypt(JSON.stringify({ type: 'none' }), credentialsAad(row.id, row.tenant_id)),
        expires_at: null,
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
    await emitWebhookEvent(trx, 'connection.revoked', toConnectionView(updated));
    return toConnectionView(updated);
  });
}

/**
 * Hands out usable credentials for a connection, refreshing OAuth tokens first when they expire
 * within the configured margin. Refresh is single-flight per connection: within this process by a
 * shared promise, across processes by a lease row in the store; a waiter re-reads and uses what the
 * winner stored instead of spending an already rotated refresh token.
 */
export class CredentialBroker {
  readonly #inFlight = new Map<string, Promise<Credentials>>();
  readonly #decrypted = new DecryptedCredentials();

  constructor(
    private readonly deps: Pick<AppContext, 'config' | 'store' | 'keyring' | 'catalog' | 'customAuthMethods' | 'metrics'>,
    private readonly oauth: OAuthClients,
  ) {}

  /** `row`: the connection as the caller has just read it (it is read here otherwise). */
  async credentials(
    connectionId: string,
    options: { forceRefresh?: boolean; row?: ConnectionsTable | undefined } = {},
  ): Promise<{ credentials: Credentials; row: ConnectionsTable }> {
    const row = options.row?.id === connectionId ? options.row : await this.#row(connectionId);
    if (row.status === 'revoked') {
      this.#decrypted.forget(connectionId);
      throw new HttpError(409, 'connection_revoked', 'The connection was revoked.');
    }
    if (row.status !== 'active') throw new HttpError(409, 'connection_needs_reauth', 'The connection must be authorized again.');
    const credentials = this.#decrypted.of(row, () => decryptCredentials(this.deps, row));
    // OAuth refreshes ahead of expiry; a custom method that can refresh does so only when the upstream said 401.
    const due =
      credentials.type === 'oauth2'
        ? this.#isDue(row.expires_at) || options.forceRefresh === true
        : credentials.type === 'custom' && options.forceRefresh === true && this.deps.customAuthMethods[credentials.handler]?.refresh !== undefined;
    if (!due) return { credentials, row };
    let pending = this.#inFlight.get(connectionId);
    if (!pending) {
      pending = this.#refreshUnlessDone(connectionId, JSON.stringify(credentials))
        .then(
          (refreshed) => {
            this.deps.metrics.tokenRefreshes.inc({ outcome: 'success' });
            return refreshed;
          },
          (error: unknown) => {
            const reauth = error instanceof HttpError && error.code === 'connection_needs_reauth';
            this.deps.metrics.tokenRefreshes.inc({ outcome: reauth ? 'needs_reauth' : 'failed' });
            throw error;
          },
        )
        .finally(() => this.#inFlight.delete(connectionId));
      this.#inFlight.set(connectionId, pending);
    }
    return { credentials: await pending, row };
  }

  /** Drops what this instance holds in memory for a connection (on revoke; other instances see the new version on their next read). */
  forget(connectionId: string): void {
    this.#decrypted.forget(connectionId);
  }

  /** For callers that only need an OAuth access token. */
  async accessToken(connectionId: string, options: { forceRefresh?: boolean } = {}): Promise<string> {
    const { credentials } = await this.credentials(connectionId, options);
    if (credentials.type !== 'oauth2') throw new HttpError(409, 'method_not_supported', 'The connection does not use OAuth 2.0.');
    return credentials.tokens.accessToken;
  }

  #isDue(expiresAt: string | null): boolean {
    return expiresAt !== null && Date.parse(expiresAt) - this.deps.config.refreshMarginSeconds * 1000 <= Date.now();
  }

  async #row(connectionId: string): Promise<ConnectionsTable> {
    const row = await this.deps.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirst();
    if (!row) throw notFound('connection_not_found', 'No such connection.');
    return row;
  }

  /** `seen` is the credentials the caller found stale (as JSON): anything else stored meanwhile is a winner's work. */
  async #refreshUnlessDone(connectionId: string, seen: string): Promise<Credentials> {
    const deadline = Date.now() + LEASE_MS * 2;
    while (Date.now() < deadline) {
      const now = Date.now();
      const leased = await this.deps.store.db
        .updateTable('connections')
        .set({ refresh_lease_until: new Date(now + LEASE_MS).toISOString() })
        .where('id', '=', connectionId)
        .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', new Date(now).toISOString())]))
        .returningAll()
        .executeTakeFirst();
      const row = leased ?? (await this.#row(connectionId));
      if (row.status !== 'active') throw new HttpError(409, 'connection_needs_reauth', 'The connection must be authorized again.');
      const current = decryptCredentials(this.deps, row);
      if (JSON.stringify(current) !== seen) {
        if (leased) await this.#releaseLease(connectionId);
        return current;
      }
      if (leased) {
        if (current.type === 'custom') return this.#refreshCustom(row, current);
        if (current.type === 'oauth2') return this.#refresh(row, current);
        await this.#releaseLease(connectionId);
        throw new HttpError(409, 'method_not_supported', 'The connection cannot be refreshed.');
      }
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
    throw new HttpError(503, 'refresh_busy', 'Another server is still refreshing this connection; try again.');
  }

  async #releaseLease(connectionId: string): Promise<void> {
    await this.deps.store.db.updateTable('connections').set({ refresh_lease_until: null }).where('id', '=', connectionId).execute();
  }

  /** A custom method's own refresh (called after an upstream 401); the new values replace the old in one update. */
  async #refreshCustom(row: ConnectionsTable, current: Extract<Credentials, { type: 'custom' }>): Promise<Credentials> {
    try {
      let values: Record<string, string>;
      try {
        values = await this.deps.customAuthMethods[current.handler]!.refresh!(current.values);
      } catch (error) {
        throw new HttpError(502, 'refresh_failed', 'The credentials could not be refreshed.', { cause: error });
      }
      const credentials: Credentials = { type: 'custom', handler: current.handler, values };
      await this.#storeRefreshed(row, credentials);
      return credentials;
    } catch (error) {
      await this.#releaseLease(row.id);
      throw error;
    }
  }

  /** Writes refreshed credentials and releases the lease in one update. */
  async #storeRefreshed(row: ConnectionsTable, credentials: Credentials): Promise<void> {
    await this.deps.store.db
      .updateTable('connections')
      .set({
        credentials_ciphertext: this.deps.keyring.encrypt(JSON.stringify(credentials), credentialsAad(row.id, row.tenant_id)),
        expires_at: expiryOf(credentials),
        refresh_lease_until: null,
        updated_at: isoNow(),
      })
      .where('id', '=', row.id)
      // A refresh finishing after a revocation must not put live credentials back on the row.
      .where('status', '!=', 'revoked')
      .execute();
  }

  async #refresh(row: ConnectionsTable, currentCredentials: Extract<Credentials, { type: 'oauth2' }>): Promise<Credentials> {
    const current = currentCredentials.tokens;
    const connector = this.deps.catalog.connectors.get(row.connector_id);
    try {
      if (!connector) throw new HttpError(409, 'connector_missing', `Connector ${row.connector_id} is no longer declared.`);
      if (!current.refreshToken) {
        await this.#markNeedsReauth(row, 'no_refresh_token');
        throw new HttpError(409, 'connection_needs_reauth', 'The access token expired and there is no refresh token.');
      }
      let next: TokenSet;
      try {
        const configuration = await this.oauth.configuration(connector);
        next = toTokenSet(await oidc.refreshTokenGrant(configuration, current.refreshToken), current);
      } catch (error) {
        if (isInvalidGrant(error)) {
          await this.#markNeedsReauth(row, 'invalid_grant');
          throw new HttpError(409, 'connection_needs_reauth', 'The provider refused the refresh token; the tenant must connect again.');
        }
        throw providerError(error, 'token refresh');
      }
      const credentials: Credentials = { type: 'oauth2', tokens: next };
      // Access and (possibly rotated) refresh token are written together, and the lease released, in one update.
      await this.#storeRefreshed(row, credentials);
      return credentials;
    } catch (error) {
      await this.#releaseLease(row.id);
      throw error;
    }
  }

  /** A refresh the provider refused is a change nobody asked for: the server records it as `system`. */
  async #markNeedsReauth(row: ConnectionsTable, reason: 'no_refresh_token' | 'invalid_grant'): Promise<void> {
    await this.deps.store.db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('connections')
        .set({ status: 'needs_reauth', updated_at: isoNow() })
        .where('id', '=', row.id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) return;
      await writeAudit(trx, {
        ...SYSTEM,
        action: 'connection.refresh_failed',
        targetType: 'connection',
        targetId: row.id,
        details: { connector: row.connector_id, tenantId: row.tenant_id, reason, changes: { status: { before: 'active', after: 'needs_reauth' } } },
      });
    });
  }
}
