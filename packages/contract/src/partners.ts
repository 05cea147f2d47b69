/**
 * Partners on the wire: the host's partner API (docs/partners.md §1) and the partner portal that
 * `<partner-onboarding>` talks to (§2).
 */
import { z } from 'zod';
import { topicPatternSchema } from './primitives.js';

export const ENVIRONMENTS = ['dev', 'stage', 'prod'] as const;
export const environmentSchema = z.enum(ENVIRONMENTS);
export type PartnerEnvironment = z.infer<typeof environmentSchema>;
export const PARTNER_STATUSES = ['invited', 'active', 'suspended'] as const;

const METADATA_MAX_BYTES = 4096;

/** The typed metadata fields, each alone: a PATCH validates the fields it names with these. */
export const partnerMetadataFields = {
  /** The partner's colour, `#rrggbb` (stored in lower case). */
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #336699')
    .transform((value) => value.toLowerCase()),
  /** The partner's icon: an https URL (the portal loads it in the partner's browser). */
  icon: z.url({ protocol: /^https$/, error: 'an https URL' }).max(2048),
  /** Short labels for filtering (`GET /v1/partners?tag=`). */
  tags: z
    .array(z.string().trim().min(1).max(32))
    .max(20)
    .transform((tags) => [...new Set(tags)]),
  /** Who owns the relationship: a team's name or an e-mail address (checked as one when it has an @). */
  owner: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((owner) => !owner.includes('@') || z.email().safeParse(owner).success, 'a name, or a valid e-mail address'),
};

/** UTF-8 bytes, counted the same in Node and the browser. */
const withinMetadataBytes = (metadata: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(metadata)).length <= METADATA_MAX_BYTES;

/**
 * A partner's metadata: the typed fields are checked; any other key is the host's own (EnSync's
 * "custom metadata for ownership, SLA, and support routing") and kept as sent, within the size bound.
 */
export const partnerMetadataSchema = z
  .looseObject({
    color: partnerMetadataFields.color.optional(),
    icon: partnerMetadataFields.icon.optional(),
    tags: partnerMetadataFields.tags.optional(),
    owner: partnerMetadataFields.owner.optional(),
  })
  .refine((metadata) => Object.keys(metadata).every((key) => key.length <= 64), 'keys of at most 64 characters')
  .refine(withinMetadataBytes, `at most ${METADATA_MAX_BYTES} bytes of JSON`);
export type PartnerMetadata = z.output<typeof partnerMetadataSchema>;

/** `POST /api/v1/external/partner`: exactly these three fields, all optional. */
export const createPartnerSchema = z.strictObject({
  appName: z.string().trim().min(1).max(100).optional(),
  appDescription: z.string().trim().max(500).optional(),
  metadata: partnerMetadataSchema.optional(),
});

/**
 * `PATCH /v1/partners/{partnerId}`: the fields to change. `metadata` is merged into the stored one
 * (RFC 7396): a key set to null is removed, a key left out is kept.
 */
export const updatePartnerSchema = z
  .strictObject({
    appName: z.string().trim().min(1).max(100).optional(),
    appDescription: z.string().trim().max(500).optional(),
    metadata: z
      .looseObject({
        color: partnerMetadataFields.color.nullable().optional(),
        icon: partnerMetadataFields.icon.nullable().optional(),
        tags: partnerMetadataFields.tags.nullable().optional(),
        owner: partnerMetadataFields.owner.nullable().optional(),
      })
      .optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, 'name at least one field to change');
export type UpdatePartner = z.input<typeof updatePartnerSchema>;

/** The answer to creating a partner: its id and its first one-time link. */
export const createPartnerAnswerSchema = z.object({ data: z.object({ id: z.string(), url: z.string() }) });

export const listPartnersSchema = z.object({
  status: z.enum(PARTNER_STATUSES).optional(),
  tag: z.string().max(64).optional(),
  search: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

export const grantSchema = z
  .strictObject({
    pattern: topicPatternSchema,
    environment: z.enum([...ENVIRONMENTS, '*']).default('*'),
    send: z.boolean().default(false),
    receive: z.boolean().default(false),
  })
  .refine((grant) => grant.send || grant.receive, { message: 'a grant allows send, receive or both', path: ['send'] });

/** What the partner API shows of a partner (never a key or a link code). */
export const partnerViewSchema = z.object({
  id: z.string(),
  appName: z.string(),
  appDescription: z.string(),
  contact: z.string(),
  status: z.enum(PARTNER_STATUSES),
  /** As stored: the typed fields in their stored form (colour in lower case, tags unique), and the host's own keys. */
  metadata: z.looseObject({ color: z.string().optional(), icon: z.string().optional(), tags: z.array(z.string()).optional(), owner: z.string().optional() }),
  tags: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type PartnerView = z.infer<typeof partnerViewSchema>;

export const grantViewSchema = z.object({ id: z.string(), topic: z.string(), environment: z.string(), send: z.boolean(), receive: z.boolean() });
export type GrantView = z.infer<typeof grantViewSchema>;

/* The partner portal ------------------------------------------------------------------------- */

/** `POST /v1/partner-portal/redeem`: the one-time code from the link's fragment. */
export const redeemSchema = z.strictObject({ code: z.string().min(1).max(64) });

/** `PATCH /v1/partner-portal/partner`. */
export const partnerDetailsSchema = z.strictObject({
  appName: z.string().trim().min(1).max(100),
  appDescription: z.string().trim().max(500).default(''),
  contact: z.email().max(254),
});
export type PartnerDetails = z.input<typeof partnerDetailsSchema>;

/** `POST /v1/partner-portal/keys/{environment}/rotate`. */
export const rotateKeySchema = z.strictObject({
  /** How long the old key keeps working: 0 (now) to 7 days. */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
});

/** `PUT /v1/partner-portal/subscriptions`: each topic within a grant in that direction. */
export const subscriptionsSchema = z.strictObject({
  publish: z.array(topicPatternSchema).max(100),
  consume: z.array(topicPatternSchema).max(100),
});
export type Subscriptions = z.infer<typeof subscriptionsSchema>;

export const portalWorkspaceSchema = z.object({ name: z.string(), color: z.string().nullable(), iconUrl: z.string().nullable() });
export type PortalWorkspace = z.infer<typeof portalWorkspaceSchema>;

/** One topic the workspace allows, in any environment, and the per-environment breakdown. */
export const portalGrantSchema = z.object({
  topic: z.string(),
  send: z.boolean(),
  receive: z.boolean(),
  environments: z.array(z.object({ environment: z.enum([...ENVIRONMENTS, '*']), send: z.boolean(), receive: z.boolean() })),
});
export type PortalGrant = z.infer<typeof portalGrantSchema>;

export const portalKeySchema = z.object({
  environment: environmentSchema,
  prefix: z.string(),
  createdAt: z.string(),
  /** Set while an old key still works after a rotation. */
  previousExpiresAt: z.string().nullable(),
});
export type PortalKey = z.infer<typeof portalKeySchema>;

/** What the portal's header shows of the partner's metadata (the host's own keys stay with the host). */
export const portalPartnerBrandingSchema = z.object({ color: z.string().nullable(), icon: z.string().nullable(), owner: z.string().nullable() });
export type PortalPartnerBranding = z.infer<typeof portalPartnerBrandingSchema>;

/** What `<partner-onboarding>` shows (docs/partners.md, "The portal state"): never a key, only prefixes. */
export const portalStateSchema = z.object({
  workspace: portalWorkspaceSchema,
  partner: partnerViewSchema.pick({ id: true, appName: true, appDescription: true, contact: true, status: true }),
  /** The partner's colour, icon and owner from its metadata, for the header. */
  partnerBranding: portalPartnerBrandingSchema,
  invitation: z.string(),
  keys: z.array(portalKeySchema),
  grants: z.array(portalGrantSchema),
  subscriptions: subscriptionsSchema,
  apiBaseUrl: z.string(),
  sessionExpiresAt: z.string(),
});
export type PortalState = z.infer<typeof portalStateSchema>;

/** Every portal answer carries the state; the redemption on a host's site also the session token. */
export const portalAnswerSchema = z.object({
  data: portalStateSchema,
  session: z.object({ token: z.string(), expiresAt: z.string() }).optional(),
});
export type PortalAnswer = z.infer<typeof portalAnswerSchema>;

/** Creating or rotating a key: the secret, shown this once, and the state after it. */
export const portalKeyAnswerSchema = z.object({ data: z.object({ key: z.string(), state: portalStateSchema }) });
export type PortalKeyAnswer = z.infer<typeof portalKeyAnswerSchema>;
