import type { SessionView } from '@patchbay/contract';
import type { SessionsTable as SessionRow, SessionStatus } from '../store/schema.js';

/** The session as the widget and the host read it: the contract's shape (@patchbay/contract). */
export type { SessionView };

/**
 * Statuses that still wait for the person; past `expiresAt` they are reported as `expired`. A
 * cancelled or failed session keeps reporting how it ended (the machine stops it all the same).
 */
const EXPIRABLE: ReadonlySet<SessionStatus> = new Set(['created', 'started', 'configuring', 'authorized']);

export function toView(row: SessionRow): SessionView {
  return {
    id: row.id,
    integrationId: row.integration_id,
    tenantId: row.tenant_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    status: EXPIRABLE.has(row.status) && Date.parse(row.expires_at) <= Date.now() ? 'expired' : row.status,
    connector: row.connector_id,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    installId: row.install_id,
    expiresAt: row.expires_at,
  };
}

/** What the done page (popup) or the redirect back to the app (page mode) needs once a step ends. */
export interface CallbackOutcome {
  session: SessionView;
  mode: 'popup' | 'page';
  openerOrigin: string | null;
  redirectUrl: string | null;
  /** The integration wants configuration before the session is authorized. */
  needsConfiguration: boolean;
}

/** The outcome of the step that left the session in `row` (callback, credential form or configuration). */
export function outcomeOf(row: SessionRow): CallbackOutcome {
  return {
    session: toView(row),
    mode: row.mode ?? 'page',
    openerOrigin: row.opener_origin,
    redirectUrl: row.redirect_url,
    needsConfiguration: row.status === 'configuring',
  };
}
