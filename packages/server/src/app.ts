import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppContext } from './context.js';
import { NO_STORE_PREFIXES, noStore } from './http/cache.js';
import { errorHandler, routeNotFound } from './http/errors.js';
import { routeTable } from './http/route-table.js';
import { mountRoutes, type ServerParts } from './routes.js';

/** Logs only the path: OAuth codes and states travel in query strings and must never be logged. */
function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0]!;
}

/**
 * Builds the Express app: the cross-cutting middleware around the routes of `routes.ts` (the one
 * place every route is listed and wired). Nothing listens and nothing global is touched, so tests
 * can build as many servers as they like.
 */
export function createServer(ctx: AppContext, parts: ServerParts): Express {
  const app = express();
  app.disable('x-powered-by');
  // Client addresses (for IP allowlists and rate limits) come only from trusted proxy hops.
  app.set('trust proxy', ctx.config.trustProxy);
  app.use(
    pinoHttp({
      logger: ctx.logger,
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, path: pathOnly(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );

  app.use(ctx.metrics.httpMiddleware());
  app.use(NO_STORE_PREFIXES, noStore);

  mountRoutes(app, ctx, parts);

  app.use(routeNotFound());
  app.use(errorHandler(ctx.logger));
  ctx.metrics.learnRoutes(routeTable(app));
  return app;
}
