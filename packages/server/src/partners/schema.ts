/** The partner API's and the partner portal's wire shapes live in the shared contract; the server validates with them. */
import { grantViewSchema, partnerViewSchema } from '@patchbay/contract';
import { z } from 'zod';

export {
  createPartnerSchema,
  ENVIRONMENTS,
  environmentSchema,
  grantSchema,
  listPartnersSchema,
  partnerDetailsSchema,
  partnerMetadataSchema,
  redeemSchema,
  rotateKeySchema,
  subscriptionsSchema,
  updatePartnerSchema,
  type PartnerEnvironment,
  type PartnerMetadata,
} from '@patchbay/contract';

/** `GET /v1/partners/{id}`: the partner, its topic grants and its keys (prefixes only, never a secret). */
export const partnerDetailSchema = partnerViewSchema.extend({
  grants: z.array(grantViewSchema),
  keys: z.array(
    z.object({
      id: z.string(),
      environment: z.string(),
      prefix: z.string(),
      createdAt: z.string(),
      expiresAt: z.string().nullable(),
      lastAuthenticatedAt: z.string().nullable(),
    }),
  ),
});
/** A fresh one-time link: the URL carries the code in its fragment. */
export const issuedLinkSchema = z.object({ data: z.object({ url: z.string(), expiresAt: z.string() }) });
export const revokedLinksSchema = z.object({ data: z.object({ revoked: z.number().int() }) });
