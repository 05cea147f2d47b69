import { pipeline } from 'node:stream/promises';
import { auditActorOf } from '../audit/actor.js';
import express, { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { callUpstream, FORWARDED_REQUEST_HEADERS } from '../connectors/upstream.js';
import { assertTenantAllowed, authenticate } from '../http/auth.js';
import { HttpError, notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import type { CredentialBroker } from './broker.js';
import { listConnectionRequests } from './request-log.js';
import { connectionRequestsQuerySchema } from './schema.js';
import { getConnection, getConnectionRow, listConnections, recentConnectionRow, revokeConnection } from './service.js';

export const listQuerySchema = z.object({
  tenantId: z.string().min(1).max(256).optional(),
  connector: z.string().max(64).optional(),
  status: z.enum(['active', 'needs_reauth', 'revoked']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

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

export function connectionRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router();

  router.get('/', authenticate(ctx, { scope: 'installs:read' }), async function listConnectionsHandler(req, res) {
    const query = parseInput(listQuerySchema, req.query);
    const principal = res.locals.principal as { kind: string; key?: { tenantId: string | null } };
    // A tenant-restricted key lists its own tenant's connections, whatever it asks for.
    const tenantId = principal.key?.tenantId ?? query.tenantId;
    res.json(await listConnections(ctx, { ...query, tenantId }));
  });

  router.get('/:connectionId', authenticate(ctx, { scope: 'installs:read' }), async function readConnectionHandler(req, res) {
    const connection = await getConnection(ctx, String(req.params.connectionId));
    if (!connection) throw notFound('connection_not_found', 'No such connection.');
    assertTenantAllowed(ctx, req, res, connection.tenantId);
    res.json(connection);
  });

  router.get('/:connectionId/requests', authenticate(ctx, { scope: 'installs:read' }), async function connectionRequestsHandler(req, res) {
    const query = parseInput(connectionRequestsQuerySchema, req.query);
    const connection = await getConnectionRow(ctx, String(req.params.connectionId));
    if (!connection) throw notFound('connection_not_found', 'No such connection.');
    assertTenantAllowed(ctx, req, res, connection.tenant_id);
    res.json(await listConnectionRequests(ctx, connection.id, query));
  });

  router.delete('/:connectionId', authenticate(ctx, { scope: 'installs:write' }), async function revokeConnectionHandler(req, res) {
    const connection = await getConnection(ctx, String(req.params.connectionId));
    if (!connection) throw notFound('connection_not_found', 'No such connection.');
    assertTenantAllowed(ctx, req, res, connection.tenantId);
    const revoked = await revokeConnection(ctx, connection.id, auditActorOf(res));
    broker.forget(connection.id);
    res.json(revoked);
  });

  /**
   * The proxy: forwards to the connector's base URL with the tenant's credentials applied. Only
   * that base URL is reachable; see resolveUnderBase for what is refused.
   */
  router.all(
    '/:connectionId/proxy/{*rest}',
    proxyMethodAllowed,
    authenticate(ctx, { scope: 'installs:write' }),
    express.raw({ type: () => true, limit: '1mb' }),
    async function proxyHandler(req, res) {
      // Read once (or reused from the last calls: row-cache.ts): the same row gives the tenant check and the credentials.
      const connection = await recentConnectionRow(ctx, String(req.params.connectionId));
      if (!connection) throw notFound('connection_not_found', 'No such connection.');
      assertTenantAllowed(ctx, req, res, connection.tenant_id);
      const connector = ctx.catalog.connectors.get(connection.connector_id);
      if (!connector) throw notFound('connector_not_found', 'The connector is no longer available.');
      // The raw (still percent-encoded) path after /proxy/, so encoded tricks are seen before decoding.
      const marker = `/${connection.id}/proxy/`;
      const raw = req.originalUrl.slice(req.originalUrl.indexOf(marker) + marker.length);
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
        method: req.method,
        path: raw,
        headers,
        body,
      });
      res.status(upstream.status);
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
    },
  );

  return router;
}
