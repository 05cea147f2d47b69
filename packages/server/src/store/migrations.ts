import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';

/**
 * Migrations in code (not files on disk) so the compiled server carries them. Each one uses only
 * portable Kysely schema builders so SQLite and PostgreSQL end with the same schema.
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('server_secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('access_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('inactive_at', 'text')
        .addColumn('last_authenticated_at', 'text')
        .execute();

      await db.schema
        .createTable('auth_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('key_prefix', 'text')
        .addColumn('client_ip', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .execute();

      await db.schema
        .createTable('connectors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('client_secret_ciphertext', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('connections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('credentials_ciphertext', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('connections_tenant').on('connections').columns(['tenant_id', 'connector_id']).execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('integration_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('redirect_url', 'text')
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('opener_origin', 'text')
        .addColumn('mode', 'text')
        .addColumn('oauth_state_hash', 'text', (c) => c.unique())
        .addColumn('pkce_verifier_ciphertext', 'text')
        .addColumn('connection_id', 'text')
        .addColumn('config', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('install_id', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('installs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('integration_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        // One install per session: the unique index is what makes commit idempotent under races.
        .addColumn('session_id', 'text', (c) => c.notNull().unique())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('connection_ids', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema.createIndex('installs_tenant').on('installs').columns(['integration_id', 'tenant_id']).execute();

      await db.schema
        .createTable('install_tags')
        .addColumn('install_id', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('install_tags_pk', ['install_id', 'tag_key'])
        .execute();
      await db.schema.createIndex('install_tags_lookup').on('install_tags').columns(['tag_key', 'tag_value', 'install_id']).execute();
    },
  },
  '0002_key_management': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('access_keys').addColumn('description', 'text').execute();
      await db.schema.alterTable('access_keys').addColumn('ip_allowlist', 'text').execute();
      await db.schema.alterTable('access_keys').addColumn('rolled_from', 'text').execute();
      await db.schema.createIndex('auth_events_key').on('auth_events').columns(['key_id', 'at']).execute();

      await db.schema
        .createTable('audit_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_entries_target').on('audit_entries').columns(['target_type', 'target_id']).execute();

      // Fixed-window counters shared by every server instance (one row per bucket and window).
      await db.schema
        .createTable('rate_limits')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('window_start', 'text', (c) => c.notNull())
        .addColumn('hits', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('rate_limits_pk', ['bucket', 'window_start'])
        .execute();
    },
  },
  '0003_connections': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('connections').addColumn('label', 'text').execute();
      await db.schema
        .alterTable('connections')
        .addColumn('auth_method', 'text', (c) => c.notNull().defaultTo('oauth2'))
        .execute();
      // A refresh lease: whichever instance holds it refreshes; the others wait and re-read.
      await db.schema.alterTable('connections').addColumn('refresh_lease_until', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('connector_id', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('auth_method', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('reauth_connection_id', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('connection_label', 'text').execute();
    },
  },
  '0004_partners_events': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('partners')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_name', 'text', (c) => c.notNull())
        .addColumn('app_description', 'text', (c) => c.notNull())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('subscriptions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('partner_links')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
        .addColumn('code_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('portal_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('partner_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_authenticated_at', 'text')
        .execute();
      await db.schema.createIndex('partner_keys_partner').on('partner_keys').columns(['partner_id', 'environment']).execute();
      await db.schema
        .createTable('topic_grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('can_send', 'integer', (c) => c.notNull())
        .addColumn('can_receive', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('topic_grants_unique', ['partner_id', 'pattern', 'environment'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('publisher', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_topic').on('events').columns(['topic', 'seq']).execute();
    },
  },
  '0005_session_requested_connector': {
    async up(db: Kysely<unknown>) {
      // The connector the host limited a session to: `connector_id` becomes the one chosen at
      // start, so it no longer tells whether the session may show the integration's others.
      await db.schema.alterTable('sessions').addColumn('requested_connector', 'text').execute();
      // Sessions not started yet still hold the host's choice; others show every connector.
      await (db as Kysely<{ sessions: { requested_connector: string | null; connector_id: string | null; status: string } }>)
        .updateTable('sessions')
        .set((eb) => ({ requested_connector: eb.ref('connector_id') }))
        .where('status', '=', 'created')
        .execute();
    },
  },
  '0006_integrations': {
    async up(db: Kysely<unknown>) {
      // Integrations managed at runtime, beside the ones the config file declares (`source`).
      await db.schema
        .createTable('integrations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0007_audit_filters': {
    async up(db: Kysely<unknown>) {
      // The credential an actor acted through (a tenant's session id), when the actor alone does not say.
      await db.schema.alterTable('audit_entries').addColumn('via', 'text').execute();
      // GET /v1/audit pages newest first (by id) within an actor, an action (or action prefix) or a time range.
      await db.schema.createIndex('audit_entries_actor').on('audit_entries').columns(['actor', 'id']).execute();
      await db.schema.createIndex('audit_entries_action').on('audit_entries').columns(['action', 'id']).execute();
      await db.schema.createIndex('audit_entries_at').on('audit_entries').columns(['at']).execute();
    },
  },
  '0008_webhook_events': {
    async up(db: Kysely<unknown>) {
      // The outbox: a lifecycle event is written in the transaction of the change it describes.
      await db.schema
        .createTable('webhook_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0009_webhooks': {
    async up(db: Kysely<unknown>) {
      // Endpoints; secrets are keyring ciphertexts. A rotated-out secret keeps signing until its grace ends.
      await db.schema
        .createTable('webhook_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('previous_secret_ciphertext', 'text')
        .addColumn('previous_secret_until', 'text')
        .addColumn('failing_since', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // One row per event and endpoint; `claimed_until` is the lease a dispatcher holds while it sends.
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('claimed_until', 'text')
        .addColumn('claim_token', 'text')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_duration_ms', 'integer')
        .addColumn('last_response', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
    },
  },
  '0010_connection_health': {
    async up(db: Kysely<unknown>) {
      // What the health scheduler learnt (connections/health-check.ts), and when it looks next:
      // a tick is one indexed range read on next_check_at, never a scan of every connection.
      for (const column of ['needs_reauth_reason', 'last_refreshed_at', 'last_verified_at', 'last_error', 'next_check_at']) {
        await db.schema.alterTable('connections').addColumn(column, 'text').execute();
      }
      await db.schema.createIndex('connections_next_check').on('connections').column('next_check_at').execute();
      // Connections made before the scheduler existed are looked at once, then scheduled by what they hold.
      await (db as Kysely<{ connections: { next_check_at: string | null; status: string } }>)
        .updateTable('connections')
        .set({ next_check_at: new Date().toISOString() })
        .where('status', '!=', 'revoked')
        .execute();
      // The request log: the last upstream calls made with each connection (connections/request-log.ts).
      await db.schema
        .createTable('connection_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('connection_id', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('connection_requests_connection').on('connection_requests').columns(['connection_id', 'id']).execute();
      await db.schema.createIndex('connection_requests_at').on('connection_requests').column('at').execute();
    },
  },
};

class InCodeMigrations implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

export async function migrateToLatest<Database>(db: Kysely<Database>, schema?: string): Promise<string[]> {
  // With a schema, the migration tables live in it too (Kysely would otherwise look them up in public).
  const migrator = new Migrator({ db, provider: new InCodeMigrations(), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The migrations this code knows that the database has not applied (readiness fails while any is pending). */
export async function pendingMigrations<Database>(db: Kysely<Database>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations(), ...(schema ? { migrationTableSchema: schema } : {}) });
  return (await migrator.getMigrations()).filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}
