/**
 * Helpers for component tests against the shared mock handlers (mocks/sessions.ts and mocks/portal.ts, served by
 * web-test-runner.config.mjs). Test-only: nothing in the published bundles imports this folder.
 */
import type { PortalState } from '@patchbay/contract';

let counter = 0;

/** A fresh, well-formed session per test (22 base62 characters each part). */
export function newToken(): { id: string; token: string } {
  counter += 1;
  const id = `ses_${`T${Date.now().toString(36)}${counter}`.padEnd(22, 'x').slice(0, 22)}`;
  return { id, token: `${id}_secret_${'s'.repeat(22)}` };
}

/** Moves the stand-in's session to a status (authorized, cancelled, failed…). */
export const setStatus = (id: string, status: string) => fetch(`/__stand-in/${id}/${status}`, { method: 'POST' });

/** How often the component read the session, committed it and read its catalog. */
export const counts = async (id: string) =>
  (await (await fetch(`/__stand-in/${id}`)).json()) as { reads: number; commits: number; catalogReads: number; cancels: number };

/** A stand-in popup: a plain object with the Window members the flow uses. */
export function fakePopup() {
  return {
    closed: false,
    focused: 0,
    close() {
      this.closed = true;
    },
    focus() {
      this.focused += 1;
    },
  };
}

/** Replaces window.open for one test, recording the URLs; call the returned function to restore it. */
export function capturePopups(popup: ReturnType<typeof fakePopup> | null = fakePopup()): { opened: string[]; restore(): void } {
  const original = window.open;
  const opened: string[] = [];
  window.open = ((url: string) => {
    opened.push(url);
    return popup as unknown as Window | null;
  }) as typeof window.open;
  return { opened, restore: () => (window.open = original) };
}

/** Steers the mock handlers (mocks/sessions.ts): the tenant's state for this session. */
export const setTenant = (id: string, state: 'not_connected' | 'connected' | 'expiring' | 'needs_reauth' | 'busy' | 'expired') =>
  fetch(`/__stand-in/${id}/tenant/${state}`, { method: 'POST' });

/** The mocks' record for this session: its state and the connection ids it was asked to disconnect. */
export const tenantRecord = async (id: string) => (await (await fetch(`/__stand-in/${id}/tenant`)).json()) as { state: string; deletes: string[] };

/** The one connection the tenant holds when connected (mocks/fixtures.ts). */
export const STAND_IN_CONNECTION_ID = 'con_StandInDemoCloud00000';

/** A fresh pretend Patchbay server for `<partner-onboarding>` (mocks/portal.ts), steered through its `id`. */
export async function newPortal(
  options: { unreachableFor?: number; partnerBranding?: { color?: string | null; icon?: string | null; owner?: string | null } } = {},
): Promise<{ id: string; server: string }> {
  return (await (await fetch('/__stand-in/portal', { method: 'POST', body: JSON.stringify(options) })).json()) as { id: string; server: string };
}

/** A partner link of that server (`{server}/partner#code=pbl_…`): `unused` redeems once, `unknown` was never issued. */
export const portalLink = async (id: string, state: 'unused' | 'unknown' = 'unused') =>
  ((await (await fetch(`/__stand-in/portal/${id}/link/${state}`, { method: 'POST' })).json()) as { link: string }).link;

/** Ends the server's portal session (the real cookie is httpOnly: only the server can). */
export const endPortalSession = (id: string) => fetch(`/__stand-in/portal/${id}/logout`, { method: 'POST' });

/** The portal state as the server holds it. */
export const portalState = async (id: string) => (await (await fetch(`/__stand-in/portal/${id}`)).json()) as PortalState;
