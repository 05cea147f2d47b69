import { type ConnectionHealth, type HealthReason, healthReasonSchema } from '@patchbay/contract';
import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import type { Connector } from '../connectors/catalog.js';
import { verifyIntervalMs } from '../connectors/schema.js';
import type { ConnectionsTable } from '../store/schema.js';
import { decryptCredentials } from './credentials.js';

/** A connection as its tenant sees it: working, working but soon needing them, or needing them now. */
export type { ConnectionHealth, HealthReason } from '@patchbay/contract';

const DAY_MS = 86_400_000;

/**
 * A connection with nothing scheduled (an API key without a verify schedule) is still looked at
 * daily, so a schedule added to its connector later reaches connections made before it.
 */
export const IDLE_RECHECK_MS = DAY_MS;

/** Reasons a later verification can clear (the credentials themselves may work again); the others need the person. */
export const RECOVERABLE_REASONS: readonly HealthReason[] = ['verification_failed', 'revoked_upstream'];

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
  return reauthDueOf(credentials);
}

function reauthDueOf(credentials: Credentials): string | null {
  if (credentials.type !== 'oauth2') return null;
  const { refreshToken, expiresAt, refreshExpiresAt } = credentials.tokens;
  const due = refreshToken ? (refreshExpiresAt ?? null) : expiresAt;
  return due === null ? null : new Date(due).toISOString();
}

export interface HealthView {
  health: ConnectionHealth | 'revoked';
  /** Why the person is needed (with `needs_reauth` only); null for rows marked before reasons were kept. */
  reason: HealthReason | null;
}

/**
 * The one health of a connection, for the API, the widget and the webhooks alike: the stored
 * status and reason, or what the due date says — past it the person is needed now, within the
 * window soon.
 */
export function healthOf(
  deps: Pick<AppContext, 'config'>,
  row: Pick<ConnectionsTable, 'status' | 'needs_reauth_reason'>,
  dueAt: string | null,
  now = Date.now(),
): HealthView {
  if (row.status === 'revoked') return { health: 'revoked', reason: null };
  if (row.status === 'needs_reauth') {
    const stored = healthReasonSchema.safeParse(row.needs_reauth_reason);
    return { health: 'needs_reauth', reason: stored.success ? stored.data : null };
  }
  if (dueAt === null) return { health: 'active', reason: null };
  const due = Date.parse(dueAt);
  if (due <= now) return { health: 'needs_reauth', reason: 'expired' };
  return { health: due <= now + deps.config.expiringSoonDays * DAY_MS ? 'expiring' : 'active', reason: null };
}

type ScheduleRow = Pick<ConnectionsTable, 'status' | 'needs_reauth_reason' | 'expires_at' | 'last_verified_at' | 'last_refreshed_at' | 'created_at'>;

/**
 * When an OAuth token should be refreshed in the background: once less than `refreshAheadSeconds`
 * or `refreshAheadPercent` of its lifetime (since it was stored) remains, whichever comes first.
 */
export function refreshDueAt(deps: Pick<AppContext, 'config'>, row: Pick<ScheduleRow, 'expires_at' | 'last_refreshed_at' | 'created_at'>): number | null {
  if (row.expires_at === null) return null;
  const expires = Date.parse(row.expires_at);
  const issued = Date.parse(row.last_refreshed_at ?? row.created_at);
  const lifetime = Math.max(0, expires - issued);
  // At most half the lifetime ahead: a token shorter-lived than the margin is not refreshed on every tick.
  const ahead = Math.min(Math.max(deps.config.refreshAheadSeconds * 1000, (lifetime * deps.config.refreshAheadPercent) / 100), lifetime / 2);
  return expires - ahead;
}

/** When a verification is due: one interval after the last one (or after the connection was made). */
export function verifyDueAt(connector: Connector | undefined, row: Pick<ScheduleRow, 'last_verified_at' | 'created_at'>): number | null {
  if (!connector?.verifyAction || !connector.verifyEvery) return null;
  return Date.parse(row.last_verified_at ?? row.created_at) + verifyIntervalMs(connector.verifyEvery);
}

/**
 * The next time the scheduler should look at a connection: its background refresh, the moment
 * its credentials run out when nothing can renew them, its next verification, else a daily look.
 * Null when only the person can change anything (revoked, or needs_reauth for a reason no check clears).
 */
export function nextCheckAt(
  deps: Pick<AppContext, 'config'>,
  connector: Connector | undefined,
  row: ScheduleRow,
  credentials: Credentials | null,
  now = Date.now(),
): string | null {
  if (row.status === 'revoked') return null;
  const recoverable = row.status === 'needs_reauth' && RECOVERABLE_REASONS.includes(row.needs_reauth_reason as HealthReason);
  if (row.status === 'needs_reauth' && !recoverable) return null;
  const candidates: number[] = [now + IDLE_RECHECK_MS];
  if (row.status === 'active' && credentials?.type === 'oauth2') {
    const renewable = Boolean(credentials.tokens.refreshToken);
    const refreshAt = renewable ? refreshDueAt(deps, row) : null;
    if (refreshAt !== null) candidates.push(refreshAt);
    const runsOut = reauthDueOf(credentials);
    if (runsOut !== null) candidates.push(Date.parse(runsOut));
  }
  const verifyAt = verifyDueAt(connector, row);
  if (verifyAt !== null) candidates.push(verifyAt);
  return new Date(Math.max(now, Math.min(...candidates))).toISOString();
}
