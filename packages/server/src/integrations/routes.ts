import { actorOf } from '../audit/actor.js';
import { type RequestHandler, Router } from 'express';
import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/broker.js';
import { authenticate } from '../http/auth.js';
import { decoded, type FastLane, laneRequest, runHandlers } from '../http/fast-lane.js';
import type { RequestObserver } from '../http/request-observer.js';
import { jsonBody } from '../http/body.js';
import { integrationOrigins } from '../http/cors.js';
import { parseInput } from '../http/validation.js';
import { invokeAction } from './actions.js';
import { createIntegrationSchema, deleteQuerySchema, integrationListQuerySchema, updateIntegrationSchema } from './schema.js';
import { createIntegration, deleteIntegration, listIntegrations, loadIntegration, updateIntegration } from './service.js';

/**
 * Mounted first on `/v1/integrations/:integrationId`: every route under it (the flow, installs,
 * tenant actions) then finds the integration as the store has it now, made or changed by any
 * instance, while `requireIntegration` stays a synchronous read of this instance's copy.
 */
export function freshIntegration(ctx: Pick<AppContext, 'catalog'>): RequestHandler {
  return async function freshIntegration(req, _res, next) {
    await ctx.catalog.loadIntegration(String(req.params.integrationId));
    next();
  };
}

/**
 * For the tenant actions, the integration API's hot path: the integration as this instance last
 * read it, read again once that was `windowMs` ago. A change made on this instance is in the
 * catalog at once (its writes refresh it); one made on another instance is seen within the window
 * (`PATCHBAY_CONNECTION_CACHE_SECONDS`, as for the connections the actions use).
 */
export function recentIntegration(ctx: Pick<AppContext, 'catalog'>, windowMs: number): RequestHandler {
  const readAt = new Map<string, number>();
  return function recentIntegration(req, _res, next) {
    const id = String(req.params.integrationId);
    const at = readAt.get(id);
    if (at !== undefined && performance.now() - at < windowMs && ctx.catalog.integrations.has(id)) return next();
    const started = performance.now();
    return ctx.catalog.loadIntegration(id).then((integration) => {
      // Only integrations that exist are remembered, so the map never grows past the catalog.
      if (integration) readAt.set(id, started);
      else readAt.delete(id);
      next();
    });
  };
}

export function integrationRoutes(ctx: AppContext): Router {
  const router = Router();
  router.use(jsonBody({ limit: '256kb' }));

  router.get('/', authenticate(ctx, { scope: 'connectors:read' }), async function listIntegrationsHandler(req, res) {
    res.json(await listIntegrations(ctx, parseInput(integrationListQuerySchema, req.query)));
  });

  router.post('/', authenticate(ctx, { scope: 'connectors:write' }), async function createIntegrationHandler(req, res) {
    const input = parseInput(createIntegrationSchema, req.body ?? {});
    res.status(201).json(await createIntegration(ctx, input, actorOf(res)));
  });

  router.get('/:integrationId', authenticate(ctx, { scope: 'connectors:read' }), async function readIntegrationHandler(req, res) {
    res.json(await loadIntegration(ctx, String(req.params.integrationId)));
  });

  router.patch('/:integrationId', authenticate(ctx, { scope: 'connectors:write' }), async function updateIntegrationHandler(req, res) {
    const patch = parseInput(updateIntegrationSchema, req.body ?? {});
    res.json(await updateIntegration(ctx, String(req.params.integrationId), patch, actorOf(res)));
  });

  router.delete('/:integrationId', authenticate(ctx, { scope: 'connectors:write' }), async function deleteIntegrationHandler(req, res) {
    const { force } = parseInput(deleteQuerySchema, req.query);
    res.json(await deleteIntegration(ctx, String(req.params.integrationId), force === 'true', actorOf(res)));
  });
  return router;
}

/**
 * Mounted on `/v1/integrations/:integrationId/api/tenant`, ahead of the rest of the integration API:
 * the hot path. Its CORS rule and body parser run in the route itself, one function after another,
 * rather than as router layers that every call walks. Preflights are answered before the route
 * (Express would otherwise answer them itself, with the route's `Allow`); other methods go on to
 * the integration API, whose CORS rule is the same one. Most calls never reach it:
 * `tenantActionLane` answers them first.
 */
export function tenantActionRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router({ mergeParams: true });
  const [answerAnyOrigin] = integrationOrigins(ctx);
  router.use(function answerPreflight(req, res, next) {
    if (req.method === 'OPTIONS') answerAnyOrigin!(req, res, next);
    else next();
  });
  router.post('/:tenantId/:action', ...tenantActionHandlers(ctx, broker));
  return router;
}

/** The action route's middleware and handler, for the route and for the lane alike. */
function tenantActionHandlers(ctx: AppContext, broker: CredentialBroker): RequestHandler[] {
  const [answerAnyOrigin, enforceAllowedOrigins] = integrationOrigins(ctx);
  return [
    recentIntegration(ctx, ctx.config.connectionCacheSeconds * 1000),
    answerAnyOrigin!,
    enforceAllowedOrigins!,
    jsonBody({ limit: ACTION_BODY_LIMIT }),
    authenticate(ctx, { scope: 'installs:write' }),
    async function invokeActionHandler(req, res) {
      const result = await invokeAction(ctx, broker, ctx.customAuthMethods, {
        integrationId: String(req.params.integrationId),
        tenantId: String(req.params.tenantId),
        action: String(req.params.action),
        body: req.body,
      });
      // res.json's answer without its ETag: a digest of every answer that no one can use, since a
      // POST is never answered from a cache.
      const text = JSON.stringify(result);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('content-length', Buffer.byteLength(text));
      res.end(text);
    },
  ];
}

/** 256 KiB, in bytes: a plain JSON body under it is read without express.json's machinery (http/body.ts). */
const ACTION_BODY_LIMIT = 256 * 1024;

/** The action route's plain form: an integration id and an action name of plain characters, a tenant id as the caller escaped it. */
const PLAIN_ACTION_PATH = /^\/v1\/integrations\/([A-Za-z0-9_-]{1,128})\/api\/tenant\/([^/?#]{1,1024})\/([A-Za-z0-9_-]{1,128})(?:\?|$)/;

/** The action route's template, as routes.ts lists it and metrics label it. */
const ACTION_ROUTE = '/v1/integrations/:integrationId/api/tenant/:tenantId/:action';

/**
 * The tenant actions' fast lane (http/fast-lane.ts says why): the same middleware and handler as
 * the route, run on Node's own request and response, for a POST in the route's plain form.
 */
export function tenantActionLane(ctx: AppContext, broker: CredentialBroker, observer: RequestObserver): FastLane {
  const handlers = tenantActionHandlers(ctx, broker);
  return function tenantActionLane(incoming, res, fail) {
    if (incoming.method !== 'POST') return false;
    const match = PLAIN_ACTION_PATH.exec(incoming.url!);
    if (!match) return false;
    const tenantId = decoded(match[2]!);
    if (tenantId === null) return false;
    observer.watch(incoming, res, ACTION_ROUTE);
    runHandlers(handlers, laneRequest(incoming, res, { integrationId: match[1]!, tenantId, action: match[3]! }), res, fail);
    return true;
  };
}
