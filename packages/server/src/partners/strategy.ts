/** A partner's key (`pbp_…`) as a credential strategy: it acts for its partner, within its environment's grants. */
import type { CredentialStrategy, Verdict } from '../auth/strategy.js';
import type { AppContext } from '../context.js';
import { PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import type { PartnerKeyCheck } from './key-check.js';

/** A key admitted within the cache window is decided without a promise (partners/verifier.ts). */
export function partnerKeyStrategy(deps: Pick<AppContext, 'partnerKeys'>): CredentialStrategy {
  return {
    kind: 'partner',
    recognizes: (credential) => credential.startsWith(PARTNER_KEY_PREFIX),
    verify({ credential }) {
      const check = deps.partnerKeys.verify(credential);
      return check instanceof Promise ? check.then(verdictOf) : verdictOf(check);
    },
  };
}

function verdictOf(check: PartnerKeyCheck): Verdict {
  if (!check.ok) return check;
  const { partnerId, keyId, keyPrefix, environment, grants } = check;
  return { ok: true, keyId, keyPrefix, principal: { kind: 'partner', partnerId, keyId, keyPrefix, environment, grants } };
}
