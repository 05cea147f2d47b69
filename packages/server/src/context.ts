import type { CredentialStrategy } from './auth/strategy.js';
import type { Config } from './config.js';
import type { Keyring } from './crypto/envelope.js';
import type { Logger } from './logger.js';
import type { Store } from './store/store.js';
import type { Catalog } from './connectors/catalog.js';
import type { CustomAuthMethods } from './connectors/auth-methods.js';
import type { AuthEventRecorder } from './keys/auth-events.js';
import type { TokenSigner } from './keys/tokens.js';
import type { KeyVerifier } from './keys/verifier.js';
import type { FailureLimiter } from './http/rate-limit.js';
import type { EventHub } from './events/hub.js';
import type { Metrics } from './metrics/metrics.js';
import type { RequestLog } from './connections/request-log.js';
import type { ReadCache } from './store/read-cache.js';
import type { ConnectionsTable } from './store/schema.js';
import type { ActiveInstallCache } from './installs/active-cache.js';
import type { PartnerKeyVerifier } from './partners/verifier.js';

/** What every service needs, built once at start-up and passed down explicitly (no globals). */
export interface AppContext {
  config: Config;
  store: Store;
  keyring: Keyring;
  /** Key for the HMACs of access keys, session tokens and OAuth states. */
  hashingKey: Buffer;
  logger: Logger;
  catalog: Catalog;
  /** Proprietary auth schemes registered in server code (`defineAuthMethod`). */
  customAuthMethods: CustomAuthMethods;
  keys: KeyVerifier;
  tokenSigner: TokenSigner;
  authEvents: AuthEventRecorder;
  /**
   * The credential kinds, each from its resource (keys, sessions, partners); a route accepts the
   * first that recognizes what was presented, so the access key strategy, which takes the rest, is last.
   */
  strategies: readonly CredentialStrategy[];
  failures: FailureLimiter;
  /** Fans published events out to this instance's open streams. */
  events: EventHub;
  /** This server's Prometheus metrics (served at /metrics). */
  metrics: Metrics;
  /** The last upstream calls per connection, written in batches off the request path. */
  requestLog: RequestLog;
  /** Connection rows the proxy and tenant actions reuse for a short window; changes made here `forget` theirs. */
  connectionRows: ReadCache<ConnectionsTable>;
  /** Tenants' working installs the tenant actions reuse for the same window; install writes made here `forget` theirs. */
  activeInstalls: ActiveInstallCache;
  /** Partner keys admitted within `keyCacheSeconds`; partner, grant and key changes made here `forget` them. */
  partnerKeys: PartnerKeyVerifier;
}
