/**
 * The session flow of docs/flow.md on the wire: what the host's backend sends to make a session,
 * and what the widget reads with the session token (the session, the tenant's connectors, commit,
 * cancel, disconnect, the install).
 */
import { z } from 'zod';
import { listEnvelope } from './envelopes.js';
import { CONNECTION_ID } from './primitives.js';

const tagKey = z.string().min(1).max(128);
const tagValue = z.string().max(512);
export const TENANT_TAG = 'fusebit.tenantId';

/** `POST {integrationBaseUrl}/session` (access key): one tenant, from `tenantId` or the seed's tag. */
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
    connectionId: z.string().regex(CONNECTION_ID).optional(),
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
export type CreateSessionRequest = z.input<typeof createSessionSchema>;
export type CreateSessionInput = z.output<typeof createSessionSchema>;

/** The answer to creating a session: the token goes to the browser, the start URL to the popup. */
export const createSessionAnswerSchema = z.object({ id: z.string(), token: z.string(), startUrl: z.string(), expiresAt: z.string() });
export type CreateSessionAnswer = z.infer<typeof createSessionAnswerSchema>;

/** `GET …/session/{id}/start`: the query the widget puts on the popup's (or the page's) URL. */
export const startQuerySchema = z.object({
  mode: z.enum(['popup', 'page']).default('page'),
  origin: z.string().max(2048).optional(),
  connector: z.string().max(64).optional(),
  /** The auth method to use; without it, a connector offering several shows the choice first. */
  method: z.enum(['none', 'basic', 'bearer', 'apiKey', 'oauth2', 'custom']).optional(),
  /** Re-authorize this connection of the session's tenant (the picker's "Needs re-auth"). */
  reauth: z.string().regex(CONNECTION_ID).optional(),
});

/** The statuses a session is stored with; `expired` is reported, never stored. */
export const STORED_SESSION_STATUSES = ['created', 'started', 'configuring', 'authorized', 'cancelled', 'failed', 'committed'] as const;
export const sessionStatusSchema = z.enum([...STORED_SESSION_STATUSES, 'expired']);
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

/** `GET …/session/{id}`, and the answer of `POST …/session/{id}/cancel`. */
export const sessionViewSchema = z.object({
  id: z.string(),
  integrationId: z.string(),
  tenantId: z.string(),
  tags: z.record(z.string(), z.string()),
  /** `expired`: past `expiresAt` before it ended; reported, never stored (the row keeps its last status). */
  status: sessionStatusSchema,
  /** The connector chosen for this session, once known (the widget names it when it resumes). */
  connector: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  installId: z.string().nullable(),
  expiresAt: z.string(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

/** A connection's health: working, soon needing the person, or needing them now. */
export const connectionHealthSchema = z.enum(['active', 'expiring', 'needs_reauth']);
export type ConnectionHealth = z.infer<typeof connectionHealthSchema>;

/**
 * Why a connection needs the person again: the provider refused the refresh token (`invalid_grant`),
 * the credentials ran out with nothing to renew them (`expired`), the connector's verify action
 * refused typed-in credentials (`verification_failed`) or refused OAuth tokens that still refresh
 * (`revoked_upstream`: the person withdrew the app's access at the provider), or the connector no
 * longer offers the connection's auth method (`method_removed`).
 */
export const healthReasonSchema = z.enum(['invalid_grant', 'expired', 'verification_failed', 'revoked_upstream', 'method_removed']);
export type HealthReason = z.infer<typeof healthReasonSchema>;

/** The tenant's state for one connector, decided by its worst connection (docs/flow.md, section 5). */
export const connectorStateSchema = z.enum(['not_connected', 'connected', 'expiring', 'needs_reauth']);
export type ConnectorState = z.infer<typeof connectorStateSchema>;

/** One of the tenant's connections, as the session sees it. */
export const tenantConnectionSchema = z.object({
  id: z.string(),
  label: z.string().nullable(),
  status: connectionHealthSchema,
  /** Why it needs the person again (only with `needs_reauth`), else null. */
  reason: healthReasonSchema.nullable(),
  /** When the connection was made (ISO). */
  connectedAt: z.string(),
  /** When the credentials will need the person again (ISO), or null when nothing says they will. */
  expiresAt: z.string().nullable(),
});
export type TenantConnectionView = z.infer<typeof tenantConnectionSchema>;

/** One connector the session may connect, with this tenant's state for it. */
export const sessionConnectorSchema = z.object({
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  domain: z.string().nullable(),
  iconUrl: z.string().nullable(),
  /** The connector's auth methods (`oauth2`, `apiKey`, `basic`, `bearer`, `custom`, `none`), the default first. */
  methods: z.array(z.string()),
  state: connectorStateSchema,
  connections: z.array(tenantConnectionSchema),
});
export type SessionConnectorView = z.infer<typeof sessionConnectorSchema>;

/** `GET …/session/{id}/connectors`, and the answer of `DELETE …/session/{id}/connections/{connectionId}`. */
export const connectorsAnswerSchema = listEnvelope(sessionConnectorSchema);
export type ConnectorsAnswer = z.infer<typeof connectorsAnswerSchema>;

/** `POST …/session/{id}/commit`: where to poll the install (commit is idempotent per session). */
export const commitAnswerSchema = z.object({ targetUrl: z.string() });
export type CommitAnswer = z.infer<typeof commitAnswerSchema>;

export const installStatusSchema = z.enum(['pending', 'success', 'failed']);

/** `GET {integrationBaseUrl}/install/{id}` (the commit's `targetUrl`). */
export const installViewSchema = z.object({
  id: z.string(),
  integrationId: z.string(),
  tenantId: z.string(),
  tags: z.record(z.string(), z.string()),
  connectionIds: z.array(z.string()),
  config: z.record(z.string(), z.string()),
  operationState: z.object({ status: installStatusSchema, message: z.string().optional() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type InstallView = z.infer<typeof installViewSchema>;
export const installPageSchema = listEnvelope(installViewSchema);
export type InstallPage = z.infer<typeof installPageSchema>;
