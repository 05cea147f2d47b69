import type { CryptoKey, JWK } from 'jose';
import { randomUUID, webcrypto } from 'node:crypto';
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

/**
 * A new ES256 private key as a JWK, made with WebCrypto (what jose's generateKeyPair does) and
 * kept to the members jose's exportJWK writes, so a first start need not load jose.
 */
async function newSigningJwk(): Promise<JWK> {
  const { privateKey } = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y, d } = await webcrypto.subtle.exportKey('jwk', privateKey);
  return { kty, crv, x, y, d };
}

/**
 * The stored key is read (and so the master key checked) at start; jose and the imported keys
 * are loaded on the first token made or checked, since most deployments never use tokens.
 */
export async function loadTokenSigner(deps: { store: Store; keyring: Keyring }, issuer: string): Promise<TokenSigner> {
  const { store, keyring } = deps;
  const aad = serverSecretAad(SIGNING_KEY_NAME);
  const read = () => store.db.selectFrom('server_secrets').select('ciphertext').where('name', '=', SIGNING_KEY_NAME).executeTakeFirst();
  let stored = await read();
  if (!stored) {
    const jwk = await newSigningJwk();
    await store.db
      .insertInto('server_secrets')
      .values({ name: SIGNING_KEY_NAME, ciphertext: keyring.encrypt(JSON.stringify(jwk), aad), created_at: isoNow() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    stored = await read();
  }
  const privateJwk = JSON.parse(keyring.decrypt(stored!.ciphertext, aad)) as JWK;
  const { d: _private, ...publicJwk } = privateJwk;
  let loading: Promise<{ jose: typeof import('jose'); privateKey: CryptoKey; publicKey: CryptoKey }> | undefined;
  const load = () =>
    (loading ??= (async () => {
      const jose = await import('jose');
      const [privateKey, publicKey] = await Promise.all([jose.importJWK(privateJwk, 'ES256'), jose.importJWK(publicJwk, 'ES256')]);
      return { jose, privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey };
    })());

  return {
    async sign({ keyId, scopes, tenantId, ttlSeconds }) {
      const { jose, privateKey } = await load();
      const now = Math.floor(Date.now() / 1000);
      const token = await new jose.SignJWT({ scope: scopes.join(' '), ...(tenantId ? { tid: tenantId } : {}) })
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
      const { jose, publicKey } = await load();
      try {
        const { payload } = await jose.jwtVerify(token, publicKey, { issuer, audience: AUDIENCE, algorithms: ['ES256'], typ: 'at+jwt' });
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
