import type { CancelReason } from '../state/flow.js';
import { type ApiClient, PatchbayApiError, type InstallState, type SessionState } from './api-client.js';

/**
 * What the flows of one page share, whatever element runs them: a remounted element (React
 * re-keying, a route change) continues where its predecessor stood, and never installs twice.
 */

const INSTALL_POLL_MS = 400;
const INSTALL_TIMEOUT_MS = 60_000;

/**
 * One commit and install per session per page: two elements holding the same token (a button and a
 * picker, or an element and its remounted copy) share it. Commit is idempotent on the server anyway.
 */
export const installs = new Map<string, { committed: Promise<unknown>; installed: Promise<InstallState> }>();

/** Sign-in windows by session, so a remounted element finds the window its predecessor opened. */
export const windows = new Map<string, Window>();

/** The window an element (or its predecessor) opened for this session, if it still looks open. */
export function liveWindow(sessionId: string): Window | null {
  const popup = windows.get(sessionId);
  if (popup && !popup.closed) return popup;
  windows.delete(sessionId);
  return null;
}

export const FAILED = { code: 'authorization_failed', message: 'The sign-in failed.' };
export const EXPIRED = { code: 'session_expired', message: 'The session has expired; start a new one.' };

/** The server records why: `user_cancelled` (the Cancel choice, here or in another element) or the provider's answer. */
export function cancelReasonOf(session: SessionState): CancelReason {
  return session.error?.code === 'user_cancelled' ? 'user' : 'access_denied';
}

/** Commits (idempotent), then waits for the install to settle; shared by every element of the page for one session. */
export function sharedInstall(api: ApiClient, sessionId: string): { committed: Promise<unknown>; installed: Promise<InstallState> } {
  const key = `${api.integrationBaseUrl} ${sessionId}`;
  let shared = installs.get(key);
  if (!shared) {
    const committed = api.commit(sessionId);
    shared = { committed, installed: committed.then(({ targetUrl }) => waitForInstall(api, targetUrl)) };
    installs.set(key, shared);
    // A failed commit or install may be tried again by the next click.
    shared.installed.catch(() => installs.delete(key));
  }
  return shared;
}

/** Not tied to one element's lifetime: no abort signal. */
async function waitForInstall(api: ApiClient, targetUrl: string): Promise<InstallState> {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    const install = await api.getInstall(targetUrl);
    if (install.operationState.status === 'success') return install;
    if (install.operationState.status === 'failed') throw new PatchbayApiError(409, 'install_failed', install.operationState.message ?? 'The install failed.');
    if (Date.now() > deadline) throw new PatchbayApiError(0, 'install_timeout', 'The install did not finish in time.');
    await new Promise((resolve) => setTimeout(resolve, INSTALL_POLL_MS));
  }
}

export function toFlowError(error: unknown): { code: string; message: string } {
  if (error instanceof PatchbayApiError) return { code: error.code, message: error.message };
  return { code: 'unexpected_error', message: error instanceof Error ? error.message : 'Unexpected error.' };
}
