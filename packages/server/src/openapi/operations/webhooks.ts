/** Webhook endpoints, their secrets and delivery logs (webhooks/routes.ts). */
import {
  createWebhookSchema,
  deliveryPageSchema,
  deliveryViewSchema,
  listDeliveriesSchema,
  listWebhooksSchema,
  updateWebhookSchema,
  webhookPageSchema,
  webhookViewSchema,
  webhookWithSecretSchema,
} from '../../webhooks/schema.js';
import type { OperationDoc } from '../operation.js';

const read = { tag: 'Webhooks', auth: ['accessKey'], scope: 'webhooks:read' } as const;
const write = { tag: 'Webhooks', auth: ['accessKey'], scope: 'webhooks:write' } as const;
const missing = { 404: ['webhook_not_found'] } as const;

export const WEBHOOK_OPERATIONS: Record<string, OperationDoc> = {
  ['POST /v1/webhooks']: {
    summary: 'Create a webhook endpoint',
    description:
      'Answers the signing secret (`whsec_…`) once. The URL must be https (http only in dev mode) and resolve to public addresses only (`unsafe_webhook_url` names why not); `webhookAllowedHosts` lists exceptions.',
    ...write,
    body: createWebhookSchema,
    answers: { 201: webhookWithSecretSchema },
    errors: { 400: ['unsafe_webhook_url'] },
  },
  ['GET /v1/webhooks']: { summary: 'List webhook endpoints', ...read, query: listWebhooksSchema, answers: { 200: webhookPageSchema } },
  ['GET /v1/webhooks/:webhookId']: { summary: 'Read a webhook endpoint', ...read, answers: { 200: webhookViewSchema }, errors: missing },
  ['PATCH /v1/webhooks/:webhookId']: {
    summary: 'Change a webhook endpoint',
    description: '`enabled: false` pauses deliveries (they wait); `enabled: true` resumes them and clears a `failing` disable.',
    ...write,
    body: updateWebhookSchema,
    answers: { 200: webhookViewSchema },
    errors: { 400: ['unsafe_webhook_url'], ...missing },
  },
  ['DELETE /v1/webhooks/:webhookId']: {
    summary: 'Delete a webhook endpoint',
    description: 'With its delivery log.',
    ...write,
    answers: { 200: webhookViewSchema },
    errors: missing,
  },
  ['POST /v1/webhooks/:webhookId/rotate-secret']: {
    summary: 'Rotate the signing secret',
    description: 'Answers the new secret once. The old one keeps signing beside it (two `v1,` entries in `webhook-signature`) for `webhookSecretGraceHours`.',
    ...write,
    answers: { 201: webhookWithSecretSchema },
    errors: missing,
  },
  ['GET /v1/webhooks/:webhookId/deliveries']: {
    summary: 'List an endpoint’s deliveries',
    description: 'Newest first: status, attempts, the last answer’s code, duration and first 1 KB, and the next attempt.',
    ...read,
    query: listDeliveriesSchema,
    answers: { 200: deliveryPageSchema },
    errors: missing,
  },
  ['POST /v1/webhooks/:webhookId/deliveries/:deliveryId/retry']: {
    summary: 'Retry a delivery now',
    description: 'Queues one more attempt now, whatever the delivery’s status.',
    ...write,
    answers: { 200: deliveryViewSchema },
    errors: { 404: ['webhook_not_found', 'delivery_not_found'], 409: ['webhook_disabled'] },
  },
};
