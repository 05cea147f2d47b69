/** The partner API's and the partner portal's wire shapes live in the shared contract; the server validates with them. */
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
