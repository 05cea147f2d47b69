import express, { type Express, type RequestHandler } from 'express';
import type { AppContext } from './context.js';
import { NO_STORE_PREFIXES, noStore } from './http/cache.js';
import { errorHandler, routeNotFound } from './http/errors.js';
import type { Logger } from './logger.js';
import { routeTable } from './http/route-table.js';
import { mountRoutes, type ServerParts } from './routes.js';

/** Logs only the path: OAuth codes and states travel in query strings and must never be logged. */
function pathOnly(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The access log: one line per request with what pino-http wrote (an id, method, path without the
 * query, status, duration), at a fraction of its cost (it built a child logger per request and
 * ran every line through redaction). The line is made of those fields only, none of them a
 * secret, so it skips the redaction pass that every other line still gets.
 */
function accessLog(logger: Logger): RequestHandler {
  const lines = logger.child({}, { redact: { paths: [] } });
  let counter = 0;
  return function accessLog(req, res, next) {
    const started = performance.now();
    const id = ++counter;
    res.once('close', () => {
      const failed = res.statusCode >= 500;
      if (!failed && !lines.isLevelEnabled('info')) return;
      const line = {
        req: { id, method: req.method, path: pathOnly(req.originalUrl) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (failed) lines.error(line, 'request errored');
      else lines.info(line, res.writableFinished ? 'request completed' : 'request aborted');
    });
    next();
  };
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
  app.use(accessLog(ctx.logger));
  app.use(ctx.metrics.httpMiddleware());
  app.use(NO_STORE_PREFIXES, noStore);

  mountRoutes(app, ctx, parts);

  app.use(routeNotFound());
  app.use(errorHandler(ctx.logger));
  ctx.metrics.learnRoutes(routeTable(app));
  return app;
}
