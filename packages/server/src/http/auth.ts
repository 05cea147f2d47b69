import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context.js';
import type { AuthEventInput, AuthEventRecorder } from '../keys/auth-events.js';
import { isAddressAllowed } from '../keys/ip.js';
import { grants, type Scope } from '../keys/scopes.js';
import type { AccessKeyRecord, AuthFailureReason, VerifyResult } from '../keys/service.js';
import { TOKEN_PREFIX, type TokenClaims } from '../keys/tokens.js';
import { PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { verifyPartnerKey } from '../partners/keys.js';
import type { GrantView } from '../partners/views.js';
import type { PartnerEnvironment } from '../partners/schema.js';
import { verifySessionToken } from '../sessions/service.js';
import { HttpError } from './errors.js';

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
  session_forbidden: { status: 403, message: 'This session token belongs to another session.' },
  origin_not_allowed: { status: 403, message: 'The origin of the calling page is not allowed to use this integration.' },
};

function bearerOf(req: Request): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,4096})$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * The caller's address, from trusted proxy hops only (the `trustProxy` setting). With no proxy
 * trusted (the default) it is the socket's own address, read directly: Express's `req.ip` would
 * parse X-Forwarded-For on every request only to ignore it, and this runs on every keyed request.
 */
function clientIpOf(ctx: AppContext, req: Request): string | null {
  return (ctx.config.trustProxy === false ? req.socket.remoteAddress : req.ip) ?? null;
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
export function refuse(
  ctx: AppContext,
  req: Request,
  res: Response,
  reason: 'tenant_forbidden' | 'insufficient_scope' | 'session_forbidden',
  message = FAILURES[reason].message,
): HttpError {
  const principal = principalOf(res);
  res.locals.authRefused = true;
  const key =
    principal.kind === 'key'
      ? { id: principal.key.id, prefix: principal.key.keyPrefix }
      : principal.kind === 'partner'
        ? { id: principal.keyId, prefix: principal.keyPrefix }
        : { id: principal.sessionId, prefix: 'ses_' };
  ctx.authEvents.record(attemptEvent(req, clientIpOf(ctx, req), key.id, key.prefix, 'failure', reason));
  return new HttpError(FAILURES[reason].status, reason, message);
}

/**
 * A refusal decided before the credential is read (the calling page's origin): recorded as the
 * attempt's one auth event, naming no key since none was verified.
 */
export function refuseBeforeAuthentication(ctx: AppContext, req: Request, reason: 'origin_not_allowed', message = FAILURES[reason].message): HttpError {
  ctx.authEvents.record(attemptEvent(req, clientIpOf(ctx, req), null, null, 'failure', reason));
  return new HttpError(FAILURES[reason].status, reason, message);
}

/** A key's or session token's success, recorded when the answer is done (see `authenticate`). */
interface PendingSuccess {
  recorder: AuthEventRecorder;
  event: AuthEventInput;
}

/** Records the attempt's pending success once, unless the route refused the attempt meanwhile. */
function recordPendingSuccess(res: Response): void {
  const pending = res.locals.pendingAuthSuccess as PendingSuccess | undefined;
  if (!pending) return;
  res.locals.pendingAuthSuccess = undefined;
  if (!res.locals.authRefused) pending.recorder.record(pending.event);
}

/** The answer's `close` listener: one function for every request, not a closure per request. */
function recordPendingSuccessOnClose(this: Response): void {
  recordPendingSuccess(this);
}

/**
 * For answers that stay open (event streams): records the attempt's success now, once every
 * check has passed, rather than when the stream ends hours later (or during shutdown).
 */
export function recordAuthSuccessNow(res: Response): void {
  recordPendingSuccess(res);
}

/** Tenant checks for routes whose tenant is not in the path (the resource names it). */
export function assertTenantAllowed(ctx: AppContext, req: Request, res: Response, tenantId: string): void {
  const principal = principalOf(res);
  if (principal.kind !== 'key' || principal.key.tenantId === null || principal.key.tenantId === tenantId) return;
  throw refuse(ctx, req, res, 'tenant_forbidden');
}

/** The auth event of this attempt; `authenticate` has not called `next()` yet, so `baseUrl` is its route's. */
function attemptEvent(
  req: Request,
  clientIp: string | null,
  keyId: string | null,
  keyPrefix: string | null,
  outcome: AuthEventInput['outcome'],
  reason: AuthEventInput['reason'],
): AuthEventInput {
  return { keyId, keyPrefix, clientIp, method: req.method, path: req.baseUrl + req.path, outcome, reason };
}

/** Records the failed attempt and throws the answer for it. */
async function failAttempt(
  ctx: AppContext,
  req: Request,
  res: Response,
  clientIp: string | null,
  reason: AuthFailureReason,
  keyId: string | null,
  keyPrefix: string | null,
): Promise<never> {
  // Only unknown credentials count as guesses: a retrying client with an inactive or expired
  // key must not lock its whole address out.
  if (reason === 'invalid_credentials' && clientIp) {
    const limited = await ctx.failures.recordFailure(clientIp);
    // Over the limit already (perhaps counted by another instance): answer as rate limited.
    if (limited.over) {
      ctx.authEvents.record(attemptEvent(req, clientIp, keyId, keyPrefix, 'failure', 'rate_limited'));
      res.set('retry-after', String(limited.retryAfterSeconds));
      throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
    }
  }
  ctx.authEvents.record(attemptEvent(req, clientIp, keyId, keyPrefix, 'failure', reason));
  throw new HttpError(FAILURES[reason].status, reason, FAILURES[reason].message);
}

/**
 * The success is written when the answer is done, so a refusal later in the route (tenant, scope,
 * topic grants) leaves one failure event for the attempt, not a success as well.
 */
function recordSuccessWhenAnswered(ctx: AppContext, req: Request, res: Response, clientIp: string | null, keyId: string, keyPrefix: string): void {
  res.locals.pendingAuthSuccess = { recorder: ctx.authEvents, event: attemptEvent(req, clientIp, keyId, keyPrefix, 'success', null) } satisfies PendingSuccess;
  res.on('close', recordPendingSuccessOnClose);
}

/**
 * Authenticates the caller and records one auth event per attempt, success or failure. Accepts an
 * access key, a short-lived token made from one, or (where allowed) a session token.
 */
export function authenticate(ctx: AppContext, options: AuthOptions = {}): RequestHandler {
  // Runs before every keyed route. The common case, an access key seen within the cache window,
  // is decided without a promise, so the route runs in the same tick; everything else takes the
  // asynchronous path below.
  return function authenticateRequest(req, res, next) {
    const clientIp = clientIpOf(ctx, req);
    const retryAfter = clientIp ? ctx.failures.retryAfter(clientIp) : null;
    if (retryAfter !== null) {
      ctx.authEvents.record(attemptEvent(req, clientIp, null, null, 'failure', 'rate_limited'));
      res.set('retry-after', String(retryAfter));
      throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
    }
    const presented = bearerOf(req);
    if (!presented) return failAttempt(ctx, req, res, clientIp, 'invalid_credentials', null, null);
    // Only found, well-formed access keys are cached: tokens and other credentials never match.
    const cached = ctx.keys.cachedVerdict(presented);
    if (cached) return admitKey(ctx, options, req, res, next, clientIp, cached, null);
    return authenticateUncached(ctx, options, req, res, next, clientIp, presented);
  };
}

async function authenticateUncached(
  ctx: AppContext,
  options: AuthOptions,
  req: Request,
  res: Response,
  next: NextFunction,
  clientIp: string | null,
  presented: string,
): Promise<void> {
  if (options.sessionToken && presented.startsWith('ses_')) {
    const session = await verifySessionToken(ctx, presented);
    if (!session) return failAttempt(ctx, req, res, clientIp, 'invalid_credentials', null, null);
    recordSuccessWhenAnswered(ctx, req, res, clientIp, session.sessionId, 'ses_');
    res.locals.principal = { kind: 'session', ...session } satisfies Principal;
    return next();
  }

  if (options.partnerKey && presented.startsWith(PARTNER_KEY_PREFIX)) {
    const partner = await verifyPartnerKey(ctx, presented);
    if (!partner.ok) return failAttempt(ctx, req, res, clientIp, partner.reason, partner.keyId, partner.keyPrefix);
    recordSuccessWhenAnswered(ctx, req, res, clientIp, partner.keyId, partner.keyPrefix);
    res.locals.principal = {
      kind: 'partner',
      partnerId: partner.partnerId,
      keyId: partner.keyId,
      keyPrefix: partner.keyPrefix,
      environment: partner.environment,
      grants: partner.grants,
    } satisfies Principal;
    return next();
  }

  if (!presented.startsWith(TOKEN_PREFIX)) return admitKey(ctx, options, req, res, next, clientIp, await ctx.keys.verifyKey(presented), null);
  const claims = await ctx.tokenSigner.verify(presented);
  if (!claims) return failAttempt(ctx, req, res, clientIp, 'invalid_credentials', null, null);
  return admitKey(ctx, options, req, res, next, clientIp, await ctx.keys.verifyKeyId(claims.keyId), claims);
}

/**
 * The checks after the key is known (state, IP, scope, tenant), then the principal. Synchronous
 * when the key passes; a failure answers through `failAttempt`'s promise.
 */
function admitKey(
  ctx: AppContext,
  options: AuthOptions,
  req: Request,
  res: Response,
  next: NextFunction,
  clientIp: string | null,
  result: VerifyResult,
  token: TokenClaims | null,
): Promise<never> | void {
  if (!result.ok) return failAttempt(ctx, req, res, clientIp, result.reason, result.keyId, result.keyPrefix);
  const { key } = result;
  // A token never holds more than its key holds now.
  const scopes = token ? token.scopes.filter((scope) => grants(key.scopes, scope)) : key.scopes;
  const tokenTenant = token?.tenantId ?? null;
  if (key.ipAllowlist && !isAddressAllowed(clientIp, key.ipAllowlist)) return failAttempt(ctx, req, res, clientIp, 'ip_restricted', key.id, key.keyPrefix);
  if (options.scope && !grants(scopes, options.scope)) return failAttempt(ctx, req, res, clientIp, 'insufficient_scope', key.id, key.keyPrefix);
  const tenantRestriction = key.tenantId ?? tokenTenant;
  const tenantId = req.params.tenantId;
  if (tenantRestriction !== null && typeof tenantId === 'string' && tenantId !== tenantRestriction)
    return failAttempt(ctx, req, res, clientIp, 'tenant_forbidden', key.id, key.keyPrefix);

  recordSuccessWhenAnswered(ctx, req, res, clientIp, key.id, key.keyPrefix);
  ctx.keys.touch(key.id)?.catch((error: unknown) => ctx.logger.warn({ err: error }, 'could not record key use'));
  res.locals.principal = {
    kind: 'key',
    key: tokenTenant && !key.tenantId ? { ...key, tenantId: tokenTenant } : key,
    scopes,
    via: token ? 'token' : 'key',
  } satisfies Principal;
  next();
}
