import type { Express } from 'express';

/** `[method, full path, handler]`; the method `*` is every method (one line of `routes.ts`). */
export type RouteLine = readonly [method: string, path: string, handler: string];

/** One route as wired in the app: its full path template (`/v1/keys/:keyId`) and methods. */
export interface RouteEntry {
  path: string;
  methods: string[];
  /** The name of the route's last function, its handler (every handler is a named function). */
  handler: string;
  /** The router's own route object, which `req.route` points at once the route matched. */
  route: object;
}

interface LayerLike {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: { name: string } }> };
  handle?: { stack?: LayerLike[] };
}

/**
 * Every route of the app with its full template, read from Express's own router (mount paths
 * joined with route paths). Metrics label requests with these templates, never with raw paths
 * (which carry ids), and the tests walk them so no route is forgotten.
 */
export function routeTable(app: Express): RouteEntry[] {
  const entries: RouteEntry[] = [];
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      if (layer.route) {
        const methods = Object.keys(layer.route.methods).map((method) => (method === '_all' ? '*' : method.toUpperCase()));
        const handler = layer.route.stack.at(-1)?.handle.name ?? '';
        entries.push({ path: layer.route.path === '/' && prefix ? prefix : prefix + layer.route.path, methods, handler, route: layer.route });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  return entries;
}
