import type { Kysely } from 'kysely';
import type { Keyring } from '../crypto/envelope.js';
import type { Declarations } from '../declarations.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import type { z } from 'zod';
import type { AuthMethod, ConnectorDeclaration, connectorViewSchema, publicAuthMethodSchema } from './schema.js';
import {
  type Integration,
  type IntegrationDeclaration,
  readIntegration,
  readIntegrations,
  syncFileIntegrations,
  writeIntegration,
} from '../integrations/store.js';

export type { Integration } from '../integrations/store.js';

/** Where a catalog entry comes from: the config file (read-only through the API) or the API. */
export type CatalogSource = Connector['source'];

/** An auth method as the rest of the server sees it: an oauth2 client secret is never in memory or answers. */
export type PublicAuthMethod = z.output<typeof publicAuthMethodSchema>;
export type PublicOAuth2Method = Extract<PublicAuthMethod, { type: 'oauth2' }>;
export type Connector = z.output<typeof connectorViewSchema>;

export interface SaveOptions {
  /** A transaction to write in; the caller refreshes the catalog once it has ended. */
  db?: Kysely<Database>;
  /** Keeps the stored oauth2 client secret when the declaration carries none (a PATCH without one). */
  keepClientSecret?: boolean;
}

export interface Catalog {
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Integrations, secret-free, from the file and the API; re-read from the store on demand. */
  readonly integrations: ReadonlyMap<string, Integration>;
  /** The config file that manages `source: "file"` entries, for messages. */
  readonly fileName: string;
  /** Decrypts the connector's OAuth client secret from the store when a token request needs it. */
  clientSecret(slug: string): Promise<string | undefined>;
  /** Stores a connector (new or changed) and makes it visible at once on this instance. */
  save(declaration: ConnectorDeclaration, source: CatalogSource, options?: SaveOptions): Promise<Connector>;
  /**
   * Stores a new connector only if its slug is free, atomically in the store (two instances, or
   * two requests, may pick the same slug at once); null when the slug was taken meanwhile.
   */
  insert(declaration: ConnectorDeclaration, source: CatalogSource): Promise<Connector | null>;
  /** Re-reads connectors from the store (another instance may have added, changed or deleted one). */
  refresh(): Promise<void>;
  /** Stores an integration; with `insert`, only if its id is free (null when it was taken). */
  saveIntegration(
    declaration: IntegrationDeclaration,
    source: CatalogSource,
    options?: { db?: Kysely<Database>; insert?: boolean },
  ): Promise<Integration | null>;
  /**
   * Runs one change of the catalog in a store transaction (with its audit entry), then re-reads
   * both caches, so they match the store whether the change committed or not.
   */
  change<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Re-reads every integration from the store. */
  refreshIntegrations(): Promise<void>;
  /**
   * Re-reads one integration and its connectors from the store (another instance may have created,
   * changed or deleted them); undefined when it does not exist.
   */
  loadIntegration(id: string): Promise<Integration | undefined>;
}

/** What a connector's client secret is bound to (also used by master key rotation). */
export const clientSecretAad = (slug: string) => `connectors:${slug}:client_secret`;

export function oauthMethodOf(connector: Connector): PublicOAuth2Method | undefined {
  return connector.authMethods.find((method): method is PublicOAuth2Method => method.type === 'oauth2');
}

/** The declaration a stored connector was made from, without its client secret (kept in the store). */
export function declarationOf(connector: Connector): ConnectorDeclaration {
  const { source: _source, createdAt: _createdAt, updatedAt: _updatedAt, authMethods, ...rest } = connector;
  return {
    ...rest,
    authMethods: authMethods.map((method): AuthMethod => {
      if (method.type !== 'oauth2') return method;
      const { hasClientSecret: _has, ...oauth } = method;
      return oauth;
    }),
  };
}

/** A stored definition; rows written before `file` was the word say `declarations`. */
function parseConnector(definition: string): Connector {
  const connector = JSON.parse(definition) as Omit<Connector, 'source'> & { source: string };
  return { ...connector, source: connector.source === 'api' ? 'api' : 'file' };
}

/**
 * Connectors and integrations live in the store, a connector's OAuth client secret encrypted
 * (AES-256-GCM, AAD bound to the connector); this process keeps secret-free copies. What the
 * config file declares is written at start-up with `source: "file"`.
 */
export async function loadCatalog(store: Store, keyring: Keyring, declarations: Declarations, fileName = 'the config file'): Promise<Catalog> {
  const connectors = new Map<string, Connector>();
  const integrations = new Map<string, Integration>();

  async function write(declaration: ConnectorDeclaration, source: CatalogSource, overwrite: boolean, options: SaveOptions): Promise<Connector | null> {
    const db = options.db ?? store.db;
    let secret: string | undefined;
    const authMethods = declaration.authMethods.map((method): PublicAuthMethod => {
      if (method.type !== 'oauth2') return method;
      const { clientSecret, ...rest } = method;
      secret = typeof clientSecret === 'string' ? clientSecret : undefined;
      return { ...rest, hasClientSecret: secret !== undefined };
    });
    const now = isoNow();
    const existing = await db.selectFrom('connectors').select(['definition', 'client_secret_ciphertext']).where('id', '=', declaration.slug).executeTakeFirst();
    const createdAt = existing ? (parseConnector(existing.definition).createdAt ?? now) : now;
    let ciphertext = secret === undefined ? null : keyring.encrypt(secret, clientSecretAad(declaration.slug));
    const keptOAuth = authMethods.find((method): method is PublicOAuth2Method => method.type === 'oauth2');
    if (ciphertext === null && options.keepClientSecret && keptOAuth && existing?.client_secret_ciphertext) {
      ciphertext = existing.client_secret_ciphertext;
      keptOAuth.hasClientSecret = true;
    }
    const connector: Connector = { ...declaration, authMethods, source, createdAt, updatedAt: now };
    const row = {
      id: declaration.slug,
      slug: declaration.slug,
      name: declaration.name,
      definition: JSON.stringify(connector),
      client_secret_ciphertext: ciphertext,
      updated_at: now,
    };
    const result = await db
      .insertInto('connectors')
      .values(row)
      .onConflict((oc) =>
        overwrite
          ? oc
              .column('id')
              .doUpdateSet({ name: row.name, definition: row.definition, client_secret_ciphertext: row.client_secret_ciphertext, updated_at: row.updated_at })
          : oc.column('id').doNothing(),
      )
      .executeTakeFirst();
    if (!overwrite && Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return null;
    connectors.set(connector.slug, connector);
    return connector;
  }

  async function refresh(): Promise<void> {
    const rows = await store.db.selectFrom('connectors').select(['slug', 'definition']).execute();
    // Replaced in one step, so a connector deleted elsewhere disappears here too.
    const fresh = new Map(rows.map((row) => [row.slug, parseConnector(row.definition)]));
    connectors.clear();
    for (const [slug, connector] of fresh) connectors.set(slug, connector);
  }

  async function refreshIntegrations(): Promise<void> {
    const fresh = await readIntegrations(store.db);
    integrations.clear();
    for (const integration of fresh) integrations.set(integration.id, integration);
  }

  for (const declaration of declarations.connectors) await write(declaration, 'file', true, {});
  await syncFileIntegrations(store.db, declarations.integrations);
  await refresh();
  await refreshIntegrations();

  return {
    connectors,
    integrations,
    fileName,
    save: async (declaration, source, options = {}) => (await write(declaration, source, true, options))!,
    insert: (declaration, source) => write(declaration, source, false, {}),
    refresh,
    async saveIntegration(declaration, source, options = {}) {
      const saved = await writeIntegration(options.db ?? store.db, declaration, source, !options.insert);
      if (saved) integrations.set(saved.id, saved);
      return saved;
    },
    refreshIntegrations,
    async change(work) {
      try {
        return await store.db.transaction().execute(work);
      } finally {
        await Promise.all([refresh(), refreshIntegrations()]);
      }
    },
    async loadIntegration(id) {
      const integration = await readIntegration(store.db, id);
      if (!integration) {
        integrations.delete(id);
        return undefined;
      }
      integrations.set(id, integration);
      const rows = await store.db.selectFrom('connectors').select(['slug', 'definition']).where('slug', 'in', integration.connectors).execute();
      for (const row of rows) connectors.set(row.slug, parseConnector(row.definition));
      return integration;
    },
    async clientSecret(slug) {
      const row = await store.db.selectFrom('connectors').select('client_secret_ciphertext').where('id', '=', slug).executeTakeFirst();
      if (!row?.client_secret_ciphertext) return undefined;
      return keyring.decrypt(row.client_secret_ciphertext, clientSecretAad(slug));
    },
  };
}
