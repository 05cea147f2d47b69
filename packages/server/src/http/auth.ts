import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthFailureReason, CredentialStrategy, Presented, Principal, Refusal, Verdict } from '../auth/strategy.js';
import type { AppContext } from '../context.js';
import { AuthAttempt, attemptOf } from './auth-attempt.js';
import { HttpError } from './errors.js';

export type { Principal } from '../auth/strategy.js';

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

const NOTHING_PRESENTED: Refusal = { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };

type AuthDeps = Pick<AppContext, 'config' | 'failures' | 'authEvents' | 'strategies'>;

/** The bearer credential of the `Authorization` header, or null (the one reader of that header). */
export function bearerOf(req: Request): string | null {
  const header = req.headers.authorization;
  return header ? credentialAfterBearer(header) : null;
}

const MAX_CREDENTIAL_LENGTH = 4096;

/** JavaScript's `\s`: the characters a regular expression counts as white space. */
function isWhiteSpace(code: number): boolean {
  return (
    code === 32 ||
    (code >= 9 && code <= 13) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * What `/^Bearer\s+(\S{1,4096})$/i` captures, read without a regular expression: every keyed request
 * comes through here, and the match cost more than the rest of reading it (and allocated an array).
 */
function credentialAfterBearer(header: string): string | null {
  // `| 0x20` lowers an ASCII capital; of all characters only the two cases of each letter land on it.
  if (
    (header.charCodeAt(0) | 0x20) !== 0x62 || // b
    (header.charCodeAt(1) | 0x20) !== 0x65 || // e
    (header.charCodeAt(2) | 0x20) !== 0x61 || // a
    (header.charCodeAt(3) | 0x20) !== 0x72 || // r
    (header.charCodeAt(4) | 0x20) !== 0x65 || // e
    (header.charCodeAt(5) | 0x20) !== 0x72 // r
  )
    return null;
  let start = 6;
  while (start < header.length && isWhiteSpace(header.charCodeAt(start))) start++;
  const length = header.length - start;
  if (start === 6 || length < 1 || length > MAX_CREDENTIAL_LENGTH) return null;
  for (let at = start; at < header.length; at++) if (isWhiteSpace(header.charCodeAt(at))) return null;
  return header.slice(start);
}

/**
 * The caller's address, from trusted proxy hops only (the `trustProxy` setting). With no proxy
 * trusted (the default) it is the socket's own address, read directly: Express's `req.ip` would
 * parse X-Forwarded-For on every request only to ignore it, and this runs on every keyed request.
 */
function clientIpOf(deps: Pick<AppContext, 'config'>, req: Request): string | null {
  return (deps.config.trustProxy === false ? req.socket.remoteAddress : req.ip) ?? null;
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route is missing its authentication middleware');
  return principal;
}

export interface AuthOptions {
  /** The scope an access key needs; `admin` keys pass every scope check. */
  scope?: NonNullable<Presented['scope']>;
  /** Also accept the browser's session token (the route then checks it owns the resource). */
  sessionToken?: boolean;
  /** Also accept a partner's key (the route then checks the partner's topic grants). */
  partnerKey?: boolean;
}

/**
 * A refusal decided inside a route, after authentication passed: recorded as the attempt's one
 * auth event (failure, with its reason) and answered with the reason's status. The attempt carries
 * all the event needs; the first two parameters are unused and stay only until every call site
 * (sessions/routes.ts among them) passes just the answer.
 */
export function refuse(
  _ctx: unknown,
  _req: Request,
  res: Response,
  reason: 'tenant_forbidden' | 'insufficient_scope' | 'session_forbidden',
  message = FAILURES[reason].message,
): HttpError {
  const attempt = attemptOf(res);
  if (!attempt) throw new Error('route is missing its authentication middleware');
  attempt.fail(reason);
  return new HttpError(FAILURES[reason].status, reason, message);
}

/**
 * A refusal decided before the credential is read (the calling page's origin): recorded as the
 * attempt's one auth event, naming no key since none was verified.
 */
export function refuseBeforeAuthentication(
  deps: Pick<AppContext, 'config' | 'authEvents'>,
  req: Request,
  reason: 'origin_not_allowed',
  message = FAILURES[reason].message,
): HttpError {
  new AuthAttempt(deps, req, clientIpOf(deps, req)).fail(reason);
  return new HttpError(FAILURES[reason].status, reason, message);
}

/**
 * For answers that stay open (event streams): records the attempt's success now, once every
 * check has passed, rather than when the stream ends hours later (or during shutdown).
 */
export function recordAuthSuccessNow(res: Response): void {
  attemptOf(res)?.succeed();
}

/** Tenant checks for routes whose tenant is not in the path (the resource names it). `ctx` and `req`: see `refuse`. */
export function assertTenantAllowed(ctx: unknown, req: Request, res: Response, tenantId: string): void {
  const principal = principalOf(res);
  if (principal.kind !== 'key' || principal.key.tenantId === null || principal.key.tenantId === tenantId) return;
  throw refuse(ctx, req, res, 'tenant_forbidden');
}

/** The strategies a route accepts: access keys and tokens always, sessions and partner keys when asked. */
function acceptedBy(strategies: readonly CredentialStrategy[], options: AuthOptions): CredentialStrategy[] {
  return strategies.filter(
    ({ kind }) => kind === 'key' || kind === 'token' || (kind === 'session' && options.sessionToken) || (kind === 'partner' && options.partnerKey),
  );
}

/** The first strategy that recognizes the credential (a loop: no closure per request). */
function strategyFor(strategies: readonly CredentialStrategy[], credential: string): CredentialStrategy | undefined {
  for (const strategy of strategies) if (strategy.recognizes(credential)) return strategy;
  return undefined;
}

/**
 * Authenticates the caller through the first accepted strategy that recognizes the credential (the
 * access key strategy, last, takes the rest) and records one auth event per attempt.
 */
export function authenticate(deps: AuthDeps, options: AuthOptions = {}): RequestHandler {
  const strategies = acceptedBy(deps.strategies, options);
  // Runs before every keyed route. The common case, an access key seen within the cache window,
  // is decided without a promise, so the route runs in the same tick; everything else takes the
  // asynchronous path.
  return function authenticateRequest(req, res, next) {
    const attempt = new AuthAttempt(deps, req, clientIpOf(deps, req));
    const retryAfter = attempt.clientIp ? deps.failures.retryAfter(attempt.clientIp) : null;
    if (retryAfter !== null) {
      attempt.fail('rate_limited');
      res.setHeader('retry-after', String(retryAfter));
      throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
    }
    const credential = bearerOf(req);
    if (!credential) return refuseCredential(deps, attempt, res, NOTHING_PRESENTED);
    const strategy = strategyFor(strategies, credential);
    if (!strategy) return refuseCredential(deps, attempt, res, NOTHING_PRESENTED);
    const tenantId = req.params.tenantId;
    const verdict = strategy.verify({
      credential,
      clientIp: attempt.clientIp,
      scope: options.scope,
      tenantId: typeof tenantId === 'string' ? tenantId : undefined,
    });
    if (verdict instanceof Promise) return verdict.then((settled) => admit(deps, attempt, res, next, settled));
    return admit(deps, attempt, res, next, verdict);
  };
}

/** The principal for the route, its success recorded when answered; or the refusal. */
function admit(deps: AuthDeps, attempt: AuthAttempt, res: Response, next: NextFunction, verdict: Verdict): Promise<never> | void {
  if (!verdict.ok) return refuseCredential(deps, attempt, res, verdict);
  attempt.keyId = verdict.keyId;
  attempt.keyPrefix = verdict.keyPrefix;
  res.locals.principal = verdict.principal;
  attempt.admitTo(res, next);
}

/** Records the refused attempt and throws the answer for it. */
async function refuseCredential(deps: AuthDeps, attempt: AuthAttempt, res: Response, verdict: Refusal): Promise<never> {
  const { reason, keyId, keyPrefix } = verdict;
  // Only unknown credentials count as guesses: a retrying client with an inactive or expired
  // key must not lock its whole address out.
  if (reason === 'invalid_credentials' && attempt.clientIp) {
    const limited = await deps.failures.recordFailure(attempt.clientIp);
    // Over the limit already (perhaps counted by another instance): answer as rate limited.
    if (limited.over) {
      attempt.fail('rate_limited', keyId, keyPrefix);
      res.setHeader('retry-after', String(limited.retryAfterSeconds));
      throw new HttpError(429, 'rate_limited', FAILURES.rate_limited.message);
    }
  }
  attempt.fail(reason, keyId, keyPrefix);
  throw new HttpError(FAILURES[reason].status, reason, FAILURES[reason].message);
}
