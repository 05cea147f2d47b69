import { z } from 'zod';

/** The session's wire shapes live in the shared contract; the server validates with them. */
export { connectionIdSchema, createSessionSchema, sessionIdSchema, startQuerySchema, TENANT_TAG, type CreateSessionInput } from '@patchbay/contract';

/** The provider's redirect back to us: not part of the widget's contract. */
export const callbackQuerySchema = z.object({
  state: z.string().min(1).max(512),
  code: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
});
