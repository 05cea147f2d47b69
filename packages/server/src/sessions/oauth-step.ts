import type { AppContext } from '../context.js';
import { type Connector, oauthMethodOf, type PublicOAuth2Method } from '../connectors/catalog.js';
import type * as oidcTypes from 'openid-client';
import { accountLabelOf, type OAuthClients, openIdClient, providerError, type TokenSet, toTokenSet } from '../connections/oauth.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { random128 } from '../crypto/random.js';
import { badRequest, HttpError, notFound } from '../http/errors.js';
import { finishSignIn } from './connection.js';
import { requireIntegration } from './service.js';
import { moveSession, sessionCancelled, sessionExpired, type SessionChanges, type SessionRow } from './state.js';
import { type CallbackOutcome, outcomeOf } from './view.js';

/** What a session's PKCE verifier is bound to (also used by master key rotation). */
export const pkceVerifierAad = (sessionId: string) => `sessions:${sessionId}:pkce`;

export function callbackUrl(deps: Pick<AppContext, 'config'>): string {
  return `${deps.config.publicUrl}/oauth/callback`;
}

/**
 * The provider's authorize URL for one attempt: a fresh one-time `state` and PKCE verifier (S256)
 * on every start, so reopening the popup invalidates the previous attempt. Answers the columns
 * the start stores with them (the state's hash, the verifier encrypted to this session).
 */
export async function authorizationRequest(
  deps: Pick<AppContext, 'config' | 'hashingKey' | 'keyring'>,
  oauth: OAuthClients,
  sessionId: string,
  connector: Connector,
  method: PublicOAuth2Method,
): Promise<{ url: URL; set: SessionChanges }> {
  let configuration: oidcTypes.Configuration;
  try {
    configuration = await oauth.configuration(connector);
  } catch (error) {
    throw providerError(error, 'discovery');
  }
  const oidc = await openIdClient();
  const state = random128() + random128();
  const verifier = oidc.randomPKCECodeVerifier();
  const parameters: Record<string, string> = {
    ...method.authorizeParams,
    redirect_uri: callbackUrl(deps),
    scope: method.scopes.join(' '),
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  return {
    url: oidc.buildAuthorizationUrl(configuration, parameters),
    set: { oauth_state_hash: hmacSha256(deps.hashingKey, state), pkce_verifier_ciphertext: deps.keyring.encrypt(verifier, pkceVerifierAad(sessionId)) },
  };
}

/**
 * Exchanges the code for tokens, after checking the issuer; answers the tokens and, when asked,
 * the account's name for a new connection's label.
 */
async function exchangeCode(
  oauth: OAuthClients,
  connector: Connector,
  currentUrl: URL,
  checks: { verifier: string; state: string; wantLabel: boolean },
): Promise<{ tokens: TokenSet; accountLabel: string | null }> {
  const configuration = await oauth.configuration(connector);
  // A callback naming another issuer is a mixed-up or forged response (RFC 9207). openid-client
  // refuses it too, but as one of its validation errors; named here, it is the caller's 400.
  const iss = currentUrl.searchParams.get('iss');
  if (iss !== null && iss !== configuration.serverMetadata().issuer) {
    throw badRequest('issuer_mismatch', 'The sign-in answer names another provider than the one this session started with. Start again from the app.');
  }
  const oidc = await openIdClient();
  const response = await oidc.authorizationCodeGrant(configuration, currentUrl, { pkceCodeVerifier: checks.verifier, expectedState: checks.state });
  return { tokens: toTokenSet(response), accountLabel: checks.wantLabel ? await accountLabelOf(configuration, response) : null };
}

/** Records how a claimed attempt ended at the provider (refused or failed): started → cancelled | failed. */
async function endAttempt(deps: Pick<AppContext, 'store'>, row: SessionRow, to: 'cancelled' | 'failed', error: { code: string; message: string }) {
  return moveSession(deps.store.db, {
    session: { id: row.id },
    from: ['started'],
    to,
    set: { error_code: error.code, error_message: error.message, pkce_verifier_ciphertext: null },
  });
}

/**
 * Handles the provider's redirect. The `state` is consumed atomically (the move that clears it is
 * the only way in), so a replayed or forged callback finds nothing.
 */
export async function completeAuthorization(
  ctx: AppContext,
  oauth: OAuthClients,
  currentUrl: URL,
  query: { state: string; error?: string | undefined },
): Promise<CallbackOutcome> {
  const claimed = await moveSession(ctx.store.db, {
    session: { oauthStateHash: hmacSha256(ctx.hashingKey, query.state) },
    from: ['started'],
    to: 'started',
    set: { oauth_state_hash: null },
  });
  if (claimed.refused) {
    // A person who chose Cancel in the app and then finished signing in anyway hears why it did not count.
    if (claimed.refused.from === 'cancelled') throw sessionCancelled();
    if (claimed.refused.from === 'expired') throw sessionExpired();
    throw badRequest('invalid_state', 'This sign-in link is unknown, already used or expired. Start again from the app.');
  }
  const row = claimed.row;
  // The provider may send the person back to an instance that has not seen this integration yet.
  await ctx.catalog.loadIntegration(row.integration_id);
  const integration = requireIntegration(ctx, row.integration_id);

  if (query.error) {
    const denied = query.error === 'access_denied';
    const ended = await endAttempt(
      ctx,
      row,
      denied ? 'cancelled' : 'failed',
      denied
        ? { code: 'access_denied', message: 'The sign-in was cancelled.' }
        : { code: 'provider_error', message: `The provider answered ${query.error.slice(0, 64)}.` },
    );
    if (ended.refused) throw ended.refused.from === 'expired' ? sessionExpired() : sessionCancelled();
    return outcomeOf(ended.row);
  }

  const connectorSlug = row.connector_id ?? integration.connectors[0]!;
  const connector = ctx.catalog.connectors.get(connectorSlug);
  if (!connector || !oauthMethodOf(connector)) throw notFound('connector_not_found', 'The connector is no longer available.');
  const verifier = ctx.keyring.decrypt(row.pkce_verifier_ciphertext ?? '', pkceVerifierAad(row.id));
  let exchanged: Awaited<ReturnType<typeof exchangeCode>>;
  try {
    // A re-authorization keeps its connection's label; a new connection without one takes the account's name.
    exchanged = await exchangeCode(oauth, connector, currentUrl, {
      verifier,
      state: query.state,
      wantLabel: !row.connection_label && !row.reauth_connection_id,
    });
  } catch (error) {
    const failure = error instanceof HttpError ? error : providerError(error, 'code exchange');
    // The failure is the answer even if the session could not be marked (it expired meanwhile).
    await endAttempt(ctx, row, 'failed', { code: failure.code, message: failure.message });
    throw failure;
  }
  const updated = await finishSignIn(ctx, { ...row, connection_label: row.connection_label ?? exchanged.accountLabel }, integration, connectorSlug, {
    type: 'oauth2',
    tokens: exchanged.tokens,
  });
  return outcomeOf(updated);
}
