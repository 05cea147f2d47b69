/** Where answers carry keys, tokens, link codes and session tokens: the whole API, and the demo host's session route. */
export const NO_STORE_PREFIXES = ['/v1', '/api', '/demo/host'];

/**
 * Whether an answer to `url` gets `Cache-Control: no-store` (http/request-observer.ts sets it
 * before any route runs): under the API prefixes, matched as Express matches a mount path — the
 * prefix in any letter case, then the end of the path or a `/`. Set once, before any route, rather
 * than on each route that hands out a secret: a new route that returns one cannot forget it, and an
 * API answer is one caller's data that no cache should keep anyway. The proxy replaces it with the
 * third party's own header when that one sends any.
 */
export function isNoStorePath(url: string): boolean {
  return NO_STORE_PATH.test(url);
}

// The prefixes are plain path segments (no pattern characters), so they go into the pattern as they are.
const NO_STORE_PATH = new RegExp(`^(?:${NO_STORE_PREFIXES.join('|')})(?:[/?]|$)`, 'i');
