import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
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

type Loopback = Awaited<ReturnType<typeof listenOnLoopback>>;

/**
 * A host page on an origin the integration does not allow: the host's developer is told why, in an
 * event the page can act on and one console line that names the fix, never a bare network error.
 */
describe('<connect-button> on a page the integration does not allow', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  /** Allowed for integration acme-sync only. */
  let hostA: Loopback;
  /** Allowed for no integration. */
  let unlisted: Loopback;
  const tokens = new Map<string, string>();

  /** Serves a host page with one <connect-button> for the integration named in `?integration=`. */
  function serveHostPage(site: Loopback): void {
    site.server.on('request', (req, res) => {
      const integration = new URL(req.url ?? '/', site.origin).searchParams.get('integration') ?? 'acme-sync';
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html lang="en"><title>Host</title>
<script type="module" src="${patchbay.origin}/widget/patchbay.js"></script>
<main><connect-button integration="${integration}" server="${patchbay.origin}" session-token="${tokens.get(integration) ?? ''}"></connect-button></main></html>`);
    });
  }

  before(async () => {
    hostA = await listenOnLoopback();
    unlisted = await listenOnLoopback();
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        const declarations = oauthDeclarations(thirdParty, { allowedOrigins: [hostA.origin] });
        const [integrationA] = declarations.integrations;
        // Integration B allows only the server's own origin: hostA's page is nothing to it.
        return { ...declarations, integrations: [integrationA!, { ...integrationA!, id: 'acme-b', allowedOrigins: [origin] }] };
      },
    });
    serveHostPage(hostA);
    serveHostPage(unlisted);
    const accessKey = await patchbay.accessKey();
    for (const integration of ['acme-sync', 'acme-b']) {
      const session = await fetch(`${patchbay.origin}/v1/integrations/${integration}/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenantId: 'tenant-origins' }),
      });
      tokens.set(integration, ((await session.json()) as { token: string }).token);
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
    await thirdParty?.close();
    await closeServer(hostA.server);
    await closeServer(unlisted.server);
  });

  /**
   * Opens the page, records every `patchbay-error` from its first script on, and runs the flow
   * until the widget reports one (it may already have, from the state it loads on render).
   */
  async function refusalOn(url: string): Promise<{ page: Page; errors: Array<{ code: string; message: string }>; warnings: string[] }> {
    const page = await browser.newPage();
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    page.context().on('page', (popup) => void popup.close().catch(() => undefined));
    await page.addInitScript(() => {
      const errors: unknown[] = [];
      (window as unknown as { patchbayErrors: unknown[] }).patchbayErrors = errors;
      document.addEventListener('patchbay-error', (event) => errors.push((event as CustomEvent).detail));
    });
    await page.goto(url);
    await page.locator('connect-button').locator('[part~="base"]').waitFor();
    const reported = () => page.evaluate(() => (window as unknown as { patchbayErrors: unknown[] }).patchbayErrors.length);
    if ((await reported()) === 0) await page.locator('connect-button').locator('[part~="base"]').click();
    await page.waitForFunction(() => (window as unknown as { patchbayErrors: unknown[] }).patchbayErrors.length > 0, undefined, { timeout: 30_000 });
    const errors = await page.evaluate(() => (window as unknown as { patchbayErrors: Array<{ code: string; message: string }> }).patchbayErrors);
    return { page, errors, warnings };
  }

  it('reports origin_not_allowed with the page’s origin and the setting, plus one console hint', async () => {
    const { page, errors, warnings } = await refusalOn(`${unlisted.origin}/?integration=acme-sync`);
    assert.equal(errors[0]!.code, 'origin_not_allowed', `not a network error: ${JSON.stringify(errors)}`);
    assert.ok(errors[0]!.message.includes(unlisted.origin), errors[0]!.message);
    assert.match(errors[0]!.message, /allowedOrigins/);
    const hints = warnings.filter((text) => text.includes('allowedOrigins'));
    assert.equal(hints.length, 1, `one hint: ${JSON.stringify(warnings)}`);
    assert.ok(hints[0]!.includes(unlisted.origin) && hints[0]!.includes('acme-sync'), hints[0]);
    await page.close();
  });

  it('gives a page allowed for integration A nothing from integration B', async () => {
    const { page, errors } = await refusalOn(`${hostA.origin}/?integration=acme-b`);
    assert.equal(errors[0]!.code, 'origin_not_allowed', JSON.stringify(errors));
    assert.ok(errors[0]!.message.includes(hostA.origin) && errors[0]!.message.includes('acme-b'), errors[0]!.message);
    await page.close();
  });
});
