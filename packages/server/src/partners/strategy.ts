/** A partner's key (`pbp_…`) as a credential strategy: it acts for its partner, within its environment's grants. */
import type { CredentialStrategy } from '../auth/strategy.js';
import type { AppContext } from '../context.js';
import { PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { verifyPartnerKey } from './keys.js';

export function partnerKeyStrategy(deps: Pick<AppContext, 'store' | 'hashingKey'>): CredentialStrategy {
  return {
    kind: 'partner',
    recognizes: (credential) => credential.startsWith(PARTNER_KEY_PREFIX),
    async verify({ credential }) {
      const check = await verifyPartnerKey(deps, credential);
      if (!check.ok) return check;
      const { partnerId, keyId, keyPrefix, environment, grants } = check;
      return { ok: true, keyId, keyPrefix, principal: { kind: 'partner', partnerId, keyId, keyPrefix, environment, grants } };
    },
  };
}
