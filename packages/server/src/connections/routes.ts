import { auditActorOf } from '../audit/actor.js';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { assertTenantAllowed, authenticate } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import type { CredentialBroker } from './broker.js';
import { listConnectionRequests } from './request-log.js';
import { connectionRequestsQuerySchema } from './schema.js';
import { getConnection, getConnectionRow, listConnections, revokeConnection } from './service.js';

export const listQuerySchema = z.object({
  tenantId: z.string().min(1).max(256).optional(),
  connector: z.string().max(64).optional(),
  status: z.enum(['active', 'needs_reauth', 'revoked']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

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

  return router;
}
