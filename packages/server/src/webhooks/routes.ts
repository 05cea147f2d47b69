import { Router } from 'express';
import { auditActorOf } from '../audit/actor.js';
import type { AppContext } from '../context.js';
import { authenticate } from '../http/auth.js';
import { jsonBody } from '../http/body.js';
import { parseInput } from '../http/validation.js';
import { createWebhookSchema, listDeliveriesSchema, listWebhooksSchema, updateWebhookSchema } from './schema.js';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, retryDelivery, rotateWebhookSecret, updateWebhook } from './service.js';

/** Operator routes: webhook endpoints, their secrets and their delivery logs. */
export function webhookRoutes(ctx: AppContext): Router {
  const router = Router();
  const read = authenticate(ctx, { scope: 'webhooks:read' });
  const write = authenticate(ctx, { scope: 'webhooks:write' });
  router.use(jsonBody({ limit: '32kb' }));
  // An unknown or malformed id is the same 404: ids are looked up, never parsed.
  const idOf = (params: Record<string, unknown>) => String(params.webhookId);

  router.post('/', write, async function createWebhookHandler(req, res) {
    const input = parseInput(createWebhookSchema, req.body ?? {});
    res.status(201).json(await createWebhook(ctx, input, auditActorOf(res)));
  });

  router.get('/', read, async function listWebhooksHandler(req, res) {
    res.json(await listWebhooks(ctx, parseInput(listWebhooksSchema, req.query)));
  });

  router.get('/:webhookId', read, async function readWebhookHandler(req, res) {
    res.json(await getWebhook(ctx, idOf(req.params)));
  });

  router.patch('/:webhookId', write, async function updateWebhookHandler(req, res) {
    const patch = parseInput(updateWebhookSchema, req.body ?? {});
    res.json(await updateWebhook(ctx, idOf(req.params), patch, auditActorOf(res)));
  });

  router.delete('/:webhookId', write, async function deleteWebhookHandler(req, res) {
    res.json(await deleteWebhook(ctx, idOf(req.params), auditActorOf(res)));
  });

  router.post('/:webhookId/rotate-secret', write, async function rotateWebhookSecretHandler(req, res) {
    res.status(201).json(await rotateWebhookSecret(ctx, idOf(req.params), auditActorOf(res)));
  });

  router.get('/:webhookId/deliveries', read, async function listDeliveriesHandler(req, res) {
    res.json(await listDeliveries(ctx, idOf(req.params), parseInput(listDeliveriesSchema, req.query)));
  });

  router.post('/:webhookId/deliveries/:deliveryId/retry', write, async function retryDeliveryHandler(req, res) {
    res.json(await retryDelivery(ctx, idOf(req.params), String(req.params.deliveryId), auditActorOf(res)));
  });

  return router;
}
