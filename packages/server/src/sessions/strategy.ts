/** The widget's session token (`ses_…_secret_…`) as a credential strategy: it acts for its one session. */
import type { CredentialStrategy } from '../auth/strategy.js';
import { verifySessionToken } from './service.js';

const SESSION_PREFIX = 'ses_';

/** Whatever `verifySessionToken` reads (the store and the hashing key). */
type SessionTokenDeps = Parameters<typeof verifySessionToken>[0];

export function sessionTokenStrategy(deps: SessionTokenDeps): CredentialStrategy {
  return {
    kind: 'session',
    recognizes: (credential) => credential.startsWith(SESSION_PREFIX),
    async verify({ credential }) {
      const session = await verifySessionToken(deps, credential);
      if (!session) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
      // The auth event names a session token by its session.
      return { ok: true, keyId: session.sessionId, keyPrefix: SESSION_PREFIX, principal: { kind: 'session', ...session } };
    },
  };
}
