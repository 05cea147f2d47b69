/** The integration API under `/v1/integrations/{integrationId}`: sessions, installs, tenant actions; and the pages of the flow. */
import {
  commitAnswerSchema,
  connectionIdSchema,
  connectorsAnswerSchema,
  createSessionAnswerSchema,
  createSessionSchema,
  installPageSchema,
  installViewSchema,
  sessionIdSchema,
  sessionViewSchema,
  startQuerySchema,
} from '@patchbay/contract';
import { z } from 'zod';
import { listQuerySchema as installListQuerySchema } from '../../installs/routes.js';
import {
  actionResultSchema,
  createIntegrationSchema,
  deletedIntegrationSchema,
  deleteQuerySchema,
  integrationListQuerySchema,
  integrationPageSchema,
  integrationViewSchema,
  updateIntegrationSchema,
} from '../../integrations/schema.js';
import { callbackQuerySchema } from '../../sessions/schema.js';
import { htmlPage, noContent, type OperationDoc } from '../operation.js';
import { UPSTREAM_ERRORS } from './shared.js';

const INTEGRATION = '/v1/integrations/:integrationId';
const SESSION = `${INTEGRATION}/session/:sessionId`;
const session = { sessionId: sessionIdSchema };
/** A session's own refusals, whoever calls. */
const SESSION_ERRORS = { 404: ['session_not_found', 'integration_not_found'], 410: ['session_expired'] } as const;
/** A posted form's fields: the names come from the integration or the connector, the values are text. */
const formFields = z.record(z.string(), z.string());
const flowPage = htmlPage('The next page of the flow: a form, or the done page; an error is a page too, with its status.');
/** In page mode (no popup) the flow ends by going back to the host's `redirectUrl`. */
const backToHost = noContent('Back to the host page’s redirectUrl (page mode), or on to the provider.');

export const INTEGRATION_API_OPERATIONS: Record<string, OperationDoc> = {
  [`POST ${INTEGRATION}/session`]: {
    summary: 'Create a session',
    description:
      'The host backend starts an install flow for one tenant. The `token` goes to the browser (`<connect-button session-token>`), `startUrl` to the popup. Seed-compatible: `tags["fusebit.tenantId"]` names the tenant as well.',
    tag: 'Sessions',
    auth: ['accessKey'],
    scope: 'sessions:write',
    body: createSessionSchema,
    answers: { 200: createSessionAnswerSchema },
    errors: {
      400: ['redirect_not_allowed', 'connector_not_allowed', 'connection_not_found'],
      403: ['tenant_forbidden'],
      404: ['integration_not_found'],
    },
  },
  [`GET ${SESSION}`]: {
    summary: 'Read a session',
    description: 'The widget polls this while the flow runs: the server-side status is the source of truth.',
    tag: 'Sessions',
    auth: ['accessKey', 'sessionToken'],
    scope: 'sessions:write',
    params: session,
    answers: { 200: sessionViewSchema },
    errors: { 403: ['tenant_forbidden'], 404: ['session_not_found'] },
  },
  [`GET ${SESSION}/connectors`]: {
    summary: "The session's connectors and the tenant's state for each",
    tag: 'Sessions',
    auth: ['accessKey', 'sessionToken'],
    scope: 'sessions:write',
    params: session,
    answers: { 200: connectorsAnswerSchema },
    errors: { ...SESSION_ERRORS, 403: ['tenant_forbidden'] },
  },
  [`DELETE ${SESSION}/connections/:connectionId`]: {
    summary: 'Disconnect one of the tenant’s connections',
    description: 'The widget’s Disconnect: the connection is revoked; answers the updated connectors view.',
    tag: 'Sessions',
    auth: ['accessKey', 'sessionToken'],
    scope: 'sessions:write',
    params: { ...session, connectionId: connectionIdSchema },
    answers: { 200: connectorsAnswerSchema },
    errors: { ...SESSION_ERRORS, 403: ['tenant_forbidden'], 404: ['session_not_found', 'connection_not_found'], 409: ['connection_in_use'] },
  },
  [`GET ${SESSION}/start`]: {
    summary: 'Start the flow (browser)',
    description:
      'Opened in the popup (or the page): redirects to the provider’s authorize endpoint (state + PKCE S256), or shows the credential or configuration form. The unguessable session id in the path is the credential.',
    tag: 'Pages',
    params: session,
    query: startQuerySchema,
    answers: { 200: flowPage, 303: noContent('To the provider’s authorize endpoint.') },
  },
  [`POST ${SESSION}/config`]: {
    summary: 'Submit the configuration form (browser)',
    tag: 'Pages',
    params: session,
    form: formFields,
    answers: { 200: flowPage, 303: backToHost },
  },
  [`POST ${SESSION}/credentials`]: {
    summary: 'Submit the credential form (browser)',
    description: 'API key, basic or bearer credentials typed by the person; checked with the connector’s verify action when it has one.',
    tag: 'Pages',
    params: session,
    form: formFields,
    answers: { 200: flowPage, 303: backToHost },
  },
  [`POST ${SESSION}/cancel`]: {
    summary: 'Cancel a session',
    tag: 'Sessions',
    auth: ['accessKey', 'sessionToken'],
    scope: 'sessions:write',
    params: session,
    answers: { 200: sessionViewSchema },
    errors: { ...SESSION_ERRORS, 403: ['tenant_forbidden'], 409: ['session_used'] },
  },
  [`POST ${SESSION}/commit`]: {
    summary: 'Commit a session',
    description: 'Makes (or finds) the install; idempotent per session. Poll `targetUrl` until `operationState.status` is not `pending`.',
    tag: 'Sessions',
    auth: ['accessKey', 'sessionToken'],
    scope: 'installs:write',
    params: session,
    answers: { 200: commitAnswerSchema },
    errors: { ...SESSION_ERRORS, 403: ['tenant_forbidden'], 409: ['session_not_authorized', 'session_cancelled'] },
  },

  [`GET ${INTEGRATION}/install`]: {
    summary: 'Search installs',
    description: 'By tags (`?tag=fusebit.tenantId=acme`, repeatable, all must match). A key restricted to a tenant sees only that tenant’s installs.',
    tag: 'Installs',
    auth: ['accessKey'],
    scope: 'installs:read',
    query: installListQuerySchema,
    answers: { 200: installPageSchema },
  },
  [`GET ${INTEGRATION}/install/:installId`]: {
    summary: 'Read an install',
    description: 'The commit’s `targetUrl`. A session token reads only its own session’s install.',
    tag: 'Installs',
    auth: ['accessKey', 'sessionToken'],
    scope: 'installs:read',
    answers: { 200: installViewSchema },
    errors: { 403: ['tenant_forbidden'], 404: ['install_not_found'] },
  },
  [`DELETE ${INTEGRATION}/install/:installId`]: {
    summary: 'Delete an install',
    tag: 'Installs',
    auth: ['accessKey'],
    scope: 'installs:write',
    answers: { 204: noContent('Deleted.') },
    errors: { 403: ['tenant_forbidden'], 404: ['install_not_found'] },
  },

  [`POST ${INTEGRATION}/api/tenant/:tenantId/:action`]: {
    summary: 'Run a tenant’s action',
    description:
      'Calls the third-party API with the tenant’s own credentials, as the integration declares the action. The body is forwarded when the action says `forwardBody`.',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'installs:write',
    body: z.unknown(),
    answers: { 200: actionResultSchema },
    errors: {
      ...UPSTREAM_ERRORS,
      403: ['tenant_forbidden'],
      404: ['integration_not_found', 'action_not_found', 'install_not_found', 'connector_not_found', 'connection_not_found'],
    },
  },
  ['GET /v1/integrations']: {
    summary: 'List integrations',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'connectors:read',
    query: integrationListQuerySchema,
    answers: { 200: integrationPageSchema },
  },
  ['POST /v1/integrations']: {
    summary: 'Create an integration',
    description:
      'The id is derived from the name unless given. Every connector it offers must exist and be shared (not private), and every action must name one of them.',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'connectors:write',
    body: createIntegrationSchema,
    answers: { 201: integrationViewSchema },
    errors: { 409: ['id_unavailable'] },
  },
  [`GET ${INTEGRATION}`]: {
    summary: 'Read an integration',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'connectors:read',
    answers: { 200: integrationViewSchema },
    errors: { 404: ['integration_not_found'] },
  },
  [`PATCH ${INTEGRATION}`]: {
    summary: 'Change an integration',
    description:
      'Only one made through the API (`source: "api"`); a file integration is changed in the declarations file. What is sent replaces what was stored.',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'connectors:write',
    body: updateIntegrationSchema,
    answers: { 200: integrationViewSchema },
    errors: { 404: ['integration_not_found'], 409: ['managed_by_file'] },
  },
  [`DELETE ${INTEGRATION}`]: {
    summary: 'Delete an integration',
    description:
      'Only one made through the API. With installs left, only `?force=true` deletes it, deleting them too and cancelling its open sessions (`integration_in_use` otherwise).',
    tag: 'Integrations',
    auth: ['accessKey'],
    scope: 'connectors:write',
    query: deleteQuerySchema,
    answers: { 200: deletedIntegrationSchema },
    errors: { 404: ['integration_not_found'], 409: ['managed_by_file', 'integration_in_use'] },
  },

  ['GET /oauth/callback']: {
    summary: 'The provider’s redirect back (browser)',
    description: 'The one-time `state` is the only credential. Answers the configuration form or the done page; an error is a page too.',
    tag: 'Pages',
    query: callbackQuerySchema,
    answers: { 200: htmlPage('The configuration form or the done page (which tells the host page, then closes).'), 303: backToHost },
  },
};
