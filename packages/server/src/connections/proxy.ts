import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { callUpstream, FORWARDED_REQUEST_HEADERS } from '../connectors/upstream.js';
import { assertTenantAllowed, authenticate } from '../http/auth.js';
import { HttpError, notFound } from '../http/errors.js';
import { decoded, type FastLane, laneRequest, runHandlers } from '../http/fast-lane.js';
import type { RequestObserver } from '../http/request-observer.js';
import type { CredentialBroker } from './broker.js';
import { recentConnectionRow } from './service.js';

/** The proxy's route, as routes.ts lists it and metrics label it. */
const PROXY_ROUTE = '/v1/connections/:connectionId/proxy/{*rest}';

/** `/connections/{id}/proxy/` as Express's router matched it: any letter case, the id as written. */
const PROXY_MARKER = /\/connections\/[^/?]+\/proxy\//i;

/** Response headers passed back from the upstream; cookies and hop-by-hop headers stay behind. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'etag',
  'last-modified',
  'location',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

/** What an HTTP client (Node's fetch included) can send upstream; TRACE, CONNECT and the rest are refused. */
export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A method the proxy cannot forward is the caller's mistake (405), not a third party's failure (502). */
const proxyMethodAllowed: RequestHandler = function proxyMethodAllowed(req, res, next) {
  if (PROXY_METHODS.includes(req.method)) return next();
  res.set('allow', PROXY_METHODS.join(', '));
  throw new HttpError(405, 'method_not_allowed', `The proxy forwards ${PROXY_METHODS.join(', ')} only.`);
};

/** What the proxy reads of a request, whether Express routed it or the fast lane took it. */
type ProxyRequest = Pick<IncomingMessage, 'method' | 'headers'> & { originalUrl: string; body?: unknown };

/**
 * Forwards one authenticated call to the connector's base URL with the tenant's credentials
 * applied, and passes the answer back. Only that base URL is reachable; see resolveUnderBase for
 * what is refused.
 */
async function forwardProxyCall(ctx: AppContext, broker: CredentialBroker, connectionId: string, req: ProxyRequest, res: ServerResponse): Promise<void> {
  // Read once (or reused from the last calls: store/read-cache.ts): the same row gives the tenant check and the credentials.
  const connection = await recentConnectionRow(ctx, connectionId);
  if (!connection) throw notFound('connection_not_found', 'No such connection.');
  // The tenant check reads only the answer's `locals` (the principal), which both paths set.
  assertTenantAllowed(ctx, req as Request, res as Response, connection.tenant_id);
  const connector = ctx.catalog.connectors.get(connection.connector_id);
  if (!connector) throw notFound('connector_not_found', 'The connector is no longer available.');
  // The raw (still percent-encoded) path after /proxy/, so encoded tricks are seen before decoding.
  // Found after the id's segment as the caller wrote it (escaped, in any letter case), not by the id.
  const marker = PROXY_MARKER.exec(req.originalUrl)!;
  const raw = req.originalUrl.slice(marker.index + marker[0].length);
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string' && value) headers[name] = value;
  }
  const body = Buffer.isBuffer(req.body) && req.body.length > 0 && req.method !== 'GET' && req.method !== 'HEAD' ? req.body : undefined;
  const upstream = await callUpstream(ctx, broker, ctx.customAuthMethods, {
    connector,
    connectionId: connection.id,
    connection,
    method: req.method!,
    path: raw,
    headers,
    body,
  });
  res.statusCode = upstream.status;
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) res.setHeader(name, value);
  }
  if (upstream.status === 204 || upstream.status === 304) {
    upstream.rest?.destroy();
    res.removeHeader('content-type');
    res.end();
    return;
  }
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/octet-stream');
  if (!upstream.rest) {
    res.setHeader('content-length', upstream.head.length);
    res.end(upstream.head);
    return;
  }
  // A large body is passed on as it arrives; if the upstream fails now, the answer is cut short.
  res.write(upstream.head);
  pipeline(upstream.rest, res).catch(() => res.destroy());
}

/**
 * The proxy route, in a router of its own, mounted on `/v1/connections` ahead of every other router
 * (routes.ts). Most calls never reach it: `proxyLane` answers them first. It serves every form the
 * lane leaves to Express: a method the proxy refuses, a connection id written with escapes or
 * other letter cases, a deployment behind trusted proxies.
 */
export function proxyRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router();
  router.all('/:connectionId/proxy/{*rest}', proxyMethodAllowed, ...proxyHandlers(ctx, broker));
  return router;
}

/** The proxy's middleware and handler after the method check, for the route and for the lane alike. */
function proxyHandlers(ctx: AppContext, broker: CredentialBroker): RequestHandler[] {
  return [
    authenticate(ctx, { scope: 'installs:write' }),
    express.raw({ type: () => true, limit: '1mb' }),
    function proxyHandler(req, res) {
      return forwardProxyCall(ctx, broker, String(req.params.connectionId), req, res);
    },
  ];
}

/** The proxy's plain form: an id of the characters ids are made of, then `/proxy/`. */
const PLAIN_PROXY_PATH = /^\/v1\/connections\/([A-Za-z0-9_-]{1,128})\/proxy\//;

/**
 * The proxy's fast lane (http/fast-lane.ts says why): the same middleware and the same forwarder
 * as `proxyRoutes`, run on Node's own request and response.
 */
export function proxyLane(ctx: AppContext, broker: CredentialBroker, observer: RequestObserver): FastLane {
  const handlers = proxyHandlers(ctx, broker);
  return function proxyLane(incoming, res, fail) {
    const url = incoming.url!;
    const match = PLAIN_PROXY_PATH.exec(url);
    if (!match || !PROXY_METHODS.includes(incoming.method!)) return false;
    // A path Express's router cannot decode is refused there (400), as it was before this lane.
    const query = url.indexOf('?');
    if (decoded(query === -1 ? url : url.slice(0, query)) === null) return false;
    observer.watch(incoming, res, PROXY_ROUTE);
    runHandlers(handlers, laneRequest(incoming, res, { connectionId: match[1]! }), res, fail);
    return true;
  };
}
