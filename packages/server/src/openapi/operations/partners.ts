/** Partners (operator side), the partner portal, and events. */
import {
  createPartnerAnswerSchema,
  createPartnerSchema,
  environmentSchema,
  grantSchema,
  grantViewSchema,
  listEnvelope,
  listPartnersSchema,
  partnerDetailsSchema,
  partnerViewSchema,
  portalAnswerSchema,
  portalKeyAnswerSchema,
  redeemSchema,
  rotateKeySchema,
  subscriptionsSchema,
  updatePartnerSchema,
} from '@patchbay/contract';
import { eventPageSchema, pollSchema, publishedEventSchema, publishSchema, streamSchema } from '../../events/schema.js';
import { issuedLinkSchema, partnerDetailSchema, revokedLinksSchema } from '../../partners/schema.js';
import { noContent, type OperationDoc } from '../operation.js';

const operator = { auth: ['accessKey'], scope: 'partners:write' } as const;
const PARTNER_NOT_FOUND = { 404: ['partner_not_found'] } as const;
/** Every portal call: its session, and the check that it came from the portal (header, origin). */
const portal = { tag: 'Partner portal', auth: ['portalSession'] } as const;
const PORTAL_ERRORS = { 401: ['portal_session_expired'], 403: ['csrf_check_failed'] } as const;
const environment = { environment: environmentSchema };
/** Who may read events: an access key with events:consume, or a partner key whose grants cover the topics. */
const READ_ERRORS = { 400: ['invalid_request'], 403: ['insufficient_scope', 'partner_suspended'], 410: ['cursor_expired'] } as const;

export const PARTNER_OPERATIONS: Record<string, OperationDoc> = {
  ['POST /api/v1/external/partner']: {
    summary: 'Create a partner (EnSync’s shape)',
    description: 'Exactly `appName`, `appDescription` and `metadata`; anything else is refused. Answers the partner’s id and its first one-time link.',
    tag: 'Partners',
    ...operator,
    body: createPartnerSchema,
    answers: { 201: createPartnerAnswerSchema },
  },
  ['GET /v1/partners']: {
    summary: 'List partners',
    tag: 'Partners',
    ...operator,
    query: listPartnersSchema,
    answers: { 200: listEnvelope(partnerViewSchema) },
  },
  ['GET /v1/partners/:partnerId']: {
    summary: 'Read a partner, its grants and keys',
    tag: 'Partners',
    ...operator,
    answers: { 200: partnerDetailSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['PATCH /v1/partners/:partnerId']: {
    summary: 'Change a partner’s names and metadata',
    description:
      '`metadata` is merged into the stored one (RFC 7396): a key set to null is removed, a key left out is kept. The typed fields (`color`, `icon`, `tags`, `owner`) are checked; other keys are the host’s own.',
    tag: 'Partners',
    ...operator,
    body: updatePartnerSchema,
    answers: { 200: partnerViewSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['POST /v1/partners/:partnerId/links']: {
    summary: 'Issue a one-time link',
    description: 'The code travels in the URL fragment, never in a query string.',
    tag: 'Partners',
    ...operator,
    answers: { 201: issuedLinkSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['POST /v1/partners/:partnerId/links/revoke']: {
    summary: 'Revoke the partner’s unused links',
    tag: 'Partners',
    ...operator,
    answers: { 200: revokedLinksSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['POST /v1/partners/:partnerId/suspend']: {
    summary: 'Suspend a partner',
    description: 'Its keys are refused with `partner_suspended` until it is reinstated.',
    tag: 'Partners',
    ...operator,
    answers: { 200: partnerViewSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['POST /v1/partners/:partnerId/reinstate']: {
    summary: 'Reinstate a suspended partner',
    tag: 'Partners',
    ...operator,
    answers: { 200: partnerViewSchema },
    errors: { ...PARTNER_NOT_FOUND, 409: ['not_suspended'] },
  },
  ['POST /v1/partners/:partnerId/grants']: {
    summary: 'Grant a topic pattern',
    tag: 'Partners',
    ...operator,
    body: grantSchema,
    answers: { 201: grantViewSchema },
    errors: PARTNER_NOT_FOUND,
  },
  ['DELETE /v1/partners/:partnerId/grants/:grantId']: {
    summary: 'Revoke a grant',
    tag: 'Partners',
    ...operator,
    answers: { 204: noContent('Revoked.') },
    errors: { 404: ['partner_not_found', 'grant_not_found'] },
  },

  ['POST /v1/partner-portal/redeem']: {
    summary: 'Redeem a one-time link',
    description:
      'Starts the portal session: an httpOnly cookie on the server’s own site, or a token in the answer for a host listed in `partnerEmbedOrigins`. Writes need the `X-Patchbay-Portal: 1` header.',
    tag: 'Partner portal',
    body: redeemSchema,
    answers: { 200: portalAnswerSchema },
    errors: { 403: ['csrf_check_failed'], 404: ['link_invalid'] },
  },
  ['GET /v1/partner-portal']: { summary: 'The portal’s state', ...portal, answers: { 200: portalAnswerSchema }, errors: PORTAL_ERRORS },
  ['PATCH /v1/partner-portal/partner']: {
    summary: 'Change the partner’s details',
    ...portal,
    body: partnerDetailsSchema,
    answers: { 200: portalAnswerSchema },
    errors: PORTAL_ERRORS,
  },
  ['POST /v1/partner-portal/keys/:environment']: {
    summary: 'Create the partner key of an environment',
    description: 'The secret (`key`) is in this answer only.',
    ...portal,
    params: environment,
    answers: { 201: portalKeyAnswerSchema },
    errors: { ...PORTAL_ERRORS, 409: ['key_exists'] },
  },
  ['POST /v1/partner-portal/keys/:environment/rotate']: {
    summary: 'Rotate the partner key of an environment',
    description: 'The old key keeps working for `graceSeconds`.',
    ...portal,
    params: environment,
    body: rotateKeySchema,
    answers: { 201: portalKeyAnswerSchema },
    errors: { ...PORTAL_ERRORS, 409: ['no_key'] },
  },
  ['PUT /v1/partner-portal/subscriptions']: {
    summary: 'Choose the topics to publish and consume',
    description: 'Each topic must lie within a grant in that direction.',
    ...portal,
    body: subscriptionsSchema,
    answers: { 200: portalAnswerSchema },
    errors: { ...PORTAL_ERRORS, 400: ['topic_not_granted'] },
  },

  ['POST /v1/events']: {
    summary: 'Publish an event',
    description: 'An access key needs `events:publish`; a partner key a grant with `send` for the topic.',
    tag: 'Events',
    auth: ['accessKey', 'partnerKey'],
    scope: 'events:publish',
    body: publishSchema,
    answers: { 201: publishedEventSchema },
    errors: { 403: ['insufficient_scope', 'partner_suspended'] },
  },
  ['GET /v1/events']: {
    summary: 'Poll events',
    description: 'Oldest first after the cursor `after`. Without `topics`, a partner key reads the topics it chose in the portal.',
    tag: 'Events',
    auth: ['accessKey', 'partnerKey'],
    scope: 'events:consume',
    query: pollSchema,
    answers: { 200: eventPageSchema },
    errors: READ_ERRORS,
  },
  ['GET /v1/events/stream']: {
    summary: 'Stream events (Server-Sent Events)',
    description:
      'Resumes after `Last-Event-ID` (or `?after=`), else starts at the present. Each event: `id` is its `seq`, `event` its topic, `data` the event as JSON (the shape of a polled event).',
    tag: 'Events',
    auth: ['accessKey', 'partnerKey'],
    scope: 'events:consume',
    query: streamSchema,
    answers: { 200: { mediaType: 'text/event-stream', description: 'The stream; it stays open, with heartbeats.' } },
    errors: READ_ERRORS,
  },
};
