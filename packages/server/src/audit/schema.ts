/** The audit trail on the wire: one entry's shape and the `GET /v1/audit` query. */
import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';

/** One change: who made it (and through what), what it changed, when, and the fields before and after, never a secret. */
export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  /** `key_…` (an access key), `cli` (the operator's terminal), `tenant:<tenantId>`, `partner:<partnerId>` or `system`. */
  actor: z.string(),
  /** What the actor acted through when the actor alone does not say: a tenant's session id; else null. */
  via: z.string().nullable(),
  /** `<resource>.<verb>`, e.g. `connection.created`. */
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditPageSchema = listEnvelope(auditEntrySchema);
export type AuditPage = z.infer<typeof auditPageSchema>;

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

/** Filters combine (AND); unknown ones are refused rather than silently ignored. */
export const listAuditSchema = z
  .strictObject({
    resourceType: z.string().min(1).max(64).optional(),
    resourceId: z.string().min(1).max(128).optional(),
    actor: z.string().min(1).max(300).optional(),
    /** An action (`connection.created`), or every action of a resource when it ends with a dot (`connection.`). */
    action: z
      .string()
      .regex(/^[a-z][a-z0-9_]*\.([a-z0-9_.]*[a-z0-9_])?$/, 'an action such as connection.created, or a prefix ending with a dot such as connection.')
      .optional(),
    /** From this instant, inclusive. */
    from: instant.optional(),
    /** Up to this instant, exclusive. */
    to: instant.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^aud_[0-9a-z]{1,40}$/, 'a cursor from a previous page')
      .optional(),
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from < query.to, { message: 'must be after from', path: ['to'] });
export type ListAuditQuery = z.output<typeof listAuditSchema>;
