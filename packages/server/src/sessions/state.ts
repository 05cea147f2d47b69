import type { Expression, ExpressionBuilder, Kysely, SqlBool, Updateable } from 'kysely';
import { type AuditActor, changedFields, inTransaction, tenantActor, writeAudit } from '../audit/service.js';
import { conflict, HttpError } from '../http/errors.js';
import type { Database, SessionsTable, SessionStatus } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { toView } from './view.js';

/**
 * The install session's state machine — read this file first.
 *
 * A session is created by the app's backend, opened by the person (popup or page), signs them in
 * at the provider or through a credential form, optionally asks for the integration's
 * configuration, and is committed into an install. Every status change goes through
 * `moveSession`, one conditional UPDATE (`… WHERE status IN (allowed from-states) AND not
 * expired`), so the database decides between concurrent requests (a Cancel in the app against the
 * provider's callback, two tabs, two server instances) in SQLite and PostgreSQL alike.
 */

export type { SessionStatus };

/** `expired` is derived, never stored: past `expiresAt`, a session that is not committed stops moving. */
export type MachineStatus = SessionStatus | 'expired';

export type SessionRow = SessionsTable;

/** For each status, the statuses it may move to, and what causes each move. */
export const TRANSITIONS: { readonly [From in MachineStatus]: { readonly [To in SessionStatus]?: string } } = {
  created: {
    started: 'start: the person opened the popup or page (OAuth redirect or credential form)',
    cancelled: 'cancel: the person chose Cancel in the app before opening it',
  },
  started: {
    started:
      'start again: the window was reopened or another method chosen (a fresh state and PKCE verifier); also the callback claiming its attempt by consuming the state',
    configuring: 'signed in (callback or credential form), and the integration asks for configuration',
    authorized: 'signed in (callback or credential form), and the integration has nothing to configure',
    cancelled: 'the person refused at the provider (access_denied), or chose Cancel in the app before the callback claimed its state',
    failed: 'the provider answered an error, or the code exchange failed',
  },
  configuring: {
    configuring: 'start again: the window was lost before the form was saved; the configuration form again',
    authorized: 'configuration: the form was saved',
    cancelled: 'cancel: the person chose Cancel in the app',
  },
  authorized: {
    committed: 'commit: the app turned the session into an install (once; later commits answer the same install)',
  },
  cancelled: {
    started: 'start again: the person clicked Connect again after cancelling',
  },
  failed: {
    started: 'start again: the person retries after a failed sign-in',
  },
  committed: {},
  expired: {},
};

const ALL_STATUSES = Object.keys(TRANSITIONS) as MachineStatus[];

/** The statuses a session in `from` may move to. */
export function nextStatuses(from: MachineStatus): SessionStatus[] {
  return Object.keys(TRANSITIONS[from]) as SessionStatus[];
}

/** The stored statuses from which a session may move to `to`. */
export function allowedFrom(to: SessionStatus): SessionStatus[] {
  return ALL_STATUSES.filter((from): from is SessionStatus => from !== 'expired' && TRANSITIONS[from][to] !== undefined);
}

/** A move the machine does not allow; names both ends. */
export class TransitionRefused extends Error {
  constructor(
    readonly from: MachineStatus | null,
    readonly to: SessionStatus,
  ) {
    super(from === null ? `No session to move to ${to}.` : `A session cannot move from ${from} to ${to}.`);
    this.name = 'TransitionRefused';
  }
}

/** Throws `TransitionRefused` unless the table allows `from → to`. */
export function assertTransition(from: MachineStatus, to: SessionStatus): void {
  if (TRANSITIONS[from][to] === undefined) throw new TransitionRefused(from, to);
}

/** Past `expiresAt`, everything but a committed session stops (its install outlives it). */
export function isExpired(row: Pick<SessionRow, 'status' | 'expires_at'>, now = Date.now()): boolean {
  return row.status !== 'committed' && Date.parse(row.expires_at) <= now;
}

/** Where the machine sees the session: its stored status, or `expired`. */
export function machineStatus(row: Pick<SessionRow, 'status' | 'expires_at'>): MachineStatus {
  return isExpired(row) ? 'expired' : row.status;
}

export const sessionExpired = () => new HttpError(410, 'session_expired', 'The session has expired; start a new one.');

export const sessionCancelled = () => conflict('session_cancelled', 'This sign-in was cancelled in the app. Start again from there.');

export function assertNotExpired(row: Pick<SessionRow, 'status' | 'expires_at'>): void {
  if (isExpired(row)) throw sessionExpired();
}

/** What a move may write besides the status (which the move sets, with `updated_at`). */
export type SessionChanges = Omit<Updateable<SessionsTable>, 'id' | 'status' | 'updated_at'>;

export interface Move {
  /** The session to move: by id, or by the hash of the OAuth `state` the provider's callback carries. */
  session: { id: string } | { oauthStateHash: string };
  to: SessionStatus;
  /** Narrows the table's from-states for this cause (each must be allowed by the table). */
  from?: readonly SessionStatus[];
  set?: SessionChanges;
  /** A further condition this cause needs (the cancel's "not while a callback is signing in"). */
  where?: (eb: ExpressionBuilder<Database, 'sessions'>) => Expression<SqlBool>;
  /** Who moves it, for the audit trail; by default the person signing in (the session's tenant). */
  by?: AuditActor;
}

/** The moves the audit trail records: where a session ends up, not each reopening of its window. */
const AUDITED: ReadonlySet<SessionStatus> = new Set(['authorized', 'committed', 'failed', 'cancelled']);

/** What the audit trail records of a session: never its token, OAuth state, PKCE verifier or configuration values. */
function auditView(row: SessionRow) {
  return {
    status: row.status,
    connector: row.connector_id,
    authMethod: row.auth_method,
    connectionId: row.connection_id,
    installId: row.install_id,
    error: row.error_code,
  };
}

export type Moved = { row: SessionRow; refused?: undefined } | { row?: undefined; refused: TransitionRefused };

/**
 * The one guard every status change goes through. Answers the moved row, or a refusal naming the
 * status the session was found in (`expired`, or null when there is no such session) and the
 * target. A `from` the table does not allow is a bug, thrown at once.
 */
export async function moveSession(db: Kysely<Database>, move: Move): Promise<Moved> {
  const from = move.from ?? allowedFrom(move.to);
  for (const status of from) assertTransition(status, move.to);
  if (!AUDITED.has(move.to)) return applyMove(db, move, from);
  // The move and its audit entry commit together (inside the caller's transaction when there is one).
  return inTransaction(db, async (trx) => {
    const key = 'id' in move.session ? (['id', move.session.id] as const) : (['oauth_state_hash', move.session.oauthStateHash] as const);
    const before = await trx.selectFrom('sessions').selectAll().where(key[0], '=', key[1]).executeTakeFirst();
    const moved = await applyMove(trx, move, from);
    if (moved.row && before) {
      await writeAudit(trx, {
        ...(move.by ?? tenantActor(moved.row.tenant_id, moved.row.id)),
        action: `session.${move.to}`,
        targetType: 'session',
        targetId: moved.row.id,
        details: { integrationId: moved.row.integration_id, tenantId: moved.row.tenant_id, changes: changedFields(auditView(before), auditView(moved.row)) },
      });
      if (move.to === 'failed') await emitWebhookEvent(trx, 'session.failed', toView(moved.row));
    }
    return moved;
  });
}

async function applyMove(db: Kysely<Database>, move: Move, from: readonly SessionStatus[]): Promise<Moved> {
  const now = isoNow();
  const key = 'id' in move.session ? (['id', move.session.id] as const) : (['oauth_state_hash', move.session.oauthStateHash] as const);
  let update = db
    .updateTable('sessions')
    .set({ ...move.set, status: move.to, updated_at: now })
    .where(key[0], '=', key[1])
    .where('status', 'in', from)
    .where('expires_at', '>', now);
  if (move.where) update = update.where(move.where);
  const row = await update.returningAll().executeTakeFirst();
  if (row) return { row };
  const current = await db.selectFrom('sessions').select(['status', 'expires_at']).where(key[0], '=', key[1]).executeTakeFirst();
  return { refused: new TransitionRefused(current ? machineStatus(current) : null, move.to) };
}
