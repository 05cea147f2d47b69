import { Router } from 'express';
import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/service.js';
import { authenticate } from '../http/auth.js';
import { requireIntegration } from '../sessions/service.js';
import { invokeAction } from './service.js';
import type { z } from 'zod';
import type { integrationPageSchema } from './schema.js';

export function integrationRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/', authenticate(ctx, { scope: 'connectors:read' }), function listIntegrationsHandler(_req, res) {
    res.json({ data: [...ctx.catalog.integrations.values()], next: null } satisfies z.output<typeof integrationPageSchema>);
  });
  router.get('/:integrationId', authenticate(ctx, { scope: 'connectors:read' }), function readIntegrationHandler(req, res) {
    res.json(requireIntegration(ctx, String(req.params.integrationId)));
  });
  return router;
}

export function tenantActionRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router({ mergeParams: true });
  router.post('/api/tenant/:tenantId/:action', authenticate(ctx, { scope: 'installs:write' }), async function invokeActionHandler(req, res) {
    const result = await invokeAction(ctx, broker, ctx.customAuthMethods, {
      integrationId: String(req.params.integrationId),
      tenantId: String(req.params.tenantId),
      action: String(req.params.action),
      body: req.body,
    });
    res.json(result);
  });
  return router;
}
