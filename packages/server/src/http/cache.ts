import type { RequestHandler } from 'express';

/** Where answers carry keys, tokens, link codes and session tokens: the whole API, and the demo host's session route. */
export const NO_STORE_PREFIXES = ['/v1', '/api', '/demo/host'];

/**
 * `Cache-Control: no-store` on every answer under the API prefixes. Set once, before any route,
 * rather than on each route that hands out a secret: a new route that returns one cannot forget
 * it, and an API answer is one caller's data that no cache should keep anyway. The proxy replaces
 * it with the third party's own header when that one sends any.
 */
export const noStore: RequestHandler = function noStore(_req, res, next) {
  res.set('cache-control', 'no-store');
  next();
};
