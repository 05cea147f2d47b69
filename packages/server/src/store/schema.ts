/**
 * Table types for Kysely. Portable on purpose: text ids, ISO-8601 UTC timestamps as text (they
 * sort correctly as strings), JSON as text. No dialect-specific column types.
 */
export interface AccessKeysTable {
  id: string;
  name: string;
  key_prefix: string;
  secret_hash: string;
  scopes: string;
  tenant_id: string | null;
  created_at: string;
  expires_at: string | null;
  inactive_at: string | null;
  last_authenticated_at: string | null;
  description: string | null;
  /** JSON array of CIDR ranges, or null for any address. */
  ip_allowlist: string | null;
  /** The key this one replaced in a rollover. */
  rolled_from: string | null;
}

export interface AuditEntriesTable {
  id: string;
  at: string;
  /**
   * Who: an access key id (`key_…`), `cli` (the operator's terminal), `tenant:<tenantId>` (a person
   * through a session), `partner:<partnerId>`, or `system` (the server itself, e.g. a failed refresh).
   */
  actor: string;
  /** What the actor acted through when the actor alone does not say (a tenant's session id); null otherwise. */
  via: string | null;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
}

export interface RateLimitsTable {
  bucket: string;
  window_start: string;
  hits: number;
}

export interface AuthEventsTable {
  id: string;
  at: string;
  key_id: string | null;
  key_prefix: string | null;
  client_ip: string | null;
  method: string;
  path: string;
  outcome: 'success' | 'failure';
  reason: string | null;
}

export interface ServerSecretsTable {
  name: string;
  ciphertext: string;
  created_at: string;
}

export interface ConnectorsTable {
  id: string;
  slug: string;
  name: string;
  definition: string;
  client_secret_ciphertext: string | null;
  updated_at: string;
}

export interface IntegrationsTable {
  id: string;
  name: string;
  source: 'file' | 'api';
  /** The integration declaration as JSON (it holds no secret). */
  definition: string;
  created_at: string;
  updated_at: string;
}

export interface ConnectionsTable {
  id: string;
  connector_id: string;
  tenant_id: string;
  status: 'active' | 'needs_reauth' | 'revoked';
  credentials_ciphertext: string;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  label: string | null;
  auth_method: string;
  refresh_lease_until: string | null;
  /** Why the connection needs the person again (connections/health.ts `HealthReason`); null while it works. */
  needs_reauth_reason: string | null;
  last_refreshed_at: string | null;
  last_verified_at: string | null;
  /** The last failed refresh or verification: `code: message`, written by the server (never an upstream body). */
  last_error: string | null;
  /** When the health scheduler looks at the connection next; null: never (revoked, or nothing can change). */
  next_check_at: string | null;
}

export interface ConnectionRequestsTable {
  /** Sortable: newest last. */
  id: string;
  connection_id: string;
  method: string;
  /** The upstream path with query keys only, never their values. */
  path: string;
  /** The upstream's status, or null when it did not answer (timeout, unreachable). */
  status: number | null;
  duration_ms: number;
  at: string;
}

export type SessionStatus = 'created' | 'started' | 'configuring' | 'authorized' | 'cancelled' | 'failed' | 'committed';

export interface SessionsTable {
  id: string;
  integration_id: string;
  tenant_id: string;
  tags: string;
  redirect_url: string | null;
  token_hash: string;
  status: SessionStatus;
  opener_origin: string | null;
  mode: 'popup' | 'page' | null;
  oauth_state_hash: string | null;
  pkce_verifier_ciphertext: string | null;
  connection_id: string | null;
  config: string | null;
  error_code: string | null;
  error_message: string | null;
  install_id: string | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
  connector_id: string | null;
  auth_method: string | null;
  /** Set when the session re-authorizes an existing connection (its credentials are replaced in place). */
  reauth_connection_id: string | null;
  connection_label: string | null;
  /** The connector the host limited the session to at creation (or the one being re-authorized); null: any of the integration's. */
  requested_connector: string | null;
}

export type InstallStatus = 'pending' | 'success' | 'failed';

export interface InstallsTable {
  id: string;
  integration_id: string;
  tenant_id: string;
  session_id: string;
  tags: string;
  connection_ids: string;
  config: string;
  status: InstallStatus;
  status_message: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface InstallTagsTable {
  install_id: string;
  tag_key: string;
  tag_value: string;
}

export interface PartnersTable {
  id: string;
  app_name: string;
  app_description: string;
  contact: string;
  /** JSON: color, icon, tags, owner, SLA, support routing — whatever the workspace attached. */
  metadata: string;
  status: 'invited' | 'active' | 'suspended';
  /** JSON `{publish: string[], consume: string[]}`: what the partner chose within its grants. */
  subscriptions: string;
  created_at: string;
  updated_at: string;
}

export interface PartnerLinksTable {
  id: string;
  partner_id: string;
  code_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
}

export interface PortalSessionsTable {
  id: string;
  partner_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
}

export interface PartnerKeysTable {
  id: string;
  partner_id: string;
  environment: 'dev' | 'stage' | 'prod';
  key_prefix: string;
  secret_hash: string;
  created_at: string;
  /** Set on a rotated key: it keeps working until then (the grace period). */
  expires_at: string | null;
  last_authenticated_at: string | null;
}

export interface TopicGrantsTable {
  id: string;
  partner_id: string;
  /** A topic or a pattern (`app/order/*`; `*` stands for one segment). */
  pattern: string;
  /** `dev`, `stage`, `prod`, or `*` for every environment. */
  environment: string;
  can_send: number;
  can_receive: number;
  created_at: string;
}

export interface EventsTable {
  /** The cursor: gapless and in commit order (appends are serialized), so a resume never skips. */
  seq: number;
  id: string;
  topic: string;
  payload: string;
  publisher: string;
  created_at: string;
}

export interface WebhookEventsTable {
  /** The Standard Webhooks message id (`webhook-id`): the same on every attempt and every endpoint. */
  id: string;
  type: string;
  created_at: string;
  /** The resource as the API shows it, as JSON (never a credential). */
  data: string;
}

export interface WebhookEndpointsTable {
  id: string;
  url: string;
  description: string;
  /** The subscribed event types, as a JSON array. */
  events: string;
  enabled: number;
  /** Why it was disabled: `operator`, or `failing` when the dispatcher gave up on it. */
  disabled_reason: string | null;
  secret_ciphertext: string;
  /** The secret before the last rotation: it signs too until `previous_secret_until`. */
  previous_secret_ciphertext: string | null;
  previous_secret_until: string | null;
  /** When its current run of failed attempts began (null after any success). */
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  /** A dispatcher's lease on the delivery while it sends (another may take it once this passes). */
  claimed_until: string | null;
  claim_token: string | null;
  last_status_code: number | null;
  last_duration_ms: number | null;
  /** The start of the endpoint's last answer (at most 1 KB). */
  last_response: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  access_keys: AccessKeysTable;
  auth_events: AuthEventsTable;
  server_secrets: ServerSecretsTable;
  connectors: ConnectorsTable;
  connections: ConnectionsTable;
  integrations: IntegrationsTable;
  sessions: SessionsTable;
  installs: InstallsTable;
  install_tags: InstallTagsTable;
  audit_entries: AuditEntriesTable;
  rate_limits: RateLimitsTable;
  partners: PartnersTable;
  partner_links: PartnerLinksTable;
  portal_sessions: PortalSessionsTable;
  partner_keys: PartnerKeysTable;
  topic_grants: TopicGrantsTable;
  events: EventsTable;
  webhook_events: WebhookEventsTable;
  connection_requests: ConnectionRequestsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}
