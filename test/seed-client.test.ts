import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import superagent from 'superagent';
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
 * The client code of the Fusebit "Connecting Your Application" guide (shared/seeds/000_…), run
 * unchanged in Node against `integrationBaseUrl = {server}/v1/integrations/{integrationId}`.
 * Only the browser step (`window.location.href = configureUrl`) is played by Chromium.
 */
describe('the Fusebit seed client', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof listenOnLoopback>>;

  before(async () => {
    host = await listenOnLoopback();
    host.server.on('request', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Back in the app</h1>'));
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return oauthDeclarations(thirdParty, { allowedOrigins: [host.origin] });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
    await thirdParty?.close();
    await closeServer(host.server);
  });

  it('creates a session, installs through the browser, polls the install and invokes the test action', async () => {
    const accessKey = await patchbay.accessKey();
    const integrationBaseUrl = `${patchbay.origin}/v1/integrations/acme-sync`;
    const window = { location: { origin: host.origin, pathname: '/settings' } };

    // ── seed step 1 ──
    const tenantId = 'user2';
    const response = await superagent
      .post(`${integrationBaseUrl}/session`)
      .set('Authorization', `Bearer ${accessKey}`)
      .send({
        redirectUrl: `${window.location.origin}${window.location.pathname}`,
        tags: {
          'fusebit.tenantId': tenantId,
        },
      });
    const sessionId = response.body.id;

    // ── seed step 2: the browser goes to the configuration URL ──
    const configureUrl = `${integrationBaseUrl}/session/${sessionId}/start`;
    const page = await browser.newPage();
    await page.goto(configureUrl);
    await signInAndConsent(page);
    await page.waitForURL(`${host.origin}/settings?**`);
    assert.equal(new URL(page.url()).searchParams.get('session'), sessionId, 'the browser came back to redirectUrl');

    // ── seed step 3 ──
    let result = await superagent.post(`${integrationBaseUrl}/session/${sessionId}/commit`).set('Authorization', `Bearer ${accessKey}`);
    const { targetUrl } = result.body;

    // ── seed step 4 ──
    let install;
    for (let n = 0; n < 10; n++) {
      result = await superagent.get(targetUrl).set('Authorization', `Bearer ${accessKey}`);
      install = result.body;
      if (install.operationState.status !== 'pending') {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const installId = install.id;
    assert.equal(install.operationState.status, 'success');
    assert.match(installId, /^ins_/);

    // ── seed step 5 ──
    const invoked = await superagent
      .post(`${integrationBaseUrl}/api/tenant/${tenantId}/test`)
      .set('Authorization', `Bearer ${accessKey}`)
      .send({
        tenantId: `${tenantId}`,
        instanceId: `${installId}`,
      });
    assert.equal(invoked.status, 200);
    assert.equal(invoked.body.status, 200, 'the third-party API accepted the tenant’s token');
    assert.equal(invoked.body.body.ok, true);
  });
});
