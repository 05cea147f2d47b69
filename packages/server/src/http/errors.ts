import type { ErrorEnvelope } from '@patchbay/contract';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isStoreUnavailable } from '../store/unavailable.js';

/**
 * The one error type handlers throw. `expose` says whether `message` may reach the client;
 * faults (expose = false) answer with a generic message so nothing internal leaks.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;

  constructor(status: number, code: string, message: string, options?: { expose?: boolean; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.expose = options?.expose ?? status < 500;
  }
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
export const unauthorized = (code: string, message: string) => new HttpError(401, code, message);
export const forbidden = (code: string, message: string) => new HttpError(403, code, message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);

/** `{error: {code, message}}`: the contract's error envelope. */
export type ErrorBody = ErrorEnvelope;

export function errorBody(error: HttpError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.expose ? error.message : 'The server could not complete the request.',
    },
  };
}

/** Maps anything thrown to an HttpError: body-parser's own errors carry a 4xx status. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const status = (error as { status?: unknown; statusCode?: unknown })?.status ?? (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const type = (error as { type?: unknown }).type;
    if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'The request body is too large.');
    if (type === 'entity.parse.failed') return badRequest('invalid_json', 'The request body is not valid JSON.');
    return new HttpError(status, 'bad_request', 'The request could not be read.');
  }
  if (isStoreUnavailable(error)) return storeUnavailable(error);
  // PostgreSQL refuses a NUL character (or one its encoding lacks) in any text it is given: that
  // came from the request (a path or query value; bodies are checked in http/body.ts), not from us.
  const sqlState = (error as { code?: unknown } | null)?.code;
  if (sqlState === '22021' || sqlState === '22P05') return badRequest('invalid_input', 'The request contains a character that cannot be stored (such as NUL).');
  return new HttpError(500, 'internal_error', 'Unexpected error', { expose: false, cause: error });
}

/** Seconds a client is asked to wait before trying again while the database is away. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** The database is away (restarting, unreachable, locked): the caller may simply try again. */
export function storeUnavailable(cause?: unknown): HttpError {
  return new HttpError(503, 'store_unavailable', 'The database is unavailable for a moment; try again shortly.', { expose: true, cause });
}

export function routeNotFound(): RequestHandler {
  return function answerRouteNotFound(_req, _res, next) {
    next(notFound('route_not_found', 'No such route.'));
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return function answerWithJsonError(error, _req, res, next) {
    if (res.headersSent) {
      next(error);
      return;
    }
    const httpError = toHttpError(error);
    if (httpError.code === 'store_unavailable') {
      res.set('retry-after', String(STORE_RETRY_AFTER_SECONDS));
      logger.warn({ err: httpError.cause ?? httpError }, 'the database is unavailable');
    } else if (httpError.status >= 500) logger.error({ err: httpError.cause ?? httpError }, 'request failed');
    res.status(httpError.status).json(errorBody(httpError));
  };
}
