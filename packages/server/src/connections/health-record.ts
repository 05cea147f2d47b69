/**
 * Where a refresh's or a verification's outcome is written, with its webhook event in the same
 * transaction: the row's health and the event announcing it are stored together or not at all.
 * The broker (refresh) and the health scheduler (verification) both record through here, so what
 * the API returns, what the widget shows and what the webhooks announce come from one row.
 */
import type { HealthReason } from '@patchbay/contract';
import type { Kysely } from 'kysely';
import { SYSTEM, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import type { ConnectionsTable, Database } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { nextCheckAt, RECOVERABLE_REASONS } from './health.js';
import { toConnectionView } from './service.js';

/** `connectionRows`: each outcome, once committed, makes this instance's hot paths read the row afresh. */
type Deps = Pick<AppContext, 'store' | 'config' | 'keyring' | 'catalog' | 'connectionRows'>;

/** A failure as the row keeps it: the server's own code and fixed message, never an upstream body or a token. */
export interface CheckError {
  code: string;
  message: string;
}

/** After a failure that may pass (a provider down), the scheduler tries again this soon. */
export const RETRY_AFTER_FAILURE_MS = 60_000;

const errorText = (error: CheckError) => `${error.code}: ${error.message}`.slice(0, 300);

/** A failing connection that works again: it was needs_reauth for a reason a check clears, or its last check failed. */
const wasFailing = (row: ConnectionsTable) =>
  row.last_error !== null || (row.status === 'needs_reauth' && RECOVERABLE_REASONS.includes(row.needs_reauth_reason as HealthReason));

/**
 * Refreshed credentials replace the old ones and the lease is released in one update; the event
 * `connection.refreshed` (and `connection.recovered` after a failed attempt) goes with it.
 */
export async function recordRefreshed(
  deps: Deps,
  row: ConnectionsTable,
  credentials: Credentials,
  expiresAt: string | null,
  ciphertext: string,
): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const now = isoNow();
    const fresh = { ...row, expires_at: expiresAt, last_refreshed_at: now, last_error: null };
    const after = await trx
      .updateTable('connections')
      .set({
        credentials_ciphertext: ciphertext,
        expires_at: expiresAt,
        refresh_lease_until: null,
        last_refreshed_at: now,
        last_error: null,
        next_check_at: nextCheckAt(deps, deps.catalog.connectors.get(row.connector_id), fresh, credentials),
        updated_at: now,
      })
      .where('id', '=', row.id)
      // A refresh finishing after a revocation must not put live credentials back on the row.
      .where('status', '!=', 'revoked')
      .returningAll()
      .executeTakeFirst();
    if (!after) return;
    const view = toConnectionView(deps, after);
    await emitWebhookEvent(trx, 'connection.refreshed', view);
    if (wasFailing(row)) await emitWebhookEvent(trx, 'connection.recovered', view);
  });
  deps.connectionRows.forget(row.id);
}

/**
 * A refresh attempt failed. With a reason, only the person can fix it: the connection becomes
 * needs_reauth (once: a second instance finding it so writes nothing) and is no longer scheduled.
 * Without one (the provider was unreachable), the error is kept and the scheduler tries again soon.
 */
export async function recordRefreshFailed(deps: Deps, row: ConnectionsTable, error: CheckError, reason: HealthReason | null): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const now = isoNow();
    if (reason === null) {
      const after = await trx
        .updateTable('connections')
        .set({ last_error: errorText(error), next_check_at: new Date(Date.now() + RETRY_AFTER_FAILURE_MS).toISOString() })
        .where('id', '=', row.id)
        .where('status', '=', 'active')
        .returningAll()
        .executeTakeFirst();
      if (after) await emitWebhookEvent(trx, 'connection.refresh_failed', { ...toConnectionView(deps, after), error });
      return;
    }
    const after = await markNeedsReauth(deps, trx, row, { reason, error, now });
    if (!after) return;
    const view = toConnectionView(deps, after);
    await emitWebhookEvent(trx, 'connection.refresh_failed', { ...view, error });
    await emitWebhookEvent(trx, 'connection.needs_reauth', view);
    // A refresh the provider refused is a change nobody asked for: the server records it as `system`.
    await writeAudit(trx, {
      ...SYSTEM,
      action: 'connection.refresh_failed',
      targetType: 'connection',
      targetId: row.id,
      details: { connector: row.connector_id, tenantId: row.tenant_id, reason, changes: { status: { before: 'active', after: 'needs_reauth' } } },
    });
  });
  deps.connectionRows.forget(row.id);
}

export type VerifyOutcome =
  | { kind: 'passed' }
  /** The upstream refused the credentials: only the person can fix it (unless a later verification passes). */
  | { kind: 'refused'; reason: HealthReason; error: CheckError }
  /** The check could not tell (the upstream failed or did not answer): the health stays as it was. */
  | { kind: 'inconclusive'; error: CheckError };

/** The outcome of the connector's verify action run on the stored credentials. */
export async function recordVerified(deps: Deps, row: ConnectionsTable, credentials: Credentials | null, outcome: VerifyOutcome): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const now = isoNow();
    const connector = deps.catalog.connectors.get(row.connector_id);
    if (outcome.kind === 'inconclusive') {
      await trx
        .updateTable('connections')
        .set({ last_error: errorText(outcome.error), next_check_at: new Date(Date.now() + RETRY_AFTER_FAILURE_MS).toISOString() })
        .where('id', '=', row.id)
        .where('status', '!=', 'revoked')
        .execute();
      return;
    }
    if (outcome.kind === 'refused') {
      const after = await markNeedsReauth(deps, trx, row, { reason: outcome.reason, error: outcome.error, now, credentials });
      if (!after) {
        // Still refused: the next try is one interval after this one, not at once.
        const again = { ...row, last_verified_at: now };
        await trx
          .updateTable('connections')
          .set({ last_verified_at: now, last_error: errorText(outcome.error), next_check_at: nextCheckAt(deps, connector, again, credentials) })
          .where('id', '=', row.id)
          .where('status', '=', 'needs_reauth')
          .execute();
        return;
      }
      await emitWebhookEvent(trx, 'connection.needs_reauth', toConnectionView(deps, after));
      await writeAudit(trx, {
        ...SYSTEM,
        action: 'connection.verification_failed',
        targetType: 'connection',
        targetId: row.id,
        details: {
          connector: row.connector_id,
          tenantId: row.tenant_id,
          reason: outcome.reason,
          changes: { status: { before: row.status, after: 'needs_reauth' } },
        },
      });
      return;
    }
    const healed = row.status === 'needs_reauth' && RECOVERABLE_REASONS.includes(row.needs_reauth_reason as HealthReason);
    const fresh = { ...row, status: 'active' as const, needs_reauth_reason: null, last_verified_at: now };
    const after = await trx
      .updateTable('connections')
      .set({
        status: 'active',
        needs_reauth_reason: null,
        last_verified_at: now,
        last_error: null,
        next_check_at: nextCheckAt(deps, connector, fresh, credentials),
        ...(healed ? { updated_at: now } : {}),
      })
      .where('id', '=', row.id)
      // Only the state this check started from is changed: a revoke or a re-authorization meanwhile wins.
      .where('status', '=', row.status)
      .where('credentials_ciphertext', '=', row.credentials_ciphertext)
      .returningAll()
      .executeTakeFirst();
    if (!after || !wasFailing(row)) return;
    await emitWebhookEvent(trx, 'connection.recovered', toConnectionView(deps, after));
    if (healed) {
      await writeAudit(trx, {
        ...SYSTEM,
        action: 'connection.recovered',
        targetType: 'connection',
        targetId: row.id,
        details: { connector: row.connector_id, tenantId: row.tenant_id, changes: { status: { before: 'needs_reauth', after: 'active' } } },
      });
    }
  });
  deps.connectionRows.forget(row.id);
}

/** The one write that makes a connection need its person; undefined when it already did (or was revoked). */
async function markNeedsReauth(
  deps: Deps,
  trx: Kysely<Database>,
  row: ConnectionsTable,
  change: { reason: HealthReason; error: CheckError; now: string; credentials?: Credentials | null },
): Promise<ConnectionsTable | undefined> {
  // A verification failure may pass again later, so it stays scheduled; a refused refresh does not.
  const recoverable = RECOVERABLE_REASONS.includes(change.reason);
  const marked = { ...row, status: 'needs_reauth' as const, needs_reauth_reason: change.reason, last_verified_at: change.now };
  return trx
    .updateTable('connections')
    .set({
      status: 'needs_reauth',
      needs_reauth_reason: change.reason,
      last_error: errorText(change.error),
      ...(recoverable ? { last_verified_at: change.now } : {}),
      next_check_at: recoverable ? nextCheckAt(deps, deps.catalog.connectors.get(row.connector_id), marked, change.credentials ?? null) : null,
      updated_at: change.now,
    })
    .where('id', '=', row.id)
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
}
