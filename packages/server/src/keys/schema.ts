import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';
import { isValidRange } from './ip.js';
import { expandScopes, SCOPE_NAMES, SCOPES } from './scopes.js';

/** The longest a rolled key keeps working beside its successor. */
export const MAX_GRACE_SECONDS = 7 * 86_400;

export const keyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, 'letters, digits, space, dot, dash and underscore; at most 100');
const scopes = z.array(z.enum(SCOPE_NAMES)).min(1).max(SCOPE_NAMES.length).transform(expandScopes);
const cidrList = z.array(z.string().max(64).refine(isValidRange, 'not an IP address or CIDR range')).max(64);
const futureDate = z.iso
  .datetime({ offset: true })
  .refine((value) => Date.parse(value) > Date.now(), 'must be in the future')
  .transform((value) => new Date(value).toISOString());
const tenantId = z.string().min(1).max(256);

export const createKeySchema = z.strictObject({
  name: keyName,
  description: z.string().max(500).optional(),
  scopes,
  tenantId: tenantId.optional(),
  ipAllowlist: cidrList.optional(),
  expiresAt: futureDate.optional(),
});

export const updateKeySchema = z
  .strictObject({
    description: z.string().max(500).nullable().optional(),
    scopes: scopes.optional(),
    tenantId: tenantId.nullable().optional(),
    ipAllowlist: cidrList.nullable().optional(),
    expiresAt: futureDate.nullable().optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, 'name at least one field to change');

export const rollKeySchema = z.strictObject({
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(86_400),
});

const limit = z.coerce.number().int().min(1).max(100).default(20);

export const listKeysSchema = z.object({
  search: z.string().max(100).optional(),
  active: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  tenantId: tenantId.optional(),
  limit,
  cursor: z.string().max(64).optional(),
});

export const issueTokenSchema = z.strictObject({
  scopes: scopes.optional(),
  ttlSeconds: z.number().int().min(60).max(86_400).optional(),
});

export const listAuthEventsSchema = z.object({
  keyId: z.string().max(64).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  reason: z
    .enum([
      'invalid_credentials',
      'key_inactive',
      'key_expired',
      'ip_restricted',
      'tenant_forbidden',
      'insufficient_scope',
      'rate_limited',
      'partner_suspended',
      'session_forbidden',
      'origin_not_allowed',
    ])
    .optional(),
  from: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value).toISOString())
    .optional(),
  to: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value).toISOString())
    .optional(),
  limit,
  cursor: z.string().max(64).optional(),
});

/* Answers ------------------------------------------------------------------------------------ */

/** An access key as answers show it: never its secret or its hash (keys/record.ts makes it). */
export const accessKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  /** The key's first characters, to recognise it in a list. */
  keyPrefix: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  tenantId: z.string().nullable(),
  ipAllowlist: z.array(z.string()).nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  active: z.boolean(),
  lastAuthenticatedAt: z.string().nullable(),
  /** The key this one replaced by a roll. */
  rolledFrom: z.string().nullable(),
});
export const keyPageSchema = listEnvelope(accessKeySchema);
/** Creating a key: its secret, shown this once. */
export const createdKeySchema = accessKeySchema.extend({ key: z.string() });
/** Rolling a key: the new key's secret, and the old key (active until the grace period ends). */
export const rolledKeySchema = createdKeySchema.extend({ previous: accessKeySchema });

export const authEventSchema = z.object({
  id: z.string(),
  at: z.string(),
  keyId: z.string().nullable(),
  keyPrefix: z.string().nullable(),
  clientIp: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  outcome: z.enum(['success', 'failure']),
  reason: z.string().nullable(),
});
export const authEventPageSchema = listEnvelope(authEventSchema);

export const tokenAnswerSchema = z.object({ token: z.string(), tokenType: z.literal('Bearer'), expiresAt: z.string(), scopes: z.array(z.enum(SCOPES)) });
export const whoamiSchema = z.object({
  keyId: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  tenantId: z.string().nullable(),
  /** `key` for an access key itself, `token` for a token made from one. */
  via: z.enum(['key', 'token']),
});
