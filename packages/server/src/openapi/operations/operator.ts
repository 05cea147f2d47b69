/** The operator's resources: connectors, connections, keys and the audit trail; health, metrics and this reference. */
import { connectionIdSchema } from '@patchbay/contract';
import { z } from 'zod';
import { auditPageSchema, listAuditSchema } from '../../audit/schema.js';
import { listQuerySchema as connectionListQuerySchema } from '../../connections/routes.js';
import { connectionPageSchema, connectionRequestPageSchema, connectionRequestsQuerySchema, connectionViewSchema } from '../../connections/schema.js';
import { listQuerySchema as connectorListQuerySchema, testActionSchema } from '../../connectors/routes.js';
import {
  actionTestAnswerSchema,
  connectorPageSchema,
  connectorViewSchema,
  createConnectorSchema,
  deletedConnectorSchema,
  updateConnectorSchema,
} from '../../connectors/schema.js';
import { healthAnswerSchema } from '../../health/schema.js';
import { deleteQuerySchema } from '../../integrations/schema.js';
import {
  accessKeySchema,
  authEventPageSchema,
  createdKeySchema,
  createKeySchema,
  issueTokenSchema,
  keyPageSchema,
  listAuthEventsSchema,
  listKeysSchema,
  rolledKeySchema,
  rollKeySchema,
  tokenAnswerSchema,
  updateKeySchema,
  whoamiSchema,
} from '../../keys/schema.js';
import type { OperationDoc } from '../operation.js';
import { UPSTREAM_ERRORS } from './shared.js';

const connection = { connectionId: connectionIdSchema };
const admin = { auth: ['accessKey'], scope: 'admin' } as const;

export const OPERATOR_OPERATIONS: Record<string, OperationDoc> = {
  ['GET /healthz']: { summary: 'Liveness', tag: 'Operations', answers: { 200: healthAnswerSchema } },
  ['GET /readyz']: {
    summary: 'Readiness',
    description: 'Ready means the database answers and holds every migration this code needs.',
    tag: 'Operations',
    answers: { 200: healthAnswerSchema },
    errors: { 503: ['migrations_pending'] },
  },
  ['GET /metrics']: {
    summary: 'Prometheus metrics',
    description: 'Also served on a listener of its own when `metricsListen` is set.',
    tag: 'Operations',
    auth: ['accessKey'],
    scope: 'metrics:read',
    answers: { 200: { mediaType: 'text/plain', description: 'The Prometheus text format.' } },
  },
  ['GET /partner']: {
    summary: 'The partner’s page (browser)',
    description: 'Where a partner link leads: `<partner-onboarding>` redeems the code from the URL fragment.',
    tag: 'Pages',
    answers: { 200: { mediaType: 'text/html', description: 'The page.' } },
  },

  ['GET /v1/connectors']: {
    summary: 'List connectors',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:read',
    query: connectorListQuerySchema,
    answers: { 200: connectorPageSchema },
  },
  ['POST /v1/connectors']: {
    summary: 'Create a connector',
    description: 'The slug is derived from the name unless given. An oauth2 client secret is stored encrypted and never shown again.',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:write',
    body: createConnectorSchema,
    answers: { 201: connectorViewSchema },
    errors: { 409: ['slug_unavailable'] },
  },
  ['GET /v1/connectors/:slug']: {
    summary: 'Read a connector',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:read',
    answers: { 200: connectorViewSchema },
    errors: { 404: ['connector_not_found'] },
  },
  ['PATCH /v1/connectors/:slug']: {
    summary: 'Change a connector',
    description:
      'Only one made through the API (`source: "api"`); a file connector is changed in the declarations file. What is sent replaces what was stored; an oauth2 method sent without `clientSecret` keeps the stored one. Connections whose auth method is removed become `needs_reauth`. A connector offered in an integration cannot be made private.',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:write',
    body: updateConnectorSchema,
    answers: { 200: connectorViewSchema },
    errors: { 404: ['connector_not_found'], 409: ['managed_by_file'] },
  },
  ['DELETE /v1/connectors/:slug']: {
    summary: 'Delete a connector',
    description:
      'Only one made through the API, and never while an integration offers it (`connector_offered`). With connections left, only `?force=true` deletes it, revoking them (`connector_in_use` otherwise).',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:write',
    query: deleteQuerySchema,
    answers: { 200: deletedConnectorSchema },
    errors: { 404: ['connector_not_found'], 409: ['managed_by_file', 'connector_offered', 'connector_in_use'] },
  },
  ['POST /v1/connectors/:slug/actions/:action/test']: {
    summary: 'Test an action with a connection',
    description: 'Runs the action and shows what the third party answered, every form of the connection’s secrets masked.',
    tag: 'Connectors',
    auth: ['accessKey'],
    scope: 'connectors:write',
    body: testActionSchema,
    answers: { 200: actionTestAnswerSchema },
    errors: {
      ...UPSTREAM_ERRORS,
      400: ['connection_not_found', ...UPSTREAM_ERRORS[400]],
      403: ['tenant_forbidden'],
      404: ['connector_not_found', 'action_not_found'],
    },
  },

  ['GET /v1/connections']: {
    summary: 'List connections',
    description: 'A key restricted to a tenant lists that tenant’s connections only.',
    tag: 'Connections',
    auth: ['accessKey'],
    scope: 'installs:read',
    query: connectionListQuerySchema,
    answers: { 200: connectionPageSchema },
  },
  ['GET /v1/connections/:connectionId']: {
    summary: 'Read a connection',
    description:
      'With its health — the one the widget shows and the webhooks announce: `active`, `expiring`, `needs_reauth` (with `healthReason`) or `revoked` — and what the health scheduler last saw (`lastRefreshedAt`, `lastVerifiedAt`, `lastError`).',
    tag: 'Connections',
    auth: ['accessKey'],
    scope: 'installs:read',
    answers: { 200: connectionViewSchema },
    errors: { 403: ['tenant_forbidden'], 404: ['connection_not_found'] },
  },
  ['GET /v1/connections/:connectionId/requests']: {
    summary: 'List the upstream calls made with a connection',
    description:
      'The last calls (newest first) the proxy, actions and verifications made with the connection: method, path with query keys but never their values, status (null when the third party did not answer), duration. `PATCHBAY_REQUEST_LOG_SIZE` calls are kept per connection, for `PATCHBAY_REQUEST_LOG_DAYS` days; calls appear within a second.',
    tag: 'Connections',
    auth: ['accessKey'],
    scope: 'installs:read',
    params: connection,
    query: connectionRequestsQuerySchema,
    answers: { 200: connectionRequestPageSchema },
    errors: { 403: ['tenant_forbidden'], 404: ['connection_not_found'] },
  },
  ['DELETE /v1/connections/:connectionId']: {
    summary: 'Revoke a connection',
    description: 'The row stays (installs and the audit trail point at it); the credentials are erased.',
    tag: 'Connections',
    auth: ['accessKey'],
    scope: 'installs:write',
    answers: { 200: connectionViewSchema },
    errors: { 403: ['tenant_forbidden'], 404: ['connection_not_found'] },
  },
  ['* /v1/connections/:connectionId/proxy/{*rest}']: {
    summary: 'Proxy a call to the connector’s API',
    description:
      'Forwards the request to `{baseUrl}/{rest}` with the connection’s credentials applied; `rest` may hold several segments. Nothing outside the connector’s base URL is reachable. The answer is the third party’s own (status, body and a few headers); errors of Patchbay itself use the error envelope.',
    tag: 'Connections',
    auth: ['accessKey'],
    scope: 'installs:write',
    params: connection,
    body: z.unknown(),
    answers: { 200: { mediaType: '*/*', description: 'The third party’s answer, passed through.' } },
    otherwise: { mediaType: '*/*', description: 'The third party’s answer with its own status (a redirect, a refusal, …), passed through.' },
    errors: { ...UPSTREAM_ERRORS, 403: ['tenant_forbidden'], 404: ['connection_not_found', 'connector_not_found'], 405: ['method_not_allowed'] },
  },

  ['POST /v1/keys']: {
    summary: 'Create an access key',
    description: 'The secret (`key`) is in this answer only.',
    tag: 'Keys',
    ...admin,
    body: createKeySchema,
    answers: { 201: createdKeySchema },
    errors: { 409: ['name_taken'] },
  },
  ['GET /v1/keys']: { summary: 'List access keys', tag: 'Keys', ...admin, query: listKeysSchema, answers: { 200: keyPageSchema } },
  ['GET /v1/keys/:keyId']: { summary: 'Read an access key', tag: 'Keys', ...admin, answers: { 200: accessKeySchema }, errors: { 404: ['key_not_found'] } },
  ['PATCH /v1/keys/:keyId']: {
    summary: 'Change an access key',
    tag: 'Keys',
    ...admin,
    description: 'A key’s tenant is fixed once set: a key made without a tenant may be narrowed to one, once (`tenant_immutable` otherwise).',
    body: updateKeySchema,
    answers: { 200: accessKeySchema },
    errors: { 400: ['tenant_immutable'], 404: ['key_not_found'] },
  },
  ['POST /v1/keys/:keyId/inactivate']: {
    summary: 'Inactivate an access key',
    description: 'Keys are never deleted; an inactive key is refused with `key_inactive`.',
    tag: 'Keys',
    ...admin,
    answers: { 200: accessKeySchema },
    errors: { 404: ['key_not_found'] },
  },
  ['POST /v1/keys/:keyId/reactivate']: {
    summary: 'Reactivate an access key',
    tag: 'Keys',
    ...admin,
    answers: { 200: accessKeySchema },
    errors: { 404: ['key_not_found'] },
  },
  ['POST /v1/keys/:keyId/roll']: {
    summary: 'Roll an access key',
    description: 'A new key with the same settings; the old one keeps working for the grace period.',
    tag: 'Keys',
    ...admin,
    body: rollKeySchema,
    answers: { 201: rolledKeySchema },
    errors: { 404: ['key_not_found'], 409: ['key_inactive', 'key_expired'] },
  },
  ['GET /v1/auth-events']: {
    summary: 'List auth events',
    description: 'Every authentication attempt, success or failure with its reason.',
    tag: 'Keys',
    ...admin,
    query: listAuthEventsSchema,
    answers: { 200: authEventPageSchema },
  },
  ['GET /v1/audit']: {
    summary: 'List audit entries',
    description:
      'Every change, newest first: who made it (`actor`, and `via` the session a tenant acted through), what it changed (`details.changes`: each field before and after), never a secret. Filters combine.',
    tag: 'Keys',
    ...admin,
    query: listAuditSchema,
    answers: { 200: auditPageSchema },
  },
  ['POST /v1/tokens']: {
    summary: 'Exchange an access key for a short-lived token',
    description: 'A JWT with the key’s scopes or fewer; only an access key itself (not a token) can be exchanged.',
    tag: 'Keys',
    auth: ['accessKey'],
    body: issueTokenSchema,
    answers: { 201: tokenAnswerSchema },
  },
  ['GET /v1/whoami']: { summary: 'Who the presented key is', tag: 'Keys', auth: ['accessKey'], answers: { 200: whoamiSchema } },

  ['GET /openapi.json']: {
    summary: 'This document',
    tag: 'Operations',
    answers: { 200: { mediaType: 'application/json', description: 'The OpenAPI 3.1 document, generated from the zod schemas that validate requests.' } },
  },
  ['GET /docs']: {
    summary: 'This reference, for people',
    tag: 'Operations',
    answers: { 200: { mediaType: 'text/html', description: 'The reference page (Redoc), served with its bundle; works offline.' } },
  },
  ['GET /docs/redoc.standalone.js']: {
    summary: 'The reference page’s renderer',
    tag: 'Operations',
    answers: { 200: { mediaType: 'text/javascript', description: 'Redoc’s standalone bundle, from the server’s own dependencies.' } },
  },
};
