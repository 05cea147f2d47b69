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
  let sessionToken = '';

  before(async () => {
    host = await listenOnLoopback();
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
  });

  it('completes the flow under a strict CSP and reports the install to the host page', async () => {
    const accessKey = await patchbay.accessKey();
    const session = await fetch(`${patchbay.origin}/v1/integrations/acme-sync/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: 'tenant-x', redirectUrl: `${host.origin}/` }),
    });
    sessionToken = ((await session.json()) as { token: string }).token;

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(host.origin);
    const connected = page.evaluate(
      () =>
        new Promise<{ tenantId: string; installId: string }>((resolve) =>
          document.addEventListener('patchbay-connected', (e) => resolve((e as CustomEvent).detail)),
        ),
    );
    const button = page.locator('connect-button').locator('[part~="base"]');
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await signInAndConsent(popup);
    const detail = await connected;
    assert.equal(detail.tenantId, 'tenant-x');
    await button.filter({ hasText: 'Connected' }).waitFor();
    assert.deepEqual(errors, [], 'no script errors on the host page');
  });
});
