import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import { HttpError, notFound } from '../http/errors.js';
import type { ConnectionsTable } from '../store/schema.js';
import { DecryptedCredentials } from './credential-cache.js';
import { recordRefreshed, recordRefreshFailed } from './health-record.js';
import { isInvalidGrant, type OAuthClients, openIdClient, providerError, type TokenSet, toTokenSet } from './oauth.js';
import { credentialsAad, decryptCredentials } from './credentials.js';
import { expiryOf } from './service.js';

const LEASE_MS = 30_000;
const LEASE_POLL_MS = 50;

/**
 * Hands out usable credentials for a connection, refreshing OAuth tokens first when they expire
 * within the configured margin. Refresh is single-flight per connection: within this process by a
 * shared promise, across processes by a lease row in the store; a waiter re-reads and uses what the
 * winner stored instead of spending an already rotated refresh token.
 */
export class CredentialBroker {
  readonly #inFlight = new Map<string, Promise<Credentials>>();
  readonly #decrypted = new DecryptedCredentials();

  constructor(
    private readonly deps: Pick<AppContext, 'config' | 'store' | 'keyring' | 'catalog' | 'customAuthMethods' | 'metrics' | 'connectionRows'>,
    private readonly oauth: OAuthClients,
  ) {}

  /** `row`: the connection as the caller has just read it (it is read here otherwise). */
  async credentials(
    connectionId: string,
    options: { forceRefresh?: boolean; row?: ConnectionsTable | undefined } = {},
  ): Promise<{ credentials: Credentials; row: ConnectionsTable }> {
    const row = options.row?.id === connectionId ? options.row : await this.#row(connectionId);
    if (row.status === 'revoked') {
      this.#decrypted.forget(connectionId);
      throw new HttpError(409, 'connection_revoked', 'The connection was revoked.');
    }
    if (row.status !== 'active') throw new HttpError(409, 'connection_needs_reauth', 'The connection must be authorized again.');
    const credentials = this.#decrypted.of(row, () => decryptCredentials(this.deps, row));
    // OAuth refreshes ahead of expiry; a custom method that can refresh does so only when the upstream said 401.
    const due =
      credentials.type === 'oauth2'
        ? this.#isDue(row.expires_at) || options.forceRefresh === true
        : credentials.type === 'custom' && options.forceRefresh === true && this.deps.customAuthMethods[credentials.handler]?.refresh !== undefined;
    if (!due) return { credentials, row };
    let pending = this.#inFlight.get(connectionId);
    if (!pending) {
      pending = this.#refreshUnlessDone(connectionId, JSON.stringify(credentials))
        .then(
          (refreshed) => {
            this.deps.metrics.tokenRefreshes.inc({ outcome: 'success' });
            return refreshed;
          },
          (error: unknown) => {
            const reauth = error instanceof HttpError && error.code === 'connection_needs_reauth';
            this.deps.metrics.tokenRefreshes.inc({ outcome: reauth ? 'needs_reauth' : 'failed' });
            throw error;
          },
        )
        .finally(() => this.#inFlight.delete(connectionId));
      this.#inFlight.set(connectionId, pending);
    }
    return { credentials: await pending, row };
  }

  /** Drops what this instance holds in memory for a connection (on revoke; other instances see the new version on their next read). */
  forget(connectionId: string): void {
    this.#decrypted.forget(connectionId);
    this.deps.connectionRows.forget(connectionId);
  }

  /** For callers that only need an OAuth access token. */
  async accessToken(connectionId: string, options: { forceRefresh?: boolean } = {}): Promise<string> {
    const { credentials } = await this.credentials(connectionId, options);
    if (credentials.type !== 'oauth2') throw new HttpError(409, 'method_not_supported', 'The connection does not use OAuth 2.0.');
    return credentials.tokens.accessToken;
  }

  #isDue(expiresAt: string | null): boolean {
    return expiresAt !== null && Date.parse(expiresAt) - this.deps.config.refreshMarginSeconds * 1000 <= Date.now();
  }

  async #row(connectionId: string): Promise<ConnectionsTable> {
    const row = await this.deps.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirst();
    if (!row) throw notFound('connection_not_found', 'No such connection.');
    return row;
  }

  /** `seen` is the credentials the caller found stale (as JSON): anything else stored meanwhile is a winner's work. */
  async #refreshUnlessDone(connectionId: string, seen: string): Promise<Credentials> {
    const deadline = Date.now() + LEASE_MS * 2;
    while (Date.now() < deadline) {
      const now = Date.now();
      const leased = await this.deps.store.db
        .updateTable('connections')
        .set({ refresh_lease_until: new Date(now + LEASE_MS).toISOString() })
        .where('id', '=', connectionId)
        .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', new Date(now).toISOString())]))
        .returningAll()
        .executeTakeFirst();
      const row = leased ?? (await this.#row(connectionId));
      if (row.status !== 'active') throw new HttpError(409, 'connection_needs_reauth', 'The connection must be authorized again.');
      const current = decryptCredentials(this.deps, row);
      if (JSON.stringify(current) !== seen) {
        if (leased) await this.#releaseLease(connectionId);
        return current;
      }
      if (leased) {
        if (current.type === 'custom') return this.#refreshCustom(row, current);
        if (current.type === 'oauth2') return this.#refresh(row, current);
        await this.#releaseLease(connectionId);
        throw new HttpError(409, 'method_not_supported', 'The connection cannot be refreshed.');
      }
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
    throw new HttpError(503, 'refresh_busy', 'Another server is still refreshing this connection; try again.');
  }

  async #releaseLease(connectionId: string): Promise<void> {
    await this.deps.store.db.updateTable('connections').set({ refresh_lease_until: null }).where('id', '=', connectionId).execute();
  }

  /** A custom method's own refresh (called after an upstream 401); the new values replace the old in one update. */
  async #refreshCustom(row: ConnectionsTable, current: Extract<Credentials, { type: 'custom' }>): Promise<Credentials> {
    try {
      let values: Record<string, string>;
      try {
        values = await this.deps.customAuthMethods[current.handler]!.refresh!(current.values);
      } catch (error) {
        const failure = new HttpError(502, 'refresh_failed', 'The credentials could not be refreshed.', { cause: error });
        await recordRefreshFailed(this.deps, row, { code: failure.code, message: failure.message }, null);
        throw failure;
      }
      const credentials: Credentials = { type: 'custom', handler: current.handler, values };
      await this.#storeRefreshed(row, credentials);
      return credentials;
    } catch (error) {
      await this.#releaseLease(row.id);
      throw error;
    }
  }

  /** Writes refreshed credentials and releases the lease in one update, with its events (health-record.ts). */
  async #storeRefreshed(row: ConnectionsTable, credentials: Credentials): Promise<void> {
    const ciphertext = this.deps.keyring.encrypt(JSON.stringify(credentials), credentialsAad(row.id, row.tenant_id));
    await recordRefreshed(this.deps, row, credentials, expiryOf(credentials), ciphertext);
  }

  async #refresh(row: ConnectionsTable, currentCredentials: Extract<Credentials, { type: 'oauth2' }>): Promise<Credentials> {
    const current = currentCredentials.tokens;
    const connector = this.deps.catalog.connectors.get(row.connector_id);
    try {
      if (!connector) throw new HttpError(409, 'connector_missing', `Connector ${row.connector_id} is no longer declared.`);
      if (!current.refreshToken) {
        await recordRefreshFailed(this.deps, row, { code: 'no_refresh_token', message: 'The access token expired and there is no refresh token.' }, 'expired');
        throw new HttpError(409, 'connection_needs_reauth', 'The access token expired and there is no refresh token.');
      }
      let next: TokenSet;
      try {
        const configuration = await this.oauth.configuration(connector);
        next = toTokenSet(await (await openIdClient()).refreshTokenGrant(configuration, current.refreshToken), current);
      } catch (error) {
        if (isInvalidGrant(error)) {
          await recordRefreshFailed(this.deps, row, { code: 'invalid_grant', message: 'The provider refused the refresh token.' }, 'invalid_grant');
          throw new HttpError(409, 'connection_needs_reauth', 'The provider refused the refresh token; the tenant must connect again.');
        }
        const failure = providerError(error, 'token refresh');
        await recordRefreshFailed(this.deps, row, { code: failure.code, message: failure.message }, null);
        throw failure;
      }
      const credentials: Credentials = { type: 'oauth2', tokens: next };
      // Access and (possibly rotated) refresh token are written together, and the lease released, in one update.
      await this.#storeRefreshed(row, credentials);
      return credentials;
    } catch (error) {
      await this.#releaseLease(row.id);
      throw error;
    }
  }
}
