/**
 * Access keys and the short-lived tokens made from them, as credential strategies. Both end in the
 * same checks on the key as it is now (state, IP allowlist, scope, tenant), so a token never holds
 * more than its key holds today.
 */
import type { CredentialStrategy, Presented, Refusal, Verdict } from '../auth/strategy.js';
import type { AppContext } from '../context.js';
import { allowlistChecker } from './ip.js';
import type { AccessKeyRecord, VerifyResult } from './record.js';
import { grants, type Scope } from './scopes.js';
import { TOKEN_PREFIX, type TokenClaims } from './tokens.js';

const UNKNOWN: Refusal = { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };

/**
 * Access keys: the kind every keyed route accepts, and the one that reads whatever no other
 * accepted kind recognizes (a malformed key is refused before any lookup). A key seen within the
 * cache window is decided without a promise: this is the path every backend call takes.
 */
export function accessKeyStrategy(deps: Pick<AppContext, 'keys' | 'logger'>): CredentialStrategy {
  const checks = keyChecks(deps);
  return {
    kind: 'key',
    recognizes: () => true,
    verify(presented) {
      const cached = deps.keys.cachedVerdict(presented.credential);
      if (cached) return checks.admit(presented, cached, null);
      return deps.keys.verifyKey(presented.credential).then((result) => checks.admit(presented, result, null));
    },
  };
}

/** Short-lived tokens (ES256 JWTs): admitted by the key they were made from, with the token's scopes and tenant. */
export function tokenStrategy(deps: Pick<AppContext, 'keys' | 'logger' | 'tokenSigner'>): CredentialStrategy {
  const checks = keyChecks(deps);
  return {
    kind: 'token',
    recognizes: (credential) => credential.startsWith(TOKEN_PREFIX),
    async verify(presented) {
      const claims = await deps.tokenSigner.verify(presented.credential);
      if (!claims) return UNKNOWN;
      return checks.admit(presented, await deps.keys.verifyKeyId(claims.keyId), claims);
    },
  };
}

function refusal(reason: 'ip_restricted' | 'insufficient_scope' | 'tenant_forbidden', key: AccessKeyRecord): Refusal {
  return { ok: false, reason, keyId: key.id, keyPrefix: key.keyPrefix };
}

type Admitted = Extract<Verdict, { ok: true }>;

/**
 * The checks after the key is known (state, IP, scope, tenant), then the principal. A key presented
 * itself gets the same principal on every request until its record is replaced (a change, or the
 * cache window's next lookup), so that verdict is made once per record; routes only read it.
 */
function keyChecks(deps: Pick<AppContext, 'keys' | 'logger'>) {
  const isAllowed = allowlistChecker();
  const keyVerdicts = new WeakMap<AccessKeyRecord, Admitted>();
  const admitted = (key: AccessKeyRecord, scopes: Scope[], token: TokenClaims | null): Admitted => {
    const tokenTenant = token?.tenantId ?? null;
    return {
      ok: true,
      keyId: key.id,
      keyPrefix: key.keyPrefix,
      principal: {
        kind: 'key',
        key: tokenTenant && !key.tenantId ? { ...key, tenantId: tokenTenant } : key,
        scopes,
        via: token ? 'token' : 'key',
      },
    };
  };
  return {
    admit(presented: Presented, result: VerifyResult, token: TokenClaims | null): Verdict {
      if (!result.ok) return result;
      const { key } = result;
      // A token never holds more than its key holds now.
      const scopes = token ? token.scopes.filter((scope) => grants(key.scopes, scope)) : key.scopes;
      if (key.ipAllowlist && !isAllowed(presented.clientIp, key.ipAllowlist)) return refusal('ip_restricted', key);
      if (presented.scope && !grants(scopes, presented.scope)) return refusal('insufficient_scope', key);
      const tenantRestriction = key.tenantId ?? token?.tenantId ?? null;
      if (tenantRestriction !== null && presented.tenantId !== undefined && presented.tenantId !== tenantRestriction) return refusal('tenant_forbidden', key);

      deps.keys.touch(key.id)?.catch((error: unknown) => deps.logger.warn({ err: error }, 'could not record key use'));
      if (token) return admitted(key, scopes, token);
      let verdict = keyVerdicts.get(key);
      if (!verdict) keyVerdicts.set(key, (verdict = admitted(key, scopes, null)));
      return verdict;
    },
  };
}
