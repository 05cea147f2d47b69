/**
 * The contract between the HTTP layer and the credential kinds. Each kind (access key, token made
 * from one, widget session token, partner key) is a strategy living with its resource: a function
 * from the presented credential to a principal, or a refusal with its reason. The HTTP layer picks
 * the strategy, records the attempt and answers; it knows no resource service.
 */
import type { AccessKeyRecord } from '../keys/record.js';
import type { Scope } from '../keys/scopes.js';
import type { PartnerEnvironment } from '../partners/schema.js';
import type { GrantView } from '../partners/views.js';

/** Who is calling, once a strategy has admitted the credential. */
export type Principal =
  | { kind: 'key'; key: AccessKeyRecord; /** Scopes in force: the key's, or a token's subset. */ scopes: Scope[]; via: 'key' | 'token' }
  | { kind: 'session'; sessionId: string; integrationId: string; tenantId: string; installId: string | null }
  | {
      kind: 'partner';
      partnerId: string;
      keyId: string;
      keyPrefix: string;
      environment: PartnerEnvironment;
      /** Grants for this environment. */ grants: GrantView[];
    };

export type AuthFailureReason =
  | 'invalid_credentials'
  | 'key_inactive'
  | 'key_expired'
  | 'ip_restricted'
  | 'tenant_forbidden'
  | 'insufficient_scope'
  | 'rate_limited'
  | 'partner_suspended'
  /** A widget's session token presented for another session or install. */
  | 'session_forbidden'
  /** A call from a page whose origin is not on the integration's `allowedOrigins`. */
  | 'origin_not_allowed';

/** What a strategy is shown: the credential and what the route asks of it. */
export interface Presented {
  credential: string;
  /** The caller's address, from trusted proxy hops only. */
  clientIp: string | null;
  /** The scope the route needs (access keys and tokens carry scopes; other kinds are checked by the route). */
  scope: Scope | undefined;
  /** The route's `:tenantId`, when its path has one. */
  tenantId: string | undefined;
}

/**
 * A strategy's answer. `keyId`/`keyPrefix` name the credential in the auth event (a session token
 * is named by its session), and are null when nothing was found.
 */
export type Verdict = { ok: true; principal: Principal; keyId: string; keyPrefix: string } | Refusal;

export interface Refusal {
  ok: false;
  reason: AuthFailureReason;
  keyId: string | null;
  keyPrefix: string | null;
}

export interface CredentialStrategy {
  /** The credential kind; a route names the kinds it accepts beyond access keys and tokens. */
  readonly kind: 'key' | 'token' | 'session' | 'partner';
  /** Whether the credential is of this kind, by its shape alone (no lookup). */
  recognizes(credential: string): boolean;
  /**
   * Synchronous when it can decide without I/O (an access key seen within the cache window): the
   * route then runs in the same tick, with no promise on the hot path.
   */
  verify(presented: Presented): Verdict | Promise<Verdict>;
}
