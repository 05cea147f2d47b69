import type { BrowserContext, Page } from 'playwright-core';
import { closeServer, listenOnLoopback, type TestPatchbay } from '../../packages/server/test/support/harness.js';

export type RecordedEvent = { type: string; detail: Record<string, unknown> };

/**
 * A host page on its own loopback origin that loads the widget with one <script> tag from the
 * server (`server()` is its origin, known once it listens). `body` is the page's markup (the test fills in the session token it wants); `scripts`
 * maps extra paths to JavaScript served next to it (a bundled React app).
 */
export async function startHostPage(server: () => string, options: { body: () => string; scripts?: Record<string, () => string> }) {
  const host = await listenOnLoopback();
  host.server.on('request', (req, res) => {
    const script = options.scripts?.[new URL(req.url ?? '/', host.origin).pathname];
    if (script) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script());
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html lang="en"><title>Host</title>
<script type="module" src="${server()}/widget/patchbay.js"></script>
<main>${options.body()}</main></html>`);
  });
  return { origin: host.origin, close: () => closeServer(host.server) };
}

/** Records the widget's outcome events on every document the page loads (reloads included). */
export async function recordEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: Array<{ type: string; detail: unknown }> = [];
    (window as unknown as { patchbayEvents: typeof seen }).patchbayEvents = seen;
    for (const type of ['patchbay-connected', 'patchbay-cancel', 'patchbay-error']) {
      document.addEventListener(type, (event) => seen.push({ type, detail: (event as CustomEvent).detail }));
    }
  });
}

export const eventsOf = (page: Page) => page.evaluate(() => (window as unknown as { patchbayEvents: RecordedEvent[] }).patchbayEvents);

export async function waitForEvent(page: Page, type: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction((wanted) => (window as unknown as { patchbayEvents: RecordedEvent[] }).patchbayEvents.some((e) => e.type === wanted), type, {
    timeout,
  });
}

/** Counts every window the context opens after the first page (the sign-in popups). */
export function countPopups(context: BrowserContext, first: Page): { readonly count: number } {
  const seen = { count: 0 };
  context.on('page', (opened) => {
    if (opened !== first) seen.count += 1;
  });
  return seen;
}

/** Opens a session for a tenant with the host backend's access key, as a host backend does. */
export async function openSession(patchbay: TestPatchbay, integration: string, tenantId: string): Promise<{ id: string; token: string }> {
  const response = await fetch(`${patchbay.origin}/v1/integrations/${integration}/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await patchbay.accessKey()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId }),
  });
  if (!response.ok) throw new Error(`session: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; token: string };
}

/** The server's view of a session, read with the host backend's access key. */
export async function sessionOnServer(patchbay: TestPatchbay, integration: string, sessionId: string) {
  const response = await fetch(`${patchbay.origin}/v1/integrations/${integration}/session/${sessionId}`, {
    headers: { authorization: `Bearer ${await patchbay.accessKey()}` },
  });
  return (await response.json()) as { status: string; error: { code: string } | null };
}
