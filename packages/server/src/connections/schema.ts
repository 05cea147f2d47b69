import { listEnvelope } from '@patchbay/contract';
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
});
export const connectionPageSchema = listEnvelope(connectionViewSchema);
