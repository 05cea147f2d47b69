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
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
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
      if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) {
        next(tooDeep());
        return;
      }
      next();
    });
  };
}
