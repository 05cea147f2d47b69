import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type Provider from 'oidc-provider';
import { useDemoProviderPages } from './provider-pages.js';

/**
 * A real OpenID Provider (oidc-provider) for the demo and the tests: PKCE S256 required, refresh
 * tokens issued and rotated, "Demo Cloud" sign-in and consent pages (any user name and password).
 * Demo mode only; never part of a production server.
 */
export interface DemoProviderOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Seconds an access token lives; short in tests that exercise refresh. */
  accessTokenTtlSeconds?: number;
}

export async function createDemoProvider(options: DemoProviderOptions): Promise<Provider> {
  // Imported here, not at the top: oidc-provider is an ES module, and `patchbay start` runs from a
  // CommonJS bundle (scripts/bundle-cli.mjs), whose import() of it Node answers as an ES module.
  const { default: OidcProvider } = await import('oidc-provider');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'demo' };
  const provider = new OidcProvider(options.issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    // The provider is mounted under its issuer's path; its pages live there too (provider-pages.ts).
    interactions: { url: async (_ctx, interaction) => `${new URL(options.issuer).pathname.replace(/\/$/, '')}/interaction/${interaction.uid}` },
    scopes: ['openid', 'offline_access', 'profile', 'demo.read'],
    claims: { openid: ['sub'], profile: ['name'] },
    // Our own pages (provider-pages.ts) instead of the development ones; no logout pages either,
    // since oidc-provider's defaults load web fonts and the demo never signs out.
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: false }, revocation: { enabled: true } },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, name: sub }) };
    },
    // Every code grant for a client allowed to refresh gets a refresh token (no offline_access dance).
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 86_400,
      Interaction: 600,
      Session: 3600,
      Grant: 14 * 86_400,
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Demo provider error</title><h1>${String(out.error).replace(/[^a-z_]/gi, '')}</h1>`;
    },
  });
  useDemoProviderPages(provider);
  return provider;
}

/** Accepts a bearer token only when the provider issued it and it is still valid. */
export async function isValidAccessToken(provider: Provider, token: string): Promise<{ sub: string; scope: string } | null> {
  const found = await provider.AccessToken.find(token);
  if (!found || found.isExpired) return null;
  return { sub: String(found.accountId), scope: String(found.scope ?? '') };
}
