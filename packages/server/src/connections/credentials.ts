import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import type { ConnectionsTable } from '../store/schema.js';
import type { TokenSet } from './oauth.js';

/** What a connection's credentials are bound to (also used by master key rotation). */
export const credentialsAad = (connectionId: string, tenantId: string) => `connections:${connectionId}:${tenantId}`;

/** A connection's credentials, decrypted (they never leave the server's memory). */
export function decryptCredentials(deps: Pick<AppContext, 'keyring'>, row: Pick<ConnectionsTable, 'id' | 'tenant_id' | 'credentials_ciphertext'>): Credentials {
  const parsed = JSON.parse(deps.keyring.decrypt(row.credentials_ciphertext, credentialsAad(row.id, row.tenant_id))) as Credentials | TokenSet;
  // Connections stored before typed credentials held a bare OAuth token set.
  return 'type' in parsed && typeof parsed.type === 'string' && !('accessToken' in parsed)
    ? (parsed as Credentials)
    : { type: 'oauth2', tokens: parsed as TokenSet };
}
