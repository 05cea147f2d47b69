import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  closeServer,
  listenOnLoopback,
  oauthDeclarations,
  startPatchbay,
  startThirdParty,
  type TestPatchbay,
  type ThirdParty,
} from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { signInAndConsent } from './support/provider-pages.js';

/**
 * The widget on a host page of another origin, loaded with one <script> tag from the server: the
 * popup's postMessage must reach the host by its exact origin, and the widget's API calls pass CORS.
 */
describe('<connect-button> on a host page of another origin', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof listenOnLoopback>>;
  /** A site the integration does not allow, which records every message it receives. */
  let elsewhere: Awaited<ReturnType<typeof listenOnLoopback>>;
  let sessionToken = '';

  before(async () => {
    host = await listenOnLoopback();
    elsewhere = await listenOnLoopback();
    elsewhere.server.on('request', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html lang="en"><title>Elsewhere</title>
<script>window.received = []; addEventListener('message', (event) => window.received.push({ origin: event.origin, data: event.data }));</script></html>`);
    });
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return oauthDeclarations(thirdParty, { allowedOrigins: [host.origin] });
      },
    });
    host.server.on('request', (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html',
        'content-security-policy': `default-src 'self'; script-src ${patchbay.origin}; connect-src ${patchbay.origin}; style-src 'self'`,
      });
      res.end(`<!doctype html><html lang="en"><title>Host</title>
<script type="module" src="${patchbay.origin}/widget/patchbay.js"></script>
<main><connect-button integration="acme-sync" server="${patchbay.origin}" session-token="${sessionToken}"></connect-button></main></html>`);
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
    await thirdParty?.close();
    await closeServer(host.server);
    await closeServer(elsewhere.server);
  });

  async function openSession(tenantId: string) {
    const accessKey = await patchbay.accessKey();
    const session = await fetch(`${patchbay.origin}/v1/integrations/acme-sync/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId, redirectUrl: `${host.origin}/` }),
    });
    sessionToken = ((await session.json()) as { token: string }).token;
  }

  it('completes the flow under a strict CSP and reports the install to the host page', async () => {
    await openSession('tenant-x');

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The widget learns the outcome two ways: the done page's postMessage, and its own checks of the
    // session, which close the popup when they see it authorized — on a loaded machine, sometimes
    // before the done page has posted. To see the message path itself, the widget's session checks
    // are held (not failed), once the popup is open, until the host has the popup's message, or 15 s
    // have passed.
    let holding = false;
    let messageArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (messageArrived = resolve));
    await page.exposeFunction('patchbayMessageArrived', () => messageArrived());
    const sessionCheck = new RegExp(`^${patchbay.origin}/v1/integrations/acme-sync/session/[^/?]+$`);
    await page.route(sessionCheck, async (route) => {
      if (holding && route.request().method() === 'GET') await Promise.race([arrived, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      await route.continue();
    });
    await page.goto(host.origin);
    type Received = Array<{ origin: string; data: { type?: string } }>;
    await page.evaluate((serverOrigin) => {
      const received: Received = [];
      (window as unknown as { received: Received }).received = received;
      addEventListener('message', (event) => {
        received.push({ origin: event.origin, data: event.data as { type?: string } });
        if (event.origin === serverOrigin) (window as unknown as { patchbayMessageArrived(): void }).patchbayMessageArrived();
      });
    }, patchbay.origin);
    const connected = page.evaluate(
      () =>
        new Promise<{ tenantId: string; installId: string }>((resolve) =>
          document.addEventListener('patchbay-connected', (e) => resolve((e as CustomEvent).detail)),
        ),
    );
    const button = page.locator('connect-button').locator('[part~="base"]');
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    holding = true;
    await signInAndConsent(popup);
    const detail = await connected;
    assert.equal(detail.tenantId, 'tenant-x');
    await button.filter({ hasText: 'Connected' }).waitFor();
    const received = await page.evaluate(() => (window as unknown as { received: Received }).received);
    assert.ok(
      received.some((message) => message.origin === patchbay.origin && message.data?.type === 'patchbay:session'),
      `the host got the popup's message from the server's origin: ${JSON.stringify(received)}`,
    );
    assert.deepEqual(errors, [], 'no script errors on the host page');
  });

  it('posts the result to the exact host origin: an opener that has moved to another site receives nothing', async () => {
    await openSession('tenant-moved');
    const page = await browser.newPage();
    await page.goto(host.origin);
    const button = page.locator('connect-button').locator('[part~="base"]');
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    // The popup keeps its opener while the opener goes to a site the integration does not allow.
    await page.goto(elsewhere.origin);
    const closed = popup.waitForEvent('close');
    await signInAndConsent(popup);
    await closed;
    const received = await page.evaluate(() => (window as unknown as { received: unknown[] }).received);
    assert.deepEqual(received, [], 'a message sent with targetOrigin "*" would have arrived here');
    await page.close();
  });
});
