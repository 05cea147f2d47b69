import type { AppContext } from '../context.js';
import { type Connector, type Integration, type PublicAuthMethod } from '../connectors/catalog.js';
import { type CustomAuthMethods, formFieldsFor, type FormField } from '../connectors/auth-methods.js';
import { defaultMethod } from '../connectors/schema.js';
import type { OAuthClients } from '../connections/oauth.js';
import { badRequest, conflict, HttpError, notFound } from '../http/errors.js';
import { ownedConnection } from './connection.js';
import { authorizationRequest } from './oauth-step.js';
import { isAllowedOrigin, readSession, requireIntegration } from './service.js';
import { allowedFrom, assertNotExpired, moveSession, type SessionChanges, sessionExpired, type SessionRow } from './state.js';
import { type SessionView, toView } from './view.js';

export type StartResult =
  | { kind: 'redirect'; url: URL }
  | { kind: 'form'; session: SessionView; connector: Connector; method: PublicAuthMethod; fields: FormField[] }
  | { kind: 'configure'; session: SessionView }
  /** The connector offers several methods and the start named none: the person chooses (default first). */
  | { kind: 'choose'; connector: Connector; methods: PublicAuthMethod[] };

export interface StartOptions {
  mode: 'popup' | 'page';
  origin?: string | undefined;
  connector?: string | undefined;
  method?: string | undefined;
  reauth?: string | undefined;
}

/**
 * Picks the connector (the one the host asked for, else `?connector=` among the integration's)
 * and its method: `?method=`, else the connection's own when re-authorizing, else the default when
 * it is the only one. Null as the method: the person chooses first.
 */
function chooseConnector(deps: Pick<AppContext, 'catalog'>, integration: Integration, row: SessionRow, options: StartOptions & { reauthMethod?: string }) {
  const requested = row.requested_connector;
  const slug = requested ?? options.connector ?? row.connector_id ?? (integration.connectors.length === 1 ? integration.connectors[0] : undefined);
  if (!slug) throw badRequest('connector_required', 'Choose a connector: this integration offers several.');
  if (!integration.connectors.includes(slug) || (requested && options.connector && options.connector !== requested)) {
    throw badRequest('connector_not_allowed', `This session cannot use connector "${options.connector ?? slug}".`);
  }
  const connector = deps.catalog.connectors.get(slug);
  if (!connector) throw notFound('connector_not_found', `Connector "${slug}" is not available.`);
  const offered = (type: string | undefined) => connector.authMethods.find((candidate) => candidate.type === type);
  if (options.method) {
    const method = offered(options.method);
    if (!method) throw badRequest('method_not_supported', `Connector "${slug}" does not offer ${options.method}.`);
    return { connector, method };
  }
  const method = offered(options.reauthMethod) ?? (connector.authMethods.length === 1 ? defaultMethod(connector.authMethods) : null);
  return { connector, method };
}

/** The connector's methods with the default first, the others in their declared order. */
export function methodsDefaultFirst(connector: Connector): PublicAuthMethod[] {
  const first = defaultMethod(connector.authMethods);
  return [first, ...connector.authMethods.filter((method) => method !== first)];
}

const sessionUsed = () => conflict('session_used', 'This session has already been authorized; start a new one.');

/**
 * Moves the session for this start: to `started`, or — reopening the configuration form — from
 * `configuring` to itself. Refused when the session has moved on meanwhile (authorized, say).
 */
async function moveForStart(deps: Pick<AppContext, 'store'>, row: SessionRow, to: 'started' | 'configuring', set: SessionChanges): Promise<SessionRow> {
  const moved = await moveSession(deps.store.db, { session: { id: row.id }, to, from: to === 'configuring' ? ['configuring'] : allowedFrom('started'), set });
  if (moved.refused) throw moved.refused.from === 'expired' ? sessionExpired() : sessionUsed();
  return moved.row;
}

/**
 * Begins authorization (the popup's or page's first request). OAuth: answers the provider's
 * authorize URL. Other methods: answers the credential form to show. A session waiting for its
 * configuration answers that form again.
 */
export async function startSession(
  ctx: AppContext,
  oauth: OAuthClients,
  customs: CustomAuthMethods,
  integrationId: string,
  sessionId: string,
  options: StartOptions,
): Promise<StartResult> {
  const integration = requireIntegration(ctx, integrationId);
  const row = await readSession(ctx, integrationId, sessionId);
  assertNotExpired(row);
  if (row.status !== 'configuring' && !allowedFrom('started').includes(row.status)) throw sessionUsed();
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
    const updated = await moveForStart(ctx, row, 'configuring', { mode: options.mode, opener_origin: openerOrigin });
    return { kind: 'configure', session: toView(updated) };
  }
  let reauthConnectionId = row.reauth_connection_id;
  let reauthMethod: string | undefined;
  const owner = { tenantId: row.tenant_id, connectors: integration.connectors };
  if (options.reauth) {
    const existing = await ownedConnection(ctx.store.db, options.reauth, owner);
    if (!existing || existing.status === 'revoked') {
      throw badRequest('connection_not_found', 'That connection does not belong to this tenant and integration.');
    }
    reauthConnectionId = options.reauth;
    reauthMethod = existing.auth_method;
    options = { ...options, connector: existing.connector_id };
  } else if (reauthConnectionId) {
    // Disconnected since this session was created: say so now, not after the person has signed in.
    const existing = await ownedConnection(ctx.store.db, reauthConnectionId, owner);
    if (!existing || existing.status === 'revoked') throw badRequest('connection_not_found', 'The connection to renew has been disconnected.');
    reauthMethod = existing.auth_method;
  }
  const { connector, method } = chooseConnector(ctx, integration, row, { ...options, ...(reauthMethod ? { reauthMethod } : {}) });
  // Nothing moves before the person has chosen: the choice's links start again with `?method=`.
  if (!method) return { kind: 'choose', connector, methods: methodsDefaultFirst(connector) };
  const common: SessionChanges = {
    mode: options.mode,
    opener_origin: openerOrigin,
    connector_id: connector.slug,
    auth_method: method.type,
    reauth_connection_id: reauthConnectionId,
    error_code: null,
    error_message: null,
  };

  if (method.type !== 'oauth2') {
    const fields = formFieldsFor(method, customs);
    if (fields === null) throw new HttpError(500, 'method_not_registered', `Auth method ${method.type} has no registered handler.`, { expose: false });
    const updated = await moveForStart(ctx, row, 'started', { ...common, oauth_state_hash: null, pkce_verifier_ciphertext: null });
    return { kind: 'form', session: toView(updated), connector, method, fields };
  }
  const request = await authorizationRequest(ctx, oauth, row.id, connector, method);
  await moveForStart(ctx, row, 'started', { ...common, ...request.set });
  return { kind: 'redirect', url: request.url };
}
