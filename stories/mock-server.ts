/**
 * Storybook's stand-in for the Patchbay server, in the browser: the session endpoints of
 * docs/flow.md answered by a fetch interceptor, and a `window.open` that returns a pretend popup.
 * The preview installs it, so `npm run storybook` needs no server. It is a demo layer only: tests
 * run against the loopback stand-in (packages/widget/web-test-runner.config.mjs) or the real
 * server, and no shipped bundle imports this file.
 *
 * Stories steer it with the session token they hand an element: `mockSessionToken({ outcome })`
 * makes a session whose pretend popup ends the way the story needs. The integration's name steers
 * the picker's catalog, as in the loopback stand-in: `empty`, `broken`, `loading` or any other.
 */

import type { SessionConnector } from '../packages/widget/src/internal/api-client.js';

/** How the pretend popup ends: the user signs in, declines at the provider, the provider fails, or nothing yet. */
export type MockOutcome = 'authorized' | 'cancelled' | 'failed' | 'pending';

interface MockSession {
  outcome: MockOutcome;
  /** How long the pretend user takes in the popup. */
  delayMs: number;
  status: 'started' | 'authorized' | 'cancelled' | 'failed' | 'committed';
  installId: string | null;
}

/** The catalog entries the picker reads, in the widget's own type. */
export type MockConnector = SessionConnector;

/** Integrations with a special catalog; any other name answers the full one. */
export const CATALOG = { empty: 'empty', broken: 'broken', loading: 'loading', full: 'apps-for-acme' } as const;

/** One connector per state the picker shows: Connect, + Add connection (Connected), Reconnect (Needs re-auth). */
export const mockCatalog: MockConnector[] = [
  { slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', state: 'not_connected', connections: [] },
  { slug: 'github', name: 'GitHub', description: 'Repositories and issues', domain: 'github.com', state: 'connected', connections: [{ id: 'con_GitHubWorkAccount00000', label: 'Work', status: 'active' }] },
  { slug: 'salesforce', name: 'Salesforce', description: 'Accounts, leads and opportunities', domain: 'salesforce.com', state: 'needs_reauth', connections: [{ id: 'con_SalesforceOld000000000', label: null, status: 'needs_reauth' }] },
  { slug: 'cafe-pos', name: 'Café POS', description: 'Point of sale for cafés', domain: 'cafe-pos.example', state: 'not_connected', connections: [] },
  { slug: 'hubspot', name: 'HubSpot', description: 'Contacts and deals', domain: 'hubspot.com', state: 'not_connected', connections: [] },
  { slug: 'notion', name: 'Notion', description: 'Pages and databases', domain: 'notion.so', state: 'not_connected', connections: [] },
].map((connector) => ({ iconUrl: null, methods: ['oauth2'], ...connector }) as MockConnector);

const sessions = new Map<string, MockSession>();
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SESSION_PATH = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})(\/commit|\/connectors|\/start)?$/;
const INSTALL_PATH = /^\/v1\/integrations\/([^/]+)\/install\/(ins_[0-9A-Za-z]+)$/;

function randomBase62(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => BASE62[byte % 62]).join('');
}

/** A session token in the real format (`ses_…_secret_…`) for a pretend session that ends with `outcome`. */
export function mockSessionToken({ outcome = 'authorized', delayMs = 900 }: { outcome?: MockOutcome; delayMs?: number } = {}): string {
  const id = `ses_${randomBase62(22)}`;
  sessions.set(id, { outcome, delayMs, status: 'started', installId: null });
  return `${id}_secret_${randomBase62(22)}`;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** Resolves after `ms`, or rejects as fetch does when the caller aborts. */
function wait(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('The operation was aborted.', 'AbortError'));
    });
  });
}

async function answer(url: URL, init: RequestInit | undefined): Promise<Response | null> {
  const method = (init?.method ?? 'GET').toUpperCase();
  const authorization = new Headers(init?.headers).get('authorization') ?? '';
  const install = INSTALL_PATH.exec(url.pathname);
  if (install) return json(200, { id: install[2], integrationId: install[1], tenantId: 'tenant-1', tags: {}, operationState: { status: 'success' }, createdAt: new Date().toISOString() });
  const match = SESSION_PATH.exec(url.pathname);
  if (!match) return null;
  const [, integration = '', id = '', tail] = match;
  const session = sessions.get(id);
  if (!session || !authorization.startsWith(`Bearer ${id}_secret_`)) return json(401, errorBody('invalid_credentials', 'The credentials are missing or not valid.'));
  await wait(120, init?.signal);
  if (tail === '/connectors') {
    if (integration === CATALOG.loading) await wait(Infinity, init?.signal);
    if (integration === CATALOG.broken) return json(503, errorBody('unavailable', 'The catalog is resting.'));
    return json(200, { data: integration === CATALOG.empty ? [] : mockCatalog, next: null });
  }
  if (tail === '/commit' && method === 'POST') {
    if (session.status !== 'authorized' && session.status !== 'committed') return json(409, errorBody('session_not_authorized', 'The session is not authorized yet.'));
    session.status = 'committed';
    session.installId ??= `ins_${id.slice(4)}`;
    return json(200, { targetUrl: `${url.origin}/v1/integrations/${integration}/install/${session.installId}` });
  }
  return json(200, {
    id,
    integrationId: integration,
    tenantId: 'tenant-1',
    status: session.status,
    installId: session.installId,
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    error: session.status === 'failed' ? { code: 'provider_error', message: 'The provider said no.' } : session.status === 'cancelled' ? { code: 'access_denied', message: 'The sign-in was cancelled.' } : null,
  });
}

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
function playPopup(url: URL): MockPopup {
  const popup = new MockPopup();
  const id = SESSION_PATH.exec(url.pathname)?.[2];
  const session = id ? sessions.get(id) : undefined;
  if (id && session && session.outcome !== 'pending') {
    setTimeout(() => {
      if (session.status !== 'started') return;
      session.status = session.outcome as MockSession['status'];
      window.postMessage({ source: 'patchbay', type: 'patchbay:session', sessionId: id, status: session.status }, window.location.origin);
      popup.close();
    }, session.delayMs);
  }
  return popup;
}

let installed = false;

/** Installs the interceptor and the popup stand-in in this window (Storybook's preview iframe). */
export function installMockServer(): void {
  if (installed) return;
  installed = true;
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
    // Only this origin's Patchbay paths: Storybook's own requests go through untouched.
    if (url.origin === window.location.origin && url.pathname.startsWith('/v1/integrations/')) {
      const response = await answer(url, input instanceof Request ? { method: input.method, headers: input.headers, signal: input.signal, ...init } : init);
      if (response) return response;
      return json(404, errorBody('not_found', 'The Storybook mock server does not know this path.'));
    }
    return realFetch(input, init);
  };
  const realOpen = window.open.bind(window);
  window.open = (target?: string | URL, name?: string, features?: string) => {
    const url = target === undefined ? null : new URL(String(target), window.location.href);
    if (url && url.origin === window.location.origin && /\/session\/ses_[0-9A-Za-z]{22}\/start$/.test(url.pathname)) return playPopup(url) as unknown as Window;
    return realOpen(target, name, features);
  };
}
