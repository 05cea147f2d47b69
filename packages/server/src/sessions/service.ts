import type { SessionView } from '@patchbay/contract';
import type { AppContext } from '../context.js';
import { type Connector, type Integration, oauthMethodOf, type PublicAuthMethod } from '../connectors/catalog.js';
import { type Credentials, credentialsFromForm, type CustomAuthMethods, formFieldsFor, type FormField } from '../connectors/auth-methods.js';
import { defaultMethod } from '../connectors/schema.js';
import { callUpstream } from '../connectors/upstream.js';
import { type CredentialBroker, createConnection, replaceCredentials } from '../connections/service.js';
import { accountLabelOf, type OAuthClients, oidc, providerError, toTokenSet } from '../connections/oauth.js';
import { constantTimeEqual, hmacSha256 } from '../crypto/hmac.js';
import { newId, random128 } from '../crypto/random.js';
import { badRequest, conflict, HttpError, notFound } from '../http/errors.js';
import type { SessionsTable } from '../store/schema.js';
import { isoIn, isoNow } from '../store/time.js';
import { createInstallForSession } from '../installs/service.js';
import type { CreateSessionInput } from './schema.js';

/** The browser-held secret for one session; it starts with the session id, like a Stripe client secret. */
const TOKEN_SEPARATOR = '_secret_';

/** What a session's PKCE verifier is bound to (also used by master key rotation). */
export const pkceVerifierAad = (sessionId: string) => `sessions:${sessionId}:pkce`;

/** The session as the widget reads it: the contract's shape. */
export type { SessionView };

export type SessionRow = SessionsTable;

/** Statuses that still wait for the person; past `expiresAt` they are reported as `expired`. */
const EXPIRABLE: ReadonlySet<SessionsTable['status']> = new Set(['created', 'started', 'configuring', 'authorized']);

export function integrationBaseUrl(ctx: AppContext, integrationId: string): string {
  return `${ctx.config.publicUrl}/v1/integrations/${encodeURIComponent(integrationId)}`;
}

export function callbackUrl(ctx: AppContext): string {
  return `${ctx.config.publicUrl}/oauth/callback`;
}

export function requireIntegration(ctx: AppContext, integrationId: string): Integration {
  const integration = ctx.catalog.integrations.get(integrationId);
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

export function toView(row: SessionRow): SessionView {
  return {
    id: row.id,
    integrationId: row.integration_id,
    tenantId: row.tenant_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    status: EXPIRABLE.has(row.status) && Date.parse(row.expires_at) <= Date.now() ? 'expired' : row.status,
    connector: row.connector_id,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    installId: row.install_id,
    expiresAt: row.expires_at,
  };
}

export async function createSession(ctx: AppContext, integrationId: string, input: CreateSessionInput) {
  // `input` may gain the connector of a connection being re-authorized.
  const integration = requireIntegration(ctx, integrationId);
  if (input.redirectUrl && !isAllowedOrigin(integration, input.redirectUrl)) {
    throw badRequest('redirect_not_allowed', 'redirectUrl is not on an origin this integration allows.');
  }
  if (input.connector && !integration.connectors.includes(input.connector))
    throw badRequest('connector_not_allowed', `This integration does not use connector "${input.connector}".`);
  if (input.connectionId) {
    const existing = await ctx.store.db
      .selectFrom('connections')
      .select(['tenant_id', 'connector_id', 'status'])
      .where('id', '=', input.connectionId)
      .executeTakeFirst();
    // Same answer for "no such connection" and "someone else's": no probing other tenants' ids.
    if (!existing || existing.status === 'revoked' || existing.tenant_id !== input.tenantId || !integration.connectors.includes(existing.connector_id)) {
      throw badRequest('connection_not_found', 'connectionId is not a connection of this tenant for this integration.');
    }
    input = { ...input, connector: existing.connector_id };
  }
  const id = newId('ses');
  const token = `${id}${TOKEN_SEPARATOR}${random128()}`;
  const now = isoNow();
  const expiresAt = isoIn(ctx.config.sessionTtlSeconds);
  await ctx.store.db
    .insertInto('sessions')
    .values({
      id,
      integration_id: integration.id,
      tenant_id: input.tenantId,
      tags: JSON.stringify(input.tags),
      redirect_url: input.redirectUrl,
      token_hash: hmacSha256(ctx.hashingKey, token),
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
      connector_id: input.connector ?? (integration.connectors.length === 1 ? integration.connectors[0]! : null),
      auth_method: null,
      reauth_connection_id: input.connectionId ?? null,
      connection_label: input.label ?? null,
    })
    .execute();
  return { id, token, startUrl: `${integrationBaseUrl(ctx, integration.id)}/session/${id}/start`, expiresAt };
}

export async function readSession(ctx: AppContext, integrationId: string, sessionId: string): Promise<SessionRow> {
  const row = await ctx.store.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).where('integration_id', '=', integrationId).executeTakeFirst();
  if (!row) throw notFound('session_not_found', 'No such session.');
  return row;
}

export function assertNotExpired(row: SessionRow): void {
  if (Date.parse(row.expires_at) <= Date.now() && row.status !== 'committed') {
    throw new HttpError(410, 'session_expired', 'The session has expired; start a new one.');
  }
}

export async function getSession(ctx: AppContext, integrationId: string, sessionId: string): Promise<SessionView> {
  return toView(await readSession(ctx, integrationId, sessionId));
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

export type StartResult =
  | { kind: 'redirect'; url: URL }
  | { kind: 'form'; session: SessionView; connector: Connector; method: PublicAuthMethod; fields: FormField[] }
  | { kind: 'configure'; session: SessionView };

/** Picks the connector (the session's, or `?connector=` among the integration's) and its method. */
function chooseConnector(ctx: AppContext, integration: Integration, row: SessionRow, options: { connector?: string | undefined; method?: string | undefined }) {
  const slug = row.connector_id ?? options.connector ?? (integration.connectors.length === 1 ? integration.connectors[0] : undefined);
  if (!slug) throw badRequest('connector_required', 'Choose a connector: this integration offers several.');
  if (!integration.connectors.includes(slug) || (row.connector_id && options.connector && options.connector !== row.connector_id)) {
    throw badRequest('connector_not_allowed', `This session cannot use connector "${options.connector ?? slug}".`);
  }
  const connector = ctx.catalog.connectors.get(slug);
  if (!connector) throw notFound('connector_not_found', `Connector "${slug}" is not available.`);
  const method = options.method ? connector.authMethods.find((candidate) => candidate.type === options.method) : defaultMethod(connector.authMethods);
  if (!method) throw badRequest('method_not_supported', `Connector "${slug}" does not offer ${options.method}.`);
  return { connector, method };
}

/**
 * Begins authorization. OAuth: a fresh one-time `state` and PKCE verifier on every start, so
 * reopening the popup invalidates the previous attempt; answers the provider's authorize URL.
 * Other methods: answers the credential form to show.
 */
export async function startSession(
  ctx: AppContext,
  oauth: OAuthClients,
  customs: CustomAuthMethods,
  integrationId: string,
  sessionId: string,
  options: { mode: 'popup' | 'page'; origin?: string | undefined; connector?: string | undefined; method?: string | undefined; reauth?: string | undefined },
): Promise<StartResult> {
  const integration = requireIntegration(ctx, integrationId);
  const row = await readSession(ctx, integrationId, sessionId);
  assertNotExpired(row);
  if (!['created', 'started', 'configuring', 'cancelled', 'failed'].includes(row.status)) {
    throw conflict('session_used', 'This session has already been authorized; start a new one.');
  }
  let openerOrigin: string | null = null;
  if (options.mode === 'popup') {
    if (!options.origin || !isAllowedOrigin(integration, options.origin)) {
      throw badRequest('origin_not_allowed', 'The page that opened this window is not on an origin this integration allows.');
    }
    openerOrigin = new URL(options.origin).origin;
  } else if (!row.redirect_url) {
    throw badRequest('redirect_url_missing', 'Page mode needs a session created with a redirectUrl.');
  }
  if (row.status === 'configuring') {
    // Signed in already, the window was lost before the form was saved ("Reopen sign-in window"):
    // the form again, answering to the window that asked now.
    const updated = await ctx.store.db
      .updateTable('sessions')
      .set({ mode: options.mode, opener_origin: openerOrigin, updated_at: isoNow() })
      .where('id', '=', row.id)
      .where('status', '=', 'configuring')
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw conflict('session_used', 'This session has already been authorized; start a new one.');
    return { kind: 'configure', session: toView(updated) };
  }
  let reauthConnectionId = row.reauth_connection_id;
  if (options.reauth) {
    const existing = await ctx.store.db
      .selectFrom('connections')
      .select(['tenant_id', 'connector_id', 'status'])
      .where('id', '=', options.reauth)
      .executeTakeFirst();
    if (!existing || existing.status === 'revoked' || existing.tenant_id !== row.tenant_id || !integration.connectors.includes(existing.connector_id)) {
      throw badRequest('connection_not_found', 'That connection does not belong to this tenant and integration.');
    }
    reauthConnectionId = options.reauth;
    options = { ...options, connector: existing.connector_id };
  } else if (reauthConnectionId) {
    // Disconnected since this session was created: say so now, not after the person has signed in.
    const existing = await ctx.store.db.selectFrom('connections').select('status').where('id', '=', reauthConnectionId).executeTakeFirst();
    if (!existing || existing.status === 'revoked') throw badRequest('connection_not_found', 'The connection to renew has been disconnected.');
  }
  const { connector, method } = chooseConnector(ctx, integration, row, options);
  const common = {
    mode: options.mode,
    opener_origin: openerOrigin,
    connector_id: connector.slug,
    auth_method: method.type,
    reauth_connection_id: reauthConnectionId,
    error_code: null,
    error_message: null,
    updated_at: isoNow(),
  };

  if (method.type !== 'oauth2') {
    const fields = formFieldsFor(method, customs);
    if (fields === null) throw new HttpError(500, 'method_not_registered', `Auth method ${method.type} has no registered handler.`, { expose: false });
    const updated = await ctx.store.db
      .updateTable('sessions')
      .set({ ...common, status: 'started', oauth_state_hash: null, pkce_verifier_ciphertext: null })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { kind: 'form', session: toView(updated), connector, method, fields };
  }

  let configuration: oidc.Configuration;
  try {
    configuration = await oauth.configuration(connector);
  } catch (error) {
    throw providerError(error, 'discovery');
  }
  const state = random128() + random128();
  const verifier = oidc.randomPKCECodeVerifier();
  const parameters: Record<string, string> = {
    ...method.authorizeParams,
    redirect_uri: callbackUrl(ctx),
    scope: method.scopes.join(' '),
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  await ctx.store.db
    .updateTable('sessions')
    .set({
      ...common,
      status: 'started',
      oauth_state_hash: hmacSha256(ctx.hashingKey, state),
      pkce_verifier_ciphertext: ctx.keyring.encrypt(verifier, pkceVerifierAad(row.id)),
    })
    .where('id', '=', row.id)
    .execute();
  return { kind: 'redirect', url: oidc.buildAuthorizationUrl(configuration, parameters) };
}

/** Saves the connection a session authorized: a new one, or new credentials for the one being re-authorized. */
async function storeConnection(ctx: AppContext, row: SessionRow, connector: string, credentials: Credentials): Promise<string> {
  if (row.reauth_connection_id) {
    await replaceCredentials(ctx, row.reauth_connection_id, row.tenant_id, credentials);
    return row.reauth_connection_id;
  }
  return createConnection(ctx, { connector, tenantId: row.tenant_id, label: row.connection_label, credentials });
}

/** The form a started session shows (its connector, method and fields); refused once the session has moved on. */
export async function credentialForm(ctx: AppContext, customs: CustomAuthMethods, integrationId: string, sessionId: string) {
  const row = await readSession(ctx, integrationId, sessionId);
  assertNotExpired(row);
  if (row.status !== 'started' || !row.connector_id || !row.auth_method || row.auth_method === 'oauth2') {
    throw conflict('session_not_started', 'Open this form from the app again.');
  }
  const connector = ctx.catalog.connectors.get(row.connector_id);
  const method = connector?.authMethods.find((candidate) => candidate.type === row.auth_method);
  if (!connector || !method) throw notFound('connector_not_found', 'The connector is no longer available.');
  return { row, connector, method, fields: formFieldsFor(method, customs) ?? [] };
}

/**
 * The credential form (basic, bearer, API key, custom, none). When the connector declares a verify
 * action, the credentials must pass it before anything is saved.
 */
export async function submitCredentials(
  ctx: AppContext,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  integrationId: string,
  sessionId: string,
  values: Record<string, string>,
): Promise<CallbackOutcome | { formError: string; connector: Connector; method: PublicAuthMethod; fields: FormField[] }> {
  const integration = requireIntegration(ctx, integrationId);
  const { row, connector, method, fields } = await credentialForm(ctx, customs, integrationId, sessionId);
  const parsed = credentialsFromForm(method, values, customs);
  if ('error' in parsed) return { formError: parsed.error, connector, method, fields };

  if (connector.verifyAction) {
    const verified = await verifyCredentials(ctx, broker, customs, connector, parsed.credentials);
    if (!verified.ok) return { formError: verified.message, connector, method, fields };
  }
  const connectionId = await storeConnection(ctx, row, connector.slug, parsed.credentials);
  const updated = await finishSession(
    ctx,
    row.id,
    { status: integration.configFields.length > 0 ? 'configuring' : 'authorized', connection_id: connectionId },
    'started',
  );
  return {
    session: toView(updated),
    mode: updated.mode ?? 'page',
    openerOrigin: updated.opener_origin,
    redirectUrl: updated.redirect_url,
    needsConfiguration: updated.status === 'configuring',
  };
}

/**
 * Runs the connector's verify action with credentials that are not stored yet. They stay in memory
 * for the call: nothing is written, so a wrong key never appears as a connection, not even briefly.
 */
async function verifyCredentials(
  ctx: AppContext,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  connector: Connector,
  credentials: Credentials,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const action = connector.actions[connector.verifyAction!]!;
  try {
    const response = await callUpstream(ctx, broker, customs, { connector, credentials, method: action.method, path: action.path, query: action.query });
    if (response.status >= 200 && response.status < 300) return { ok: true };
    return {
      ok: false,
      message:
        response.status === 401 || response.status === 403
          ? `${connector.name} did not accept these credentials.`
          : `${connector.name} answered ${response.status}; check the credentials and try again.`,
    };
  } catch (error) {
    if (error instanceof HttpError && error.expose) return { ok: false, message: error.message };
    throw error;
  }
}

export interface CallbackOutcome {
  session: SessionView;
  mode: 'popup' | 'page';
  openerOrigin: string | null;
  redirectUrl: string | null;
  /** The integration wants configuration before the session is authorized. */
  needsConfiguration: boolean;
}

/**
 * Handles the provider's redirect. The `state` is consumed atomically (the UPDATE that clears it
 * is the only way in), so a replayed or forged callback finds nothing.
 */
export async function completeAuthorization(
  ctx: AppContext,
  oauth: OAuthClients,
  currentUrl: URL,
  query: { state: string; error?: string | undefined },
): Promise<CallbackOutcome> {
  const stateHash = hmacSha256(ctx.hashingKey, query.state);
  const row = await ctx.store.db
    .updateTable('sessions')
    .set({ oauth_state_hash: null, updated_at: isoNow() })
    .where('oauth_state_hash', '=', stateHash)
    .where('status', '=', 'started')
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    // A person who chose Cancel in the app and then finished signing in anyway hears why it did not count.
    const cancelled = await ctx.store.db
      .selectFrom('sessions')
      .select('id')
      .where('oauth_state_hash', '=', stateHash)
      .where('status', '=', 'cancelled')
      .executeTakeFirst();
    if (cancelled) throw sessionCancelled();
    throw badRequest('invalid_state', 'This sign-in link is unknown, already used or expired. Start again from the app.');
  }
  assertNotExpired(row);
  const integration = requireIntegration(ctx, row.integration_id);
  const outcome = (session: SessionRow): CallbackOutcome => ({
    session: toView(session),
    mode: row.mode ?? 'page',
    openerOrigin: row.opener_origin,
    redirectUrl: row.redirect_url,
    needsConfiguration: session.status === 'configuring',
  });

  if (query.error) {
    const cancelled = query.error === 'access_denied';
    const updated = await finishSession(ctx, row.id, {
      status: cancelled ? 'cancelled' : 'failed',
      error_code: cancelled ? 'access_denied' : 'provider_error',
      error_message: cancelled ? 'The sign-in was cancelled.' : `The provider answered ${query.error.slice(0, 64)}.`,
    });
    return outcome(updated);
  }

  const connectorSlug = row.connector_id ?? integration.connectors[0]!;
  const connector = ctx.catalog.connectors.get(connectorSlug);
  if (!connector || !oauthMethodOf(connector)) throw notFound('connector_not_found', 'The connector is no longer available.');
  const verifier = ctx.keyring.decrypt(row.pkce_verifier_ciphertext ?? '', pkceVerifierAad(row.id));
  let tokens;
  let accountLabel: string | null = null;
  try {
    const configuration = await oauth.configuration(connector);
    // A callback naming another issuer is a mixed-up or forged response (RFC 9207). openid-client
    // refuses it too, but as one of its validation errors; named here, it is the caller's 400.
    const iss = currentUrl.searchParams.get('iss');
    if (iss !== null && iss !== configuration.serverMetadata().issuer) {
      throw badRequest('issuer_mismatch', 'The sign-in answer names another provider than the one this session started with. Start again from the app.');
    }
    const response = await oidc.authorizationCodeGrant(configuration, currentUrl, { pkceCodeVerifier: verifier, expectedState: query.state });
    tokens = toTokenSet(response);
    // A re-authorization keeps its connection's label; a new connection without one takes the account's name.
    if (!row.connection_label && !row.reauth_connection_id) accountLabel = await accountLabelOf(configuration, response);
  } catch (error) {
    const failure = error instanceof HttpError ? error : providerError(error, 'code exchange');
    await finishSession(ctx, row.id, { status: 'failed', error_code: failure.code, error_message: failure.message });
    throw failure;
  }
  const connectionId = await storeConnection(ctx, { ...row, connection_label: row.connection_label ?? accountLabel }, connectorSlug, {
    type: 'oauth2',
    tokens,
  });
  const updated = await finishSession(
    ctx,
    row.id,
    { status: integration.configFields.length > 0 ? 'configuring' : 'authorized', connection_id: connectionId },
    'started',
  );
  return outcome(updated);
}

/**
 * Records how a sign-in ended. With `from`, only a session still in that status moves: a Cancel
 * chosen in the app meanwhile (sessions/cancel.ts) wins, and this sign-in does not count.
 */
async function finishSession(
  ctx: AppContext,
  sessionId: string,
  changes: Partial<Pick<SessionRow, 'status' | 'error_code' | 'error_message' | 'connection_id' | 'config'>>,
  from?: SessionRow['status'],
): Promise<SessionRow> {
  let update = ctx.store.db
    .updateTable('sessions')
    .set({ ...changes, pkce_verifier_ciphertext: null, updated_at: isoNow() })
    .where('id', '=', sessionId);
  if (from) update = update.where('status', '=', from);
  const row = await update.returningAll().executeTakeFirst();
  if (!row) throw sessionCancelled();
  return row;
}

const sessionCancelled = () => conflict('session_cancelled', 'This sign-in was cancelled in the app. Start again from there.');

/** Saves the configuration form; only a session waiting for configuration accepts it. */
export async function saveConfiguration(ctx: AppContext, integrationId: string, sessionId: string, values: Record<string, string>): Promise<CallbackOutcome> {
  const integration = requireIntegration(ctx, integrationId);
  const row = await readSession(ctx, integrationId, sessionId);
  assertNotExpired(row);
  if (row.status !== 'configuring') throw conflict('session_not_configuring', 'This session is not waiting for configuration.');
  const config: Record<string, string> = {};
  for (const field of integration.configFields) {
    const value = (values[field.name] ?? '').trim();
    if (value.length > 1000) throw badRequest('invalid_config', `${field.label} is too long.`);
    if (field.required && !value) throw badRequest('invalid_config', `${field.label} is required.`);
    config[field.name] = value;
  }
  const updated = await ctx.store.db
    .updateTable('sessions')
    .set({ status: 'authorized', config: JSON.stringify(config), updated_at: isoNow() })
    .where('id', '=', row.id)
    .where('status', '=', 'configuring')
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw conflict('session_not_configuring', 'This session is not waiting for configuration.');
  return {
    session: toView(updated),
    mode: updated.mode ?? 'page',
    openerOrigin: updated.opener_origin,
    redirectUrl: updated.redirect_url,
    needsConfiguration: false,
  };
}

/**
 * Commit is idempotent per session: the install row is keyed by session id (unique), so any number
 * of commits — double clicks, retries, two tabs — answer the same install.
 */
export async function commitSession(ctx: AppContext, integrationId: string, sessionId: string): Promise<{ installId: string; targetUrl: string }> {
  const row = await readSession(ctx, integrationId, sessionId);
  const target = (installId: string) => ({ installId, targetUrl: `${integrationBaseUrl(ctx, integrationId)}/install/${installId}` });
  if (row.install_id) return target(row.install_id);
  assertNotExpired(row);
  if (row.status !== 'authorized' || !row.connection_id) {
    throw conflict('session_not_authorized', 'The session has not been authorized yet.');
  }
  const installId = await createInstallForSession(ctx, {
    sessionId: row.id,
    integrationId: row.integration_id,
    tenantId: row.tenant_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    connectionIds: [row.connection_id],
    config: row.config ? (JSON.parse(row.config) as Record<string, string>) : {},
  });
  return target(installId);
}
