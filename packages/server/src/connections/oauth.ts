import type * as oidc from 'openid-client';
import { type Catalog, type Connector, oauthMethodOf } from '../connectors/catalog.js';
import { HttpError } from '../http/errors.js';

/**
 * OAuth 2.0 client side, all through openid-client: discovery, PKCE, the code exchange (with
 * `state` and `iss` checks) and refresh. Nothing here builds a token request by hand.
 */

let loaded: typeof oidc | undefined;

/**
 * openid-client, imported on first use (memoized): a server whose connectors use keys and tokens
 * only never loads it, and nobody's start waits for it.
 */
export async function openIdClient(): Promise<typeof oidc> {
  return (loaded ??= await import('openid-client'));
}

/** Plain http is allowed only to loopback (the demo and test providers); everything else needs https. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

export interface OAuthClients {
  configuration(connector: Connector): Promise<oidc.Configuration>;
}

export function createOAuthClients(catalog: Catalog, timeoutSeconds: number): OAuthClients {
  const configurations = new Map<string, Promise<oidc.Configuration>>();

  async function build(connector: Connector): Promise<oidc.Configuration> {
    const oidc = await openIdClient();
    const auth = oauthMethodOf(connector);
    if (!auth) throw new HttpError(400, 'method_not_supported', `Connector ${connector.slug} has no OAuth 2.0 method.`);
    const secret = await catalog.clientSecret(connector.slug);
    const clientAuth = secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret);
    const metadata = secret === undefined ? {} : { client_secret: secret };
    const endpoint = new URL(auth.issuer ?? auth.tokenUrl!);
    const insecure = isLoopbackHttp(endpoint);
    let configuration: oidc.Configuration;
    if (auth.issuer) {
      configuration = await oidc.discovery(new URL(auth.issuer), auth.clientId, metadata, clientAuth, {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
        timeout: timeoutSeconds,
      });
    } else {
      configuration = new oidc.Configuration(
        { issuer: new URL(auth.authorizationUrl!).origin, authorization_endpoint: auth.authorizationUrl!, token_endpoint: auth.tokenUrl! },
        auth.clientId,
        metadata,
        clientAuth,
      );
      if (insecure) oidc.allowInsecureRequests(configuration);
    }
    configuration.timeout = timeoutSeconds;
    return configuration;
  }

  return {
    configuration(connector) {
      let pending = configurations.get(connector.slug);
      if (!pending) {
        pending = build(connector);
        // A failed discovery is not cached: the next attempt tries again.
        pending.catch(() => configurations.delete(connector.slug));
        configurations.set(connector.slug, pending);
      }
      return pending;
    },
  };
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  tokenType: string;
  scope: string | null;
  /** Epoch milliseconds, or null when the provider did not say. */
  expiresAt: number | null;
  /**
   * When the refresh token stops working (epoch milliseconds), for providers that say so
   * (`refresh_expires_in`, `refresh_token_expires_in`); null or absent when unknown.
   */
  refreshExpiresAt?: number | null;
}

/** A positive number of seconds from a token response field, else undefined. */
function secondsField(response: oidc.TokenEndpointResponse, name: string): number | undefined {
  const value = response[name];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function toTokenSet(
  response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  previous: Pick<TokenSet, 'refreshToken' | 'refreshExpiresAt'> | null = null,
): TokenSet {
  const expiresIn = response.expiresIn();
  const refreshExpiresIn = secondsField(response, 'refresh_expires_in') ?? secondsField(response, 'refresh_token_expires_in');
  return {
    accessToken: response.access_token,
    // Providers that do not rotate refresh tokens omit them on refresh: keep the old one (and its expiry).
    refreshToken: response.refresh_token ?? previous?.refreshToken ?? null,
    tokenType: response.token_type ?? 'bearer',
    scope: response.scope ?? null,
    expiresAt: expiresIn === undefined ? null : Date.now() + expiresIn * 1000,
    refreshExpiresAt:
      refreshExpiresIn !== undefined ? Date.now() + refreshExpiresIn * 1000 : response.refresh_token ? null : (previous?.refreshExpiresAt ?? null),
  };
}

function labelFrom(claims: Record<string, unknown> | undefined): string | null {
  for (const name of ['email', 'name', 'preferred_username']) {
    const value = claims?.[name];
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 100);
  }
  return null;
}

/**
 * A readable name for the account that signed in (email, name or user name), so a tenant can
 * tell its connections apart: from the ID token, else from the provider's userinfo endpoint
 * (most providers keep profile claims there for the code flow). Only a label: any failure is null.
 */
export async function accountLabelOf(
  configuration: oidc.Configuration,
  response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
): Promise<string | null> {
  const oidc = await openIdClient();
  const claims = response.claims();
  const fromToken = labelFrom(claims);
  if (fromToken || !claims || !configuration.serverMetadata().userinfo_endpoint) return fromToken;
  try {
    return labelFrom(await oidc.fetchUserInfo(configuration, response.access_token, claims.sub));
  } catch {
    return null;
  }
}

/** Turns a provider or network failure into a 4xx/502 the caller can act on, without secrets. */
export function providerError(error: unknown, during: string): HttpError {
  // Before openid-client is loaded, no error can be one of its own.
  const oidc = loaded;
  if (oidc && error instanceof oidc.ResponseBodyError) {
    return new HttpError(502, 'provider_error', `The provider refused the ${during}: ${error.error}.`, { cause: error });
  }
  if (oidc && error instanceof oidc.AuthorizationResponseError) {
    return new HttpError(400, 'provider_error', `The provider answered the authorization with ${error.error}.`, { cause: error });
  }
  if (oidc && error instanceof oidc.ClientError) {
    return new HttpError(502, 'provider_error', `The provider's answer to the ${during} did not validate.`, { cause: error });
  }
  return new HttpError(502, 'provider_unreachable', `The provider could not be reached for the ${during}.`, { cause: error });
}

export function isInvalidGrant(error: unknown): boolean {
  return loaded !== undefined && error instanceof loaded.ResponseBodyError && error.error === 'invalid_grant';
}
