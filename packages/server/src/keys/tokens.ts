import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Keyring } from '../crypto/envelope.js';
import { serverSecretAad } from '../crypto/secrets.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import type { Scope } from './scopes.js';

/**
 * Short-lived access tokens: ES256 JWTs signed with a key the server generates once and stores
 * wrapped by the master key. A token names the access key it came from; the key's state (active,
 * expiry) is checked on every use, so inactivating a key ends its tokens too.
 */
const SIGNING_KEY_NAME = 'jwt-signing-key';
const AUDIENCE = 'patchbay';
export const TOKEN_PREFIX = 'eyJ';

/** What a valid token says: the key it was made from, its scopes (a subset) and tenant. */
export interface TokenClaims {
  keyId: string;
  scopes: Scope[];
  tenantId: string | null;
}

export interface TokenSigner {
  sign(input: { keyId: string; scopes: Scope[]; tenantId: string | null; ttlSeconds: number }): Promise<{ token: string; expiresAt: string }>;
  verify(token: string): Promise<TokenClaims | null>;
}

export async function loadTokenSigner(deps: { store: Store; keyring: Keyring }, issuer: string): Promise<TokenSigner> {
  const { store, keyring } = deps;
  const aad = serverSecretAad(SIGNING_KEY_NAME);
  const read = () => store.db.selectFrom('server_secrets').select('ciphertext').where('name', '=', SIGNING_KEY_NAME).executeTakeFirst();
  let stored = await read();
  if (!stored) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    await store.db
      .insertInto('server_secrets')
      .values({ name: SIGNING_KEY_NAME, ciphertext: keyring.encrypt(JSON.stringify(jwk), aad), created_at: isoNow() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    stored = await read();
  }
  const privateJwk = JSON.parse(keyring.decrypt(stored!.ciphertext, aad)) as JWK;
  const privateKey = (await importJWK(privateJwk, 'ES256')) as CryptoKey;
  const { d: _private, ...publicJwk } = privateJwk;
  const publicKey = (await importJWK(publicJwk, 'ES256')) as CryptoKey;

  return {
    async sign({ keyId, scopes, tenantId, ttlSeconds }) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ scope: scopes.join(' '), ...(tenantId ? { tid: tenantId } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setSubject(keyId)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(privateKey);
      return { token, expiresAt: new Date((now + ttlSeconds) * 1000).toISOString() };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, publicKey, { issuer, audience: AUDIENCE, algorithms: ['ES256'], typ: 'at+jwt' });
        if (typeof payload.sub !== 'string' || typeof payload.scope !== 'string') return null;
        return {
          keyId: payload.sub,
          scopes: payload.scope.split(' ').filter(Boolean) as Scope[],
          tenantId: typeof payload.tid === 'string' ? payload.tid : null,
        };
      } catch {
        return null;
      }
    },
  };
}
