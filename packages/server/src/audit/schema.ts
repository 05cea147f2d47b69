import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';

/** One change as `GET /v1/audit` shows it: who, what, on which record, when; details never hold a secret. */
export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  /** A key id, `session:<id>`, `partner:<id>`, or `cli` for the local command line. */
  actor: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export const auditPageSchema = listEnvelope(auditEntrySchema);
