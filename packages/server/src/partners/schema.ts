import { z } from 'zod';
import { TOPIC_PATTERN } from '../events/topics.js';

export const ENVIRONMENTS = ['dev', 'stage', 'prod'] as const;
export type PartnerEnvironment = (typeof ENVIRONMENTS)[number];

const METADATA_MAX_BYTES = 4096;

/** `POST /api/v1/external/partner`: exactly these three fields, all optional. */
export const createPartnerSchema = z.strictObject({
  appName: z.string().trim().min(1).max(100).optional(),
  appDescription: z.string().trim().max(500).optional(),
  metadata: z
    .record(z.string().max(64), z.unknown())
    .refine((metadata) => Buffer.byteLength(JSON.stringify(metadata)) <= METADATA_MAX_BYTES, `at most ${METADATA_MAX_BYTES} bytes of JSON`)
    .optional(),
});

export const redeemSchema = z.strictObject({ code: z.string().min(1).max(64) });

export const partnerDetailsSchema = z.strictObject({
  appName: z.string().trim().min(1).max(100),
  appDescription: z.string().trim().max(500).default(''),
  contact: z.email().max(254),
});

export const environmentSchema = z.enum(ENVIRONMENTS);

export const rotateKeySchema = z.strictObject({
  /** How long the old key keeps working: 0 (now) to 7 days. */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
});

export const subscriptionsSchema = z.strictObject({
  publish: z.array(z.string().regex(TOPIC_PATTERN, 'a topic or pattern like app/order/*')).max(100),
  consume: z.array(z.string().regex(TOPIC_PATTERN, 'a topic or pattern like app/order/*')).max(100),
});

export const grantSchema = z
  .strictObject({
    pattern: z.string().regex(TOPIC_PATTERN, 'a topic or pattern like app/order/*'),
    environment: z.enum([...ENVIRONMENTS, '*']).default('*'),
    send: z.boolean().default(false),
    receive: z.boolean().default(false),
  })
  .refine((grant) => grant.send || grant.receive, { message: 'a grant allows send, receive or both', path: ['send'] });

export const listPartnersSchema = z.object({
  status: z.enum(['invited', 'active', 'suspended']).optional(),
  tag: z.string().max(64).optional(),
  search: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});
