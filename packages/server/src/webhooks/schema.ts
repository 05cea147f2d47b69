import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from './emit.js';

const url = z.string().min(1).max(2048);
const events = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((types) => [...new Set(types)].sort());
const description = z.string().max(500);

export const createWebhookSchema = z.strictObject({ url, events, description: description.default('') });

export const updateWebhookSchema = z
  .strictObject({ url, events, description, enabled: z.boolean() })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one of url, events, description, enabled');

export const listWebhooksSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

export const listDeliveriesSchema = listWebhooksSchema.extend({
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});

export const webhookIdSchema = z.string().regex(/^whe_[0-9A-Za-z]{22}$/);
export const deliveryIdSchema = z.string().regex(/^whd_[0-9A-Za-z]+$/);

/** An endpoint as the API shows it: never its secret (that is shown once, at creation and rotation). */
export const webhookViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  enabled: z.boolean(),
  /** `operator` (PATCH enabled: false) or `failing` (every delivery failed for the disable window). */
  disabledReason: z.enum(['operator', 'failing']).nullable(),
  /** Until then the secret before the last rotation also signs. */
  previousSecretUntil: z.string().nullable(),
  failingSince: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WebhookView = z.output<typeof webhookViewSchema>;

export const webhookPageSchema = listEnvelope(webhookViewSchema);

/** The answer of a create or a rotation: the only time the secret is shown. */
export const webhookWithSecretSchema = webhookViewSchema.extend({
  secret: z.string().describe('`whsec_` + base64 of 32 random bytes (Standard Webhooks); shown only in this answer.'),
});

export const deliveryViewSchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string().describe('The `webhook-id` header: the same on every attempt.'),
  eventType: z.enum(WEBHOOK_EVENT_TYPES),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastDurationMs: z.number().int().nullable(),
  /** The start of the endpoint's last answer, at most 1 KB. */
  lastResponse: z.string().nullable(),
  /** Why the last attempt failed when no answer came (timeout, refused address, connection error). */
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DeliveryView = z.output<typeof deliveryViewSchema>;

export const deliveryPageSchema = listEnvelope(deliveryViewSchema);
