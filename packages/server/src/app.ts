import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppContext } from './context.js';
import { connectorRoutes } from './connectors/routes.js';
import type { OAuthClients } from './connections/oauth.js';
import type { CredentialBroker } from './connections/service.js';
import { connectionRoutes } from './connections/routes.js';
import { jsonBody } from './http/body.js';
import { NO_STORE_PREFIXES, noStore } from './http/cache.js';
import { integrationOrigins } from './http/cors.js';
import { eventRoutes } from './events/routes.js';
import { errorHandler, HttpError, routeNotFound } from './http/errors.js';
import { installRoutes } from './installs/routes.js';
import { keyRoutes } from './keys/routes.js';
import { metricsRoutes } from './metrics/routes.js';
import { routeTable } from './http/route-table.js';
import { integrationRoutes, tenantActionRoutes } from './integrations/routes.js';
import { partnerPageRoutes } from './pages/partner.js';
import { externalPartnerRoutes, partnerPortalRoutes, partnerRoutes } from './partners/routes.js';
import { type WidgetBundle, widgetRoutes } from './pages/widget.js';
import { oauthCallbackRoutes, sessionRoutes } from './sessions/routes.js';

export interface ServerParts {
  oauth: OAuthClients;
  broker: CredentialBroker;
  widget: WidgetBundle | null;
  /** Demo-mode routes (provider, third-party API, host page), mounted before the API. */
  demo?: express.Router;
}

const publicDir = fileURLToPath(new URL('../public/', import.meta.url));

/** Logs only the path: OAuth codes and states travel in query strings and must never be logged. */
function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0]!;
}

/**
 * Builds the Express app. Every route is wired here, in one place; nothing listens and nothing
 * global is touched, so tests can build as many servers as they like.
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

  app.get('/healthz', function healthHandler(_req, res) {
    res.json({ ok: true });
  });
  // Ready means the store answers and holds every migration this code needs; a load balancer
  // takes the instance out of rotation otherwise. Bounded, so an unreachable database answers too.
  app.get('/readyz', async function readyHandler(_req, res) {
    let pending: string[];
    try {
      pending = await withDeadline(ctx.store.pendingMigrations(), 2000);
    } catch (error) {
      throw new HttpError(503, 'store_unavailable', 'The database cannot be reached.', { expose: true, cause: error });
    }
    if (pending.length > 0)
      throw new HttpError(503, 'migrations_pending', `The database lacks ${pending.length} migration(s); run patchbay migrate.`, { expose: true });
    res.set('cache-control', 'no-store').json({ ok: true });
  });
  app.use(metricsRoutes(ctx));

  app.use('/static', express.static(publicDir, { index: false, maxAge: '1h' }));
  if (parts.widget) app.use('/widget', widgetRoutes(parts.widget));
  if (parts.demo) app.use('/demo', parts.demo);
  app.use(partnerPageRoutes(ctx.config));

  app.use(oauthCallbackRoutes(ctx, parts.oauth));

  const integrationApi = express.Router({ mergeParams: true });
  integrationApi.use(integrationOrigins(ctx));
  integrationApi.use(jsonBody({ limit: '256kb' }));
  integrationApi.use(sessionRoutes(ctx, parts.oauth, parts.broker));
  integrationApi.use(installRoutes(ctx));
  integrationApi.use(tenantActionRoutes(ctx, parts.broker));
  app.use('/v1/integrations/:integrationId', integrationApi);
  app.use('/v1/integrations', integrationRoutes(ctx));
  app.use('/v1/connectors', connectorRoutes(ctx, parts.broker));
  app.use('/v1/connections', connectionRoutes(ctx, parts.broker));
  app.use(externalPartnerRoutes(ctx));
  app.use('/v1/partners', partnerRoutes(ctx));
  app.use('/v1/partner-portal', partnerPortalRoutes(ctx));
  app.use('/v1/events', eventRoutes(ctx, ctx.events));
  app.use('/v1', keyRoutes(ctx));

  app.use(routeNotFound());
  app.use(errorHandler(ctx.logger));
  ctx.metrics.learnRoutes(routeTable(app));
  return app;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
