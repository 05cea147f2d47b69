import type { Request, Response } from 'express';
import type { AuthFailureReason } from '../auth/strategy.js';
import type { AppContext } from '../context.js';

/**
 * One request's authentication attempt and its one auth event: the only place an auth event is
 * recorded. A failure is recorded when it is decided; a success when the answer is done (or, for
 * a stream, when the route says so), so a refusal later in the route (tenant, scope, topic grants)
 * leaves one failure for the attempt, not a success as well. Settled once: later calls do nothing.
 */
export class AuthAttempt {
  /** The credential as the auth event names it, once a strategy found it. */
  keyId: string | null = null;
  keyPrefix: string | null = null;
  readonly #method: string;
  readonly #path: string;
  #settled = false;

  /** Opened before `next()`, so `baseUrl` is the authenticated route's. */
  constructor(
    private readonly deps: Pick<AppContext, 'authEvents'>,
    req: Request,
    readonly clientIp: string | null,
  ) {
    this.#method = req.method;
    this.#path = req.baseUrl + req.path;
  }

  fail(reason: AuthFailureReason, keyId = this.keyId, keyPrefix = this.keyPrefix): void {
    this.#record('failure', reason, keyId, keyPrefix);
  }

  succeed(): void {
    this.#record('success', null, this.keyId, this.keyPrefix);
  }

  /**
   * Lets the route run, then records the success once its answer is done, unless the attempt was
   * settled before (a refusal in the route). Most routes answer in the same tick: the answer is done
   * when `next` returns, and the success is recorded then, without a `close` listener per request.
   */
  admitTo(res: Response, next: () => void): void {
    res.locals.authAttempt = this;
    try {
      next();
    } finally {
      if (res.writableEnded) this.succeed();
      else res.on('close', succeedOnClose);
    }
  }

  #record(outcome: 'success' | 'failure', reason: AuthFailureReason | null, keyId: string | null, keyPrefix: string | null): void {
    if (this.#settled) return;
    this.#settled = true;
    this.deps.authEvents.record({ keyId, keyPrefix, clientIp: this.clientIp, method: this.#method, path: this.#path, outcome, reason });
  }
}

/** The answer's `close` listener: one function for every request, not a closure per request. */
function succeedOnClose(this: Response): void {
  attemptOf(this)?.succeed();
}

export function attemptOf(res: Response): AuthAttempt | undefined {
  return res.locals.authAttempt as AuthAttempt | undefined;
}
