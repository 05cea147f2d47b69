import express, { type RequestHandler } from 'express';
import { badRequest } from './errors.js';

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
 * check before any handler sees the body.
 */
export function jsonBody(options: { limit: number | string }): RequestHandler {
  const parse = express.json({ limit: options.limit });
  return function readJsonBody(req, res, next) {
    parse(req, res, (error?: unknown) => {
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
    });
  };
}
