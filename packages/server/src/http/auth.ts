import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context.js';
import { isAddressAllowed } from '../keys/ip.js';
import { grants, type Scope } from '../keys/scopes.js';
import type { AccessKeyRecord, AuthFailureReason, VerifyResult } from '../keys/service.js';
import { TOKEN_PREFIX } from '../keys/tokens.js';
import { PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { type GrantView, verifyPartnerKey } from '../partners/service.js';
import type { PartnerEnvironment } from '../partners/schema.js';
import { verifySessionToken } from '../sessions/service.js';
import { HttpError } from './errors.js';

export type Principal =
  | { kind: 'key'; key: AccessKeyRecord; /** Scopes in force: the key's, or a token's subset. */ scopes: Scope[]; via: 'key' | 'token' }
  | { kind: 'session'; sessionId: string; integrationId: string; tenantId: string; installId: string | null }
  | { kind: 'partner'; partnerId: string; keyId: string; keyPrefix: string; environment: PartnerEnvironment; /** Grants for this environment. */ grants: GrantView[] };

/** 401 answers "who are you?", 403 "you may not": the body names the reason, never whether a key exists. */
const FAILURES: Record<AuthFailureReason, { status: number; message: string }> = {
  invalid_credentials: { status: 401, message: 'The credentials are missing or not valid.' },
  key_inactive: { status: 401, message: 'The access key is inactive.' },
  key_expired: { status: 401, message: 'The access key has expired.' },
  ip_restricted: { status: 403, message: 'This key may not be used from this address.' },
  tenant_forbidden: { status: 403, message: 'This key may not act for that tenant.' },
  insufficient_scope: { status: 403, message: 'This key lacks the scope this call needs.' },
  rate_limited: { status: 429, message: 'Too many failed attempts from this address; try again later.' },
  partner_suspended: { status: 403, message: 'This partner is suspended.' },
};

function bearerOf(req: Request): string | null {
  const header = req.get('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,4096})$/i.exec(header);
  return match ? match[1]! : null;
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route is missing its authentication middleware');
  return principal;
}

/** Who did it, for the audit trail: the acting key's id, or the session or partner. */
export function actorOf(res: Response): string {
  const principal = principalOf(res);
  if (principal.kind === 'key') return principal.key.id;
  return principal.kind === 'session' ? `session:${principal.sessionId}` : `partner:${principal.partnerId}`;
}

export interface AuthOptions {
  /** The scope an access key needs; `admin` keys pass every scope check. */
  scope?: Scope;
  /** Also accept the browser's session token (the route then checks it owns the resource). */
  sessionToken?: boolean;
  /** Also accept a partner's key (the route then checks the partner's topic grants). */
  partnerKey?: boolean;
}

/**
 * A refusal decided inside a route, after authentication passed: recorded as the attempt's one
 * auth event (failure, with its reason) and answered with the reason's status.
 */
export function refuse(ctx: AppContext, req: Request, res: Response, reason: 'tenant_forbidden' | 'insufficient_scope', message = FAILURES[reason].message): HttpError {
  const principal = principalOf(res);
  res.locals.authRefused = true;
  const key = principal.kind === 'key' ? { id: principal.key.id, prefix: principal.key.keyPrefix } : principal.kind === 'partner' ? { id: principal.keyId, prefix: principal.keyPrefix } : null;
  ctx.authEvents.record({ keyId: key?.id ?? null, keyPrefix: key?.prefix ?? null, clientIp: req.ip ?? null, method: req.method, path: req.baseUrl + req.path, outcome: 'failure', reason });
  return new HttpError(FAILURES[reason].status, reason, message);
}

/**
 * For answers that stay open (event streams): records the attempt's success now, once every
 * check has passed, rather than when the stream ends hours later (or during shutdown).
 */
export function recordAuthSuccessNow(res: Response): void {
  (res.locals.recordAuthSuccess as (() => void) | undefined)?.();
}

/** Tenant checks for routes whose tenant is not in the path (the resource names it). */
export function assertTenantAllowed(ctx: AppContext, req: Request, res: Response, tenantId: string): void {
  const principal = principalOf(res);
  if (principal.kind !== 'key' || principal.key.tenantId === null || principal.key.tenantId === tenantId) return;
  throw refuse(ctx, req, res, 'tenant_forbidden');
}

/**
 * Authenticates the caller and records one auth event per attempt, success or failure. Accepts an
 * access key, a short-lived token made from one, or (where allowed) a session token.
 */
export function authenticate(ctx: AppContext, options: AuthOptions = {}): RequestHandler {
  return async function authenticateRequest(req, res, next) {
    const clientIp = req.ip ?? null;
    const event = { clientIp, method: req.method, path: req.baseUrl + req.path };
    const fail = async (reason: AuthFailureReason, keyId: string | null, keyPrefix: string | null): Promise<never> => {
      // Only unknown credentials count as guesses: a retrying client with an inactive or expired
      // key must not lock its whole address out.
      if (reason === 'invalid_credentials' && clientIp) {
        const limited = await ctx.failures.recordFailure(clientIp);
        // Over the limit already (perhaps counted by another instance): answer as rate limited.
        if (limited.over) {
          ctx.authEvents.record({ ...event, keyId, keyPrefix, outcome: 'failure', reason: 'rate_limited' });
          res.set('retry-after', String(limited.retryAfterSeconds));
          throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
        }
      }
      ctx.authEvents.record({ ...event, keyId, keyPrefix, outcome: 'failure', reason });
      throw new HttpError(FAILURES[reason].status, reason, FAILURES[reason].message);
    };

    const retryAfter = clientIp ? ctx.failures.retryAfter(clientIp) : null;
    if (retryAfter !== null) {
      ctx.authEvents.record({ ...event, keyId: null, keyPrefix: null, outcome: 'failure', reason: 'rate_limited' });
      res.set('retry-after', String(retryAfter));
      throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
    }

    const presented = bearerOf(req);
    if (!presented) return fail('invalid_credentials', null, null);

    if (options.sessionToken && presented.startsWith('ses_')) {
      const session = await verifySessionToken(ctx, presented);
      if (!session) return fail('invalid_credentials', null, null);
      ctx.authEvents.record({ ...event, keyId: session.sessionId, keyPrefix: 'ses_', outcome: 'success', reason: null });
      res.locals.principal = { kind: 'session', ...session } satisfies Principal;
      return next();
    }

    // The success is written when the answer is done, so a refusal later in the route (tenant,
    // scope, topic grants) leaves one failure event for the attempt, not a success as well.
    const recordSuccessOnClose = (keyId: string, keyPrefix: string) => {
      const recordSuccess = () => {
        if (res.locals.authRefused || res.locals.authRecorded) return;
        res.locals.authRecorded = true;
        ctx.authEvents.record({ ...event, keyId, keyPrefix, outcome: 'success', reason: null });
      };
      res.locals.recordAuthSuccess = recordSuccess;
      res.once('close', recordSuccess);
    };

    if (options.partnerKey && presented.startsWith(PARTNER_KEY_PREFIX)) {
      const partner = await verifyPartnerKey(ctx, presented);
      if (!partner.ok) return fail(partner.reason, partner.keyId, partner.keyPrefix);
      recordSuccessOnClose(partner.keyId, partner.keyPrefix);
      res.locals.principal = { kind: 'partner', partnerId: partner.partnerId, keyId: partner.keyId, keyPrefix: partner.keyPrefix, environment: partner.environment, grants: partner.grants } satisfies Principal;
      return next();
    }

    let scopes: Scope[];
    let tokenTenant: string | null = null;
    let via: 'key' | 'token' = 'key';
    let result: VerifyResult;
    if (presented.startsWith(TOKEN_PREFIX)) {
      const claims = await ctx.tokenSigner.verify(presented);
      if (!claims) return fail('invalid_credentials', null, null);
      result = await ctx.keys.verifyKeyId(claims.keyId);
      if (!result.ok) return fail(result.reason, result.keyId, result.keyPrefix);
      const keyScopes = result.key.scopes;
      // A token never holds more than its key holds now.
      scopes = claims.scopes.filter((scope) => grants(keyScopes, scope));
      tokenTenant = claims.tenantId;
      via = 'token';
    } else {
      result = await ctx.keys.verifyKey(presented);
      if (!result.ok) return fail(result.reason, result.keyId, result.keyPrefix);
      scopes = result.key.scopes;
    }
    const { key } = result;
    if (key.ipAllowlist && !isAddressAllowed(clientIp, key.ipAllowlist)) return fail('ip_restricted', key.id, key.keyPrefix);
    if (options.scope && !grants(scopes, options.scope)) return fail('insufficient_scope', key.id, key.keyPrefix);
    const tenantRestriction = key.tenantId ?? tokenTenant;
    const tenantId = req.params.tenantId;
    if (tenantRestriction !== null && typeof tenantId === 'string' && tenantId !== tenantRestriction) return fail('tenant_forbidden', key.id, key.keyPrefix);

    recordSuccessOnClose(key.id, key.keyPrefix);
    ctx.keys.touch(key.id)?.catch((error: unknown) => ctx.logger.warn({ err: error }, 'could not record key use'));
    res.locals.principal = { kind: 'key', key: tokenTenant && !key.tenantId ? { ...key, tenantId: tokenTenant } : key, scopes, via } satisfies Principal;
    next();
  };
}
