import type { Keyring } from '../crypto/envelope.js';
import type { Declarations } from '../declarations.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import type { z } from 'zod';
import type { ConnectorDeclaration, connectorViewSchema, publicAuthMethodSchema } from './schema.js';
import type { IntegrationDeclaration } from '../integrations/schema.js';

/** An auth method as the rest of the server sees it: an oauth2 client secret is never in memory or answers. */
export type PublicAuthMethod = z.output<typeof publicAuthMethodSchema>;
export type PublicOAuth2Method = Extract<PublicAuthMethod, { type: 'oauth2' }>;
export type Connector = z.output<typeof connectorViewSchema>;
export type Integration = IntegrationDeclaration;

export interface Catalog {
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly integrations: ReadonlyMap<string, Integration>;
  /** Decrypts the connector's OAuth client secret from the store when a token request needs it. */
  clientSecret(slug: string): Promise<string | undefined>;
  /** Stores a connector (new or changed) and makes it visible at once on this instance. */
  save(declaration: ConnectorDeclaration, source: 'declarations' | 'api'): Promise<Connector>;
  /**
   * Stores a new connector only if its slug is free, atomically in the store (two instances, or
   * two requests, may pick the same slug at once); null when the slug was taken meanwhile.
   */
  insert(declaration: ConnectorDeclaration, source: 'declarations' | 'api'): Promise<Connector | null>;
  /** Re-reads connectors from the store (another instance may have added one). */
  refresh(): Promise<void>;
}

/** What a connector's client secret is bound to (also used by master key rotation). */
export const clientSecretAad = (slug: string) => `connectors:${slug}:client_secret`;

export function oauthMethodOf(connector: Connector): PublicOAuth2Method | undefined {
  return connector.authMethods.find((method): method is PublicOAuth2Method => method.type === 'oauth2');
}

/**
 * Connectors live in the store, their OAuth client secret encrypted (AES-256-GCM, AAD bound to the
 * connector); this process keeps secret-free copies. Declared connectors are written at start-up.
 */
export async function loadCatalog(store: Store, keyring: Keyring, declarations: Declarations): Promise<Catalog> {
  const connectors = new Map<string, Connector>();
  const integrations = new Map(declarations.integrations.map((integration) => [integration.id, integration]));

  async function write(declaration: ConnectorDeclaration, source: 'declarations' | 'api', overwrite: boolean): Promise<Connector | null> {
    let secret: string | undefined;
    const authMethods = declaration.authMethods.map((method): PublicAuthMethod => {
      if (method.type !== 'oauth2') return method;
      const { clientSecret, ...rest } = method;
      secret = typeof clientSecret === 'string' ? clientSecret : undefined;
      return { ...rest, hasClientSecret: secret !== undefined };
    });
    const now = isoNow();
    const existing = await store.db.selectFrom('connectors').select('definition').where('id', '=', declaration.slug).executeTakeFirst();
    const createdAt = existing ? ((JSON.parse(existing.definition) as Connector).createdAt ?? now) : now;
    const connector: Connector = { ...declaration, authMethods, source, createdAt, updatedAt: now };
    const row = {
      id: declaration.slug,
      slug: declaration.slug,
      name: declaration.name,
      definition: JSON.stringify(connector),
      client_secret_ciphertext: secret === undefined ? null : keyring.encrypt(secret, clientSecretAad(declaration.slug)),
      updated_at: now,
    };
    const result = await store.db
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

  const save = async (declaration: ConnectorDeclaration, source: 'declarations' | 'api') => (await write(declaration, source, true))!;
  const insert = (declaration: ConnectorDeclaration, source: 'declarations' | 'api') => write(declaration, source, false);

  async function refresh(): Promise<void> {
    const rows = await store.db.selectFrom('connectors').select(['slug', 'definition']).execute();
    for (const row of rows) connectors.set(row.slug, JSON.parse(row.definition) as Connector);
  }

  for (const declaration of declarations.connectors) await save(declaration, 'declarations');
  await refresh();

  return {
    connectors,
    integrations,
    save,
    insert,
    refresh,
    async clientSecret(slug) {
      const row = await store.db.selectFrom('connectors').select('client_secret_ciphertext').where('id', '=', slug).executeTakeFirst();
      if (!row?.client_secret_ciphertext) return undefined;
      return keyring.decrypt(row.client_secret_ciphertext, clientSecretAad(slug));
    },
  };
}
