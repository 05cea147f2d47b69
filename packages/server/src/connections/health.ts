import type { ConnectionHealth } from '@patchbay/contract';
import type { AppContext } from '../context.js';
import type { ConnectionsTable } from '../store/schema.js';
import { decryptCredentials } from './service.js';

/** A connection as its tenant sees it: working, working but soon needing them, or needing them now. */
export type { ConnectionHealth } from '@patchbay/contract';

const DAY_MS = 86_400_000;

/**
 * When the credentials will need the person again, or null when nothing says they will:
 * - OAuth without a refresh token: when the access token expires (nothing can renew it);
 * - OAuth with a refresh token whose expiry the provider announced (`refresh_expires_in`): then;
 * - OAuth with a refresh token of unknown lifetime, API keys, basic, bearer, custom: null.
 * Refreshing ahead of expiry is the server's job, so an access token that a refresh token can
 * renew never counts.
 */
export function reauthDueAt(deps: Pick<AppContext, 'keyring'>, row: Pick<ConnectionsTable, 'id' | 'tenant_id' | 'credentials_ciphertext'>): string | null {
  let credentials;
  try {
    credentials = decryptCredentials(deps, row);
  } catch {
    // Unreadable credentials (a key no longer configured) cannot say when they expire; the broker reports them on use.
    return null;
  }
  if (credentials.type !== 'oauth2') return null;
  const { refreshToken, expiresAt, refreshExpiresAt } = credentials.tokens;
  const due = refreshToken ? (refreshExpiresAt ?? null) : expiresAt;
  return due === null ? null : new Date(due).toISOString();
}

/** The stored status, or what the due date says: past it the person is needed now, within the window soon. */
export function healthOf(deps: Pick<AppContext, 'config'>, status: ConnectionsTable['status'], dueAt: string | null, now = Date.now()): ConnectionHealth {
  if (status === 'needs_reauth') return 'needs_reauth';
  if (dueAt === null) return 'active';
  const due = Date.parse(dueAt);
  if (due <= now) return 'needs_reauth';
  return due <= now + deps.config.expiringSoonDays * DAY_MS ? 'expiring' : 'active';
}
