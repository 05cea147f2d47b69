import express, { type Request, type RequestHandler } from 'express';
import { badRequest, HttpError } from './errors.js';

/**
 * The deepest JSON nesting a body may have. JSON.parse copes with any depth, but every later
 * recursive step (zod, JSON.stringify into the store or upstream, res.json) overflows the stack
 * somewhere past a few thousand levels and turns a 10 KB body into a 500. No declaration, event or
 * action body needs more than a handful of levels; 64 leaves a wide margin.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed value nests deeper than `limit`: iterative, so the check itself cannot overflow. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  return problemOf(value, limit) === 'too_deep';
}

/**
 * What is wrong with a parsed body, if anything: nesting past `limit`, or a NUL character in a
 * string or key. PostgreSQL cannot store NUL in text or jsonb (SQLite can), so it is refused for
 * every store alike, before any work, rather than failing in the database as a 500.
 */
function problemOf(value: unknown, limit: number): 'too_deep' | 'nul' | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return 'nul';
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return 'too_deep';
    if (!Array.isArray(current) && Object.keys(current).some((key) => key.includes('\0'))) return 'nul';
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return null;
}

export const tooDeep = () => badRequest('invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);

/**
 * The one JSON body parser every route uses: express.json with its size limit, then the depth
 * check before any handler sees the body. With the limit in bytes (as the hot publish route gives
 * it), a plain body is read directly (readPlainJson).
 */
export function jsonBody(options: { limit: number | string }): RequestHandler {
  const parse = express.json({ limit: options.limit });
  const { limit } = options;
  return function readJsonBody(req, res, next) {
    const checked = (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      const problem = problemOf(req.body, MAX_JSON_DEPTH);
      if (problem === 'too_deep') {
        next(tooDeep());
        return;
      }
      if (problem === 'nul') {
        next(badRequest('invalid_json', 'The request body contains a NUL character (\\u0000), which no field accepts.'));
        return;
      }
      next();
    };
    if (typeof limit === 'number' && isPlainJson(req)) readPlainJson(req, limit, checked);
    else parse(req, res, checked);
  };
}

/**
 * The common body: `application/json` (UTF-8), not compressed, its length declared. express.json's
 * general machinery (type matching, charset and encoding negotiation, a decoder per body) was a
 * measurable part of a small publish; every other body still goes through it.
 */
function isPlainJson(req: Request): boolean {
  const { headers } = req;
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return false;
  const length = headers['content-length'];
  if (length === undefined || length === '0' || !/^\d{1,15}$/.test(length)) return false;
  const type = headers['content-type'];
  return type === 'application/json' || type?.toLowerCase() === 'application/json; charset=utf-8';
}

/** What JSON allows around a value; strict like express.json: only an object or an array at the top. */
const FIRST_VALUE_CHARACTER = /^[ \t\n\r]*([^ \t\n\r])/;

/**
 * Reads a plain body (isPlainJson) into req.body with express.json's outcomes: past the limit a
 * 413 (once the body has been read off and dropped, as express.json does), a syntax error or a
 * top-level value other than an object or array a 400 invalid_json, a byte-order mark skipped,
 * malformed UTF-8 decoded to U+FFFD.
 */
function readPlainJson(req: Request, limit: number, done: (error?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let settled = false;
  const settle = (error?: unknown) => {
    if (settled) return;
    settled = true;
    req.off('data', onData).off('end', onEnd).off('close', onClose);
    done(error);
  };
  const tooLarge = Number(req.headers['content-length']) > limit;
  const onData = (chunk: Buffer) => {
    if (!tooLarge) chunks.push(chunk);
  };
  const onEnd = () => {
    if (tooLarge) return settle(new HttpError(413, 'payload_too_large', 'The request body is too large.'));
    let text = Buffer.concat(chunks).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const first = FIRST_VALUE_CHARACTER.exec(text)?.[1];
    try {
      if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
      req.body = JSON.parse(text) as unknown;
    } catch {
      return settle(badRequest('invalid_json', 'The request body is not valid JSON.'));
    }
    settle();
  };
  // The client went away before the whole body came (express.json answers this 400 too).
  const onClose = () => settle(new HttpError(400, 'bad_request', 'The request could not be read.'));
  req.on('data', onData).on('end', onEnd).on('close', onClose);
}
