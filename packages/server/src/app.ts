import express, { type Express } from 'express';
import type { AppContext } from './context.js';
import { errorHandler, routeNotFound } from './http/errors.js';
import { proxyLane } from './connections/proxy.js';
import { publishLane } from './events/routes.js';
import { healthLane } from './health/routes.js';
import { withFastLanes } from './http/fast-lane.js';
import { tenantActionLane } from './integrations/routes.js';
import { requestObserver } from './http/request-observer.js';
import { routeTable } from './http/route-table.js';
import { mountRoutes, type ServerParts } from './routes.js';

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
  const observer = requestObserver(ctx);
  app.use(observer.middleware);

  mountRoutes(app, ctx, parts);

  app.use(routeNotFound());
  const answerError = errorHandler(ctx.logger);
  app.use(answerError);
  // The hottest routes' plain forms are answered before Express (http/fast-lane.ts says why). Behind
  // trusted proxies the client address is Express's `req.ip`, so the lanes that authenticate step aside.
  const authenticatingLanes =
    ctx.config.trustProxy === false
      ? [proxyLane(ctx, parts.broker, observer), tenantActionLane(ctx, parts.broker, observer), publishLane(ctx, ctx.events, observer)]
      : [];
  withFastLanes(app, [...authenticatingLanes, healthLane(observer)], answerError);
  ctx.metrics.learnRoutes(routeTable(app));
  return app;
}
