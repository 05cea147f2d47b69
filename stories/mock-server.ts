/**
 * Storybook's stand-in for the Patchbay server: the shared msw handlers (mocks/, built on the wire
 * contract; the component tests run the same ones) in msw's browser worker, and a `window.open`
 * that returns a pretend popup. The preview starts it before any story renders, so
 * `npm run storybook` needs no server. No shipped bundle imports this file.
 *
 * Stories steer it with the session token they hand an element: `mockSessionToken({ outcome })`
 * makes a session whose pretend popup ends the way the story needs, in the tenant state it asks for.
 * The integration's name steers the picker's catalog (mocks/fixtures.ts, CATALOG).
 * `<partner-onboarding>` gets its own pretend server from `mockPartnerPortal({ … })`.
 */
import { randomBase62, SESSION_ID } from '@patchbay/contract';
import { setupWorker } from 'msw/browser';
import type { MockTenant } from '../mocks/fixtures.js';
import { mockPortalServer, portalHandlers, type MockPortal, type MockPortalOptions } from '../mocks/portal.js';
import { mockSession, sessionHandlers } from '../mocks/sessions.js';

export { CATALOG, mockCatalog } from '../mocks/fixtures.js';
export type { MockLinkState, MockPortalOptions } from '../mocks/portal.js';

/** How the pretend popup ends: the user signs in, declines at the provider, the provider fails, or nothing yet. */
export type MockOutcome = 'authorized' | 'cancelled' | 'failed' | 'pending';

interface PopupPlay {
  outcome: MockOutcome;
  /** How long the pretend user takes in the popup. */
  delayMs: number;
  /** The popup looks closed to the opener at once, as a provider's Cross-Origin-Opener-Policy makes it. */
  looksClosed: boolean;
}
const plays = new Map<string, PopupPlay>();

/** A session token in the real format (`ses_…_secret_…`) for a pretend session that ends with `outcome`. */
export function mockSessionToken({
  outcome = 'authorized',
  delayMs = 900,
  looksClosed = false,
  tenant = 'not_connected',
}: { outcome?: MockOutcome; delayMs?: number; looksClosed?: boolean; tenant?: MockTenant } = {}): string {
  const id = `ses_${randomBase62(22)}`;
  mockSession(id).tenant = tenant;
  plays.set(id, { outcome, delayMs, looksClosed });
  return `${id}_secret_${randomBase62(22)}`;
}

/** A pretend Patchbay server with one invited partner, for one `<partner-onboarding>`. */
export const mockPartnerPortal = (options: MockPortalOptions = {}): MockPortal => mockPortalServer(window.location.origin, options);

/** What the widget gets from `window.open`: enough of a Window for the flow (closed, close, focus). */
class MockPopup {
  closed = false;
  close(): void {
    this.closed = true;
  }
  focus(): void {}
}

/**
 * Plays the user in the popup: after the session's delay, the session ends as its outcome says and
 * the "done page" nudges the opener, as the real one does with postMessage.
 */
function playPopup(id: string): MockPopup {
  const popup = new MockPopup();
  const session = mockSession(id);
  const play = plays.get(id) ?? { outcome: 'authorized', delayMs: 900, looksClosed: false };
  // Loading the start URL starts the session, as the real server does.
  if (session.status === 'created' || session.status === 'cancelled' || session.status === 'failed') session.status = 'started';
  if (play.looksClosed) popup.closed = true;
  if (play.outcome === 'pending') return popup;
  setTimeout(() => {
    if (session.status !== 'started') return;
    session.status = play.outcome as Exclude<MockOutcome, 'pending'>;
    window.postMessage({ source: 'patchbay', type: 'patchbay:session', sessionId: id, status: session.status }, window.location.origin);
    popup.close();
  }, play.delayMs);
  return popup;
}

let started: Promise<unknown> | null = null;

/** Starts the worker and the popup stand-in in this window (Storybook's preview iframe), once. */
export function installMockServer(): Promise<unknown> {
  started ??= (async () => {
    const realOpen = window.open.bind(window);
    window.open = (target?: string | URL, name?: string, features?: string) => {
      const url = target === undefined ? null : new URL(String(target), window.location.href);
      const id = url?.origin === window.location.origin ? /\/session\/([^/]+)\/start$/.exec(url.pathname)?.[1] : undefined;
      if (id && SESSION_ID.test(id)) return playPopup(id) as unknown as Window;
      return realOpen(target, name, features);
    };
    // Storybook's own requests go through untouched.
    await setupWorker(...sessionHandlers({ latencyMs: 120 }), ...portalHandlers).start({ onUnhandledRequest: 'bypass', quiet: true });
  })();
  return started;
}
