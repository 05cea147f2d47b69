import { z } from 'zod';

const tagKey = z.string().min(1).max(128);
const tagValue = z.string().max(512);
export const TENANT_TAG = 'fusebit.tenantId';

export const createSessionSchema = z
  .strictObject({
    redirectUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    tenantId: z.string().min(1).max(256).optional(),
    tags: z
      .record(tagKey, tagValue)
      .refine((tags) => Object.keys(tags).length <= 32, 'at most 32 tags')
      .default({}),
    /** Limit the session to one of the integration's connectors (else the widget or user chooses). */
    connector: z.string().min(1).max(64).optional(),
    /** Re-authorize this existing connection: its credentials are replaced in place. */
    connectionId: z
      .string()
      .regex(/^con_[0-9A-Za-z]{22}$/)
      .optional(),
    /** A label for the new connection ("Work account"), for tenants with several. */
    label: z.string().min(1).max(100).optional(),
  })
  .transform((input, ctx) => {
    const tenantId = input.tenantId ?? input.tags[TENANT_TAG];
    if (!tenantId) {
      ctx.addIssue({ code: 'custom', path: ['tenantId'], message: `a tenant is required: tenantId or tags["${TENANT_TAG}"]` });
      return z.NEVER;
    }
    if (input.tenantId && input.tags[TENANT_TAG] && input.tags[TENANT_TAG] !== input.tenantId) {
      ctx.addIssue({ code: 'custom', path: ['tags', TENANT_TAG], message: 'does not match tenantId' });
      return z.NEVER;
    }
    return {
      redirectUrl: input.redirectUrl ?? null,
      tenantId,
      tags: { ...input.tags, [TENANT_TAG]: tenantId },
      connector: input.connector,
      connectionId: input.connectionId,
      label: input.label,
    };
  });

export const startQuerySchema = z.object({
  mode: z.enum(['popup', 'page']).default('page'),
  origin: z.string().max(2048).optional(),
  connector: z.string().max(64).optional(),
  method: z.enum(['none', 'basic', 'bearer', 'apiKey', 'oauth2', 'custom']).optional(),
  /** Re-authorize this connection of the session's tenant (the picker's "Needs re-auth"). */
  reauth: z
    .string()
    .regex(/^con_[0-9A-Za-z]{22}$/)
    .optional(),
});

export const callbackQuerySchema = z.object({
  state: z.string().min(1).max(512),
  code: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
});

export const sessionIdSchema = z.string().regex(/^ses_[0-9A-Za-z]{22}$/, 'not a session id');

export const connectionIdSchema = z.string().regex(/^con_[0-9A-Za-z]{22}$/, 'not a connection id');

export type CreateSessionInput = z.output<typeof createSessionSchema>;
