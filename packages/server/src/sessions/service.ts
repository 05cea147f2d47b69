import { type AuditActor, SYSTEM, tenantActor, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Integration } from '../connectors/catalog.js';
import { constantTimeEqual, hmacSha256 } from '../crypto/hmac.js';
import { newId, random128 } from '../crypto/random.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { isoIn, isoNow } from '../store/time.js';
import { commitInstall } from '../installs/service.js';
import { ownedConnection } from './connection.js';
import type { CreateSessionInput } from './schema.js';
import { assertNotExpired, moveSession, sessionExpired, type SessionRow } from './state.js';
import { type CallbackOutcome, outcomeOf, type SessionView, toView } from './view.js';

/** The browser-held secret for one session; it starts with the session id, like a Stripe client secret. */
const TOKEN_SEPARATOR = '_secret_';

export function integrationBaseUrl(deps: Pick<AppContext, 'config'>, integrationId: string): string {
  return `${deps.config.publicUrl}/v1/integrations/${encodeURIComponent(integrationId)}`;
}

export function requireIntegration(deps: Pick<AppContext, 'catalog'>, integrationId: string): Integration {
  const integration = deps.catalog.integrations.get(integrationId);
  if (!integration) throw notFound('integration_not_found', `No integration "${integrationId}".`);
  return integration;
}

/** Exact origin match against the integration's allow list: no prefix or suffix tricks. */
export function isAllowedOrigin(integration: Integration, candidate: string): boolean {
  let origin: string;
  try {
    origin = new URL(candidate).origin;
  } catch {
    return false;
  }
  return origin !== 'null' && integration.allowedOrigins.includes(origin);
}

export async function createSession(
  deps: Pick<AppContext, 'store' | 'config' | 'catalog' | 'hashingKey'>,
  integrationId: string,
  input: CreateSessionInput,
  by: AuditActor = SYSTEM,
) {
  // `input` may gain the connector of a connection being re-authorized.
  const integration = requireIntegration(deps, integrationId);
  if (input.redirectUrl && !isAllowedOrigin(integration, input.redirectUrl)) {
    throw badRequest('redirect_not_allowed', 'redirectUrl is not on an origin this integration allows.');
  }
  if (input.connector && !integration.connectors.includes(input.connector))
    throw badRequest('connector_not_allowed', `This integration does not use connector "${input.connector}".`);
  if (input.connectionId) {
    const existing = await ownedConnection(deps.store.db, input.connectionId, { tenantId: input.tenantId, connectors: integration.connectors });
    if (!existing || existing.status === 'revoked') {
      throw badRequest('connection_not_found', 'connectionId is not a connection of this tenant for this integration.');
    }
    input = { ...input, connector: existing.connector_id };
  }
  const requested = input.connector ?? (integration.connectors.length === 1 ? integration.connectors[0]! : null);
  const id = newId('ses');
  const token = `${id}${TOKEN_SEPARATOR}${random128()}`;
  const now = isoNow();
  const expiresAt = isoIn(deps.config.sessionTtlSeconds);
  const row: SessionRow = {
    id,
    integration_id: integration.id,
    tenant_id: input.tenantId,
    tags: JSON.stringify(input.tags),
    redirect_url: input.redirectUrl,
    token_hash: hmacSha256(deps.hashingKey, token),
    status: 'created',
    opener_origin: null,
    mode: null,
    oauth_state_hash: null,
    pkce_verifier_ciphertext: null,
    connection_id: null,
    config: null,
    error_code: null,
    error_message: null,
    install_id: null,
    expires_at: expiresAt,
    created_at: now,
    updated_at: now,
    connector_id: requested,
    requested_connector: requested,
    auth_method: null,
    reauth_connection_id: input.connectionId ?? null,
    connection_label: input.label ?? null,
  };
  await deps.store.db.transaction().execute(async (trx) => {
    await trx.insertInto('sessions').values(row).execute();
    await writeAudit(trx, {
      ...by,
      action: 'session.created',
      targetType: 'session',
      targetId: id,
      details: {
        integrationId: row.integration_id,
        tenantId: row.tenant_id,
        tags: input.tags,
        connector: row.connector_id,
        reauthConnectionId: row.reauth_connection_id,
        expiresAt,
      },
    });
  });
  return { id, token, startUrl: `${integrationBaseUrl(deps, integration.id)}/session/${id}/start`, expiresAt };
}

export async function readSession(deps: Pick<AppContext, 'store'>, integrationId: string, sessionId: string): Promise<SessionRow> {
  const row = await deps.store.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).where('integration_id', '=', integrationId).executeTakeFirst();
  if (!row) throw notFound('session_not_found', 'No such session.');
  return row;
}

export async function getSession(deps: Pick<AppContext, 'store'>, integrationId: string, sessionId: string): Promise<SessionView> {
  return toView(await readSession(deps, integrationId, sessionId));
}

/** Checks a session token in constant time; answers the session id it belongs to, or null. */
export async function verifySessionToken(
  ctx: AppContext,
  token: string,
): Promise<{ sessionId: string; integrationId: string; tenantId: string; installId: string | null } | null> {
  const separator = token.indexOf(TOKEN_SEPARATOR);
  if (separator < 0) return null;
  const sessionId = token.slice(0, separator);
  if (!/^ses_[0-9A-Za-z]{22}$/.test(sessionId)) return null;
  const row = await ctx.store.db
    .selectFrom('sessions')
    .select(['id', 'integration_id', 'tenant_id', 'token_hash', 'install_id'])
    .where('id', '=', sessionId)
    .executeTakeFirst();
  if (!row || !constantTimeEqual(row.token_hash, hmacSha256(ctx.hashingKey, token))) return null;
  return { sessionId: row.id, integrationId: row.integration_id, tenantId: row.tenant_id, installId: row.install_id };
}

const notAuthorized = () => conflict('session_not_authorized', 'The session has not been authorized yet.');

/**
 * Commit is idempotent per session: the session records its install in the install's transaction,
 * and a commit reads it under the tenant's install lock, so any number of commits — double clicks,
 * retries, two tabs — answer the same install. The session moves to `committed` in that
 * transaction: a refused move leaves no install (and no added connection) behind. A tenant who has
 * an install of the integration already gets the session's connection added to it (installs/service.ts).
 */
export async function commitSession(
  ctx: AppContext,
  integrationId: string,
  sessionId: string,
  by?: AuditActor,
): Promise<{ installId: string; targetUrl: string }> {
  const row = await readSession(ctx, integrationId, sessionId);
  const target = (installId: string) => ({ installId, targetUrl: `${integrationBaseUrl(ctx, integrationId)}/install/${installId}` });
  if (row.install_id) return target(row.install_id);
  assertNotExpired(row);
  if (row.status !== 'authorized' || !row.connection_id) throw notAuthorized();
  const installId = await commitInstall(ctx, {
    sessionId: row.id,
    integrationId: row.integration_id,
    tenantId: row.tenant_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    connectionId: row.connection_id,
    config: row.config ? (JSON.parse(row.config) as Record<string, string>) : {},
    async committedInstall(trx) {
      const current = await trx.selectFrom('sessions').select('install_id').where('id', '=', row.id).executeTakeFirst();
      return current?.install_id ?? null;
    },
    by: by ?? tenantActor(row.tenant_id, row.id),
    async linkSession(trx, id) {
      const moved = await moveSession(trx, { session: { id: row.id }, to: 'committed', set: { install_id: id }, ...(by ? { by } : {}) });
      if (moved.refused) throw moved.refused.from === 'expired' ? sessionExpired() : notAuthorized();
    },
  });
  return target(installId);
}

const notConfiguring = () => conflict('session_not_configuring', 'This session is not waiting for configuration.');

/** Saves the configuration form; only a session waiting for configuration accepts it. */
export async function saveConfiguration(
  deps: Pick<AppContext, 'store' | 'catalog'>,
  integrationId: string,
  sessionId: string,
  values: Record<string, string>,
): Promise<CallbackOutcome> {
  const integration = requireIntegration(deps, integrationId);
  const row = await readSession(deps, integrationId, sessionId);
  assertNotExpired(row);
  if (row.status !== 'configuring') throw notConfiguring();
  const config: Record<string, string> = {};
  for (const field of integration.configFields) {
    const value = (values[field.name] ?? '').trim();
    if (value.length > 1000) throw badRequest('invalid_config', `${field.label} is too long.`);
    if (field.required && !value) throw badRequest('invalid_config', `${field.label} is required.`);
    config[field.name] = value;
  }
  const moved = await moveSession(deps.store.db, { session: { id: row.id }, from: ['configuring'], to: 'authorized', set: { config: JSON.stringify(config) } });
  if (moved.refused) throw moved.refused.from === 'expired' ? sessionExpired() : notConfiguring();
  return outcomeOf(moved.row);
}
