import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { countPopups, eventsOf, openSession, recordEvents, sessionOnServer, startHostPage, waitForEvent } from './support/flow-host.js';
import { signInAndConsent } from './support/provider-pages.js';

/**
 * A provider whose sign-in and consent pages send `Cross-Origin-Opener-Policy: same-origin`, as
 * many large identity providers do, on its own loopback origin. Chromium then severs the popup
 * from the host page: the opener reads `popup.closed === true` while the person is still signing
 * in, and the done page has no opener to post to. Only the server's session state can tell.
 */
describe('a provider that sends Cross-Origin-Opener-Policy: same-origin', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof startHostPage>>;
  let token = '';

  before(async () => {
    // The host page listens first: the integration allows its origin.
    host = await startHostPage(() => patchbay.origin, {
      body: () => `<connect-button integration="acme-sync" server="${patchbay.origin}" session-token="${token}"></connect-button>`,
    });
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback`, pageHeaders: { 'cross-origin-opener-policy': 'same-origin' } });
        return oauthDeclarations(thirdParty, { allowedOrigins: [host.origin] });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await host?.close();
    await patchbay?.close();
    await thirdParty?.close();
  });

  async function clickConnect(tenantId: string) {
    const session = await openSession(patchbay, 'acme-sync', tenantId);
    token = session.token;
    const context = await browser.newContext();
    const page = await context.newPage();
    await recordEvents(page);
    await page.goto(host.origin);
    const popups = countPopups(context, page);
    const button = page.locator('connect-button').locator('[part~="base"]');
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await popup.locator('input[name="login"]').waitFor();
    return { session, page, popup, popups, button };
  }

  const reopenChoice = (page: Page) => page.locator('connect-button').locator('[part~="reopen"]');
  const cancelChoice = (page: Page) => page.locator('connect-button').locator('[part~="cancel"]');

  it('completes with patchbay-connected and no patchbay-cancel when the person takes their time to sign in', async () => {
    const { page, popup, popups, button } = await clickConnect('coop-patient');
    // The opener sees the window as closed although the person is looking at the sign-in page.
    await reopenChoice(page).waitFor({ timeout: 10_000 });
    assert.equal(await popup.isClosed(), false, 'the sign-in window is open: it only looks closed to the opener');
    // A person reads the page and types a password: a few seconds in which the window "looks closed".
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.deepEqual(await eventsOf(page), [], 'no cancel (and nothing else) while the person signs in');
    await signInAndConsent(popup);
    await waitForEvent(page, 'patchbay-connected');
    await button.filter({ hasText: 'Connected' }).waitFor();
    const events = await eventsOf(page);
    assert.deepEqual(
      events.map((event) => event.type),
      ['patchbay-connected'],
      `events: ${JSON.stringify(events)}`,
    );
    assert.equal(popups.count, 1, 'one sign-in window');
    await page.context().close();
  });

  it('the Cancel choice cancels the session on the server, fires patchbay-cancel once with reason user, and a late sign-in does not count', async () => {
    const { session, page, popup, popups } = await clickConnect('coop-cancel');
    await cancelChoice(page).waitFor({ timeout: 10_000 });
    await cancelChoice(page).focus();
    await page.keyboard.press('Enter');
    await waitForEvent(page, 'patchbay-cancel');
    const view = await sessionOnServer(patchbay, 'acme-sync', session.id);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.error?.code, 'user_cancelled');
    // The severed window cannot be closed by the opener; the person finishes signing in anyway.
    await signInAndConsent(popup);
    await popup.locator('[data-code="session_cancelled"]').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const events = await eventsOf(page);
    assert.deepEqual(
      events.map((event) => [event.type, event.detail.reason]),
      [['patchbay-cancel', 'user']],
      `exactly one cancel and nothing else: ${JSON.stringify(events)}`,
    );
    assert.equal((await sessionOnServer(patchbay, 'acme-sync', session.id)).status, 'cancelled', 'the late sign-in did not authorize it');
    assert.equal(popups.count, 1);
    await page.context().close();
  });
});
