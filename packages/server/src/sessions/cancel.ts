import type { AuditActor } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { conflict } from '../http/errors.js';
import { readSession } from './service.js';
import { assertNotExpired, moveSession, sessionExpired } from './state.js';
import { type SessionView, toView } from './view.js';

/** Why a session the app cancelled ended, as its view's `error` reports it. */
export const USER_CANCELLED = { code: 'user_cancelled', message: 'The person cancelled the sign-in in the app.' } as const;

/**
 * Cancels a session that still waits for the person (the widget's Cancel choice). One conditional
 * UPDATE decides against a concurrent provider callback, in SQLite and PostgreSQL alike:
 * - a callback that has consumed its `state` (OAuth, `started` with no state left) is signing the
 *   person in right now: it wins, and the cancel answers 409;
 * - once cancelled, the callback for that state finds no `started` session and is refused
 *   (`completeAuthorization` answers `session_cancelled`); the credential form's final move is
 *   conditional too.
 * Cancelling a cancelled session answers its view again (idempotent). Starting it again from a
 * click stays allowed, as after a cancel at the provider.
 */
export async function cancelSession(deps: Pick<AppContext, 'store'>, integrationId: string, sessionId: string, by?: AuditActor): Promise<SessionView> {
  const row = await readSession(deps, integrationId, sessionId);
  if (row.status === 'cancelled') return toView(row);
  assertNotExpired(row);
  const moved = await moveSession(deps.store.db, {
    session: { id: row.id },
    to: 'cancelled',
    set: { error_code: USER_CANCELLED.code, error_message: USER_CANCELLED.message, pkce_verifier_ciphertext: null },
    where: (eb) => eb.not(eb.and([eb('status', '=', 'started'), eb('auth_method', '=', 'oauth2'), eb('oauth_state_hash', 'is', null)])),
    ...(by ? { by } : {}),
  });
  if (moved.row) return toView(moved.row);
  if (moved.refused.from === 'cancelled') return toView(await readSession(deps, integrationId, sessionId));
  if (moved.refused.from === 'expired') throw sessionExpired();
  throw conflict(
    'session_not_cancellable',
    moved.refused.from === 'failed' ? 'The sign-in has already failed.' : 'The sign-in has already finished (or is finishing) for this session.',
  );
}
