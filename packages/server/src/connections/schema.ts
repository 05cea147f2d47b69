import { healthReasonSchema, listEnvelope } from '@patchbay/contract';
import { z } from 'zod';

/** A connection as operators see it: never its credentials. */
export const connectionViewSchema = z.object({
  id: z.string(),
  connector: z.string(),
  tenantId: z.string(),
  label: z.string().nullable(),
  authMethod: z.string(),
  status: z.enum(['active', 'needs_reauth', 'revoked']),
  /** When the credentials will need the person again, or null when nothing says they will. */
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The one health the widget and the webhooks show too (connections/health.ts `healthOf`). */
  health: z.enum(['active', 'expiring', 'needs_reauth', 'revoked']),
  /** Why the person is needed, with `needs_reauth`; else null. */
  healthReason: healthReasonSchema.nullable(),
  lastRefreshedAt: z.string().nullable(),
  lastVerifiedAt: z.string().nullable(),
  /** The last failed refresh or verification (`code: message`), cleared by the next success. */
  lastError: z.string().nullable(),
});
export const connectionPageSchema = listEnvelope(connectionViewSchema);

/** One upstream call made with a connection (`GET /v1/connections/{id}/requests`): the path keeps its query keys, never their values. */
export const connectionRequestSchema = z.object({
  id: z.string(),
  method: z.string(),
  path: z.string(),
  /** The upstream's status, or null when it did not answer (timeout, unreachable). */
  status: z.number().int().nullable(),
  durationMs: z.number().int(),
  at: z.string(),
});
export const connectionRequestPageSchema = listEnvelope(connectionRequestSchema);
export const connectionRequestsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});
