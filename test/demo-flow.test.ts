import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startPatchbay, type TestPatchbay } from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { cancelAtProvider, signInAndConsent } from './support/provider-pages.js';

/**
 * The demo as a person uses it: Debian's Chromium, the real server in dev mode on loopback, the
 * in-process oidc-provider and the demo third-party API.
 */
describe('the demo page, end to end', () => {
  let patchbay: TestPatchbay;
  let browser: Browser;

  before(async () => {
    patchbay = await startPatchbay({ dev: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
  });

  // The button shows the tenant's state on load: each test starts from a tenant with no connection.
  beforeEach(async () => {
    await patchbay.patchbay.ctx.store.db.updateTable('connections').set({ status: 'revoked' }).where('tenant_id', '=', 'demo-user').execute();
  });

  async function openDemo(options: { blockPopups?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (options.blockPopups) await page.addInitScript(() => (window.open = () => null));
    // Records the widget's events so the test can assert on what the host page received.
    await page.addInitScript(() => {
      const seen: Array<{ type: string; detail: unknown }> = [];
      (window as unknown as { patchbayEvents: typeof seen }).patchbayEvents = seen;
      for (const type of ['patchbay-connected', 'patchbay-cancel', 'patchbay-error']) {
        document.addEventListener(type, (event) => seen.push({ type, detail: (event as CustomEvent).detail }));
      }
    });
    await page.goto(`${patchbay.origin}/demo`);
    await page.locator('connect-button[session-token]').waitFor();
    return page;
  }

  const connectButton = (page: Page) => page.locator('connect-button').locator('[part~="base"]');
  const events = (page: Page) =>
    page.evaluate(() => (window as unknown as { patchbayEvents: Array<{ type: string; detail: Record<string, unknown> }> }).patchbayEvents);

  it('connects in a popup, shows Connected, and the host calls the third-party API for the tenant', async () => {
    const page = await openDemo();
    const [popup] = await Promise.all([page.waitForEvent('popup'), connectButton(page).click()]);
    await signInAndConsent(popup);
    await popup.waitForEvent('close');
    await connectButton(page).filter({ hasText: 'Connected' }).waitFor();
    const connected = (await events(page)).find((event) => event.type === 'patchbay-connected');
    assert.ok(connected, 'patchbay-connected reached the host page');
    assert.equal(connected.detail.tenantId, 'demo-user');
    assert.match(String(connected.detail.installId), /^ins_/);

    await page.getByRole('button', { name: 'Call the Demo Cloud API' }).click();
    await page.locator('#result').filter({ hasText: 'Hello ada' }).waitFor();
    const result = JSON.parse((await page.locator('#result').textContent()) ?? '{}') as { status: number; body: { ok: boolean } };
    assert.equal(result.status, 200);
    assert.equal(result.body.ok, true);
    await page.context().close();
  });

  it('falls back to a full-page redirect when the popup is blocked, and resumes on return', async () => {
    const page = await openDemo({ blockPopups: true });
    await connectButton(page).click();
    await page.waitForURL(/\/demo\/oidc\//);
    await signInAndConsent(page);
    await page.waitForURL(/\/demo(\?|$)/);
    await connectButton(page).filter({ hasText: 'Connected' }).waitFor();
    assert.ok(!page.url().includes('session='), 'the widget removed the session parameters from the address');
    await page.context().close();
  });

  it('shows a cancelled state and emits patchbay-cancel when the user cancels at the provider', async () => {
    const page = await openDemo();
    const [popup] = await Promise.all([page.waitForEvent('popup'), connectButton(page).click()]);
    await cancelAtProvider(popup);
    await popup.waitForEvent('close');
    await page.waitForFunction(() =>
      (window as unknown as { patchbayEvents: Array<{ type: string }> }).patchbayEvents.some((e) => e.type === 'patchbay-cancel'),
    );
    const cancel = (await events(page)).find((event) => event.type === 'patchbay-cancel');
    assert.equal(cancel?.detail.reason, 'access_denied');
    assert.equal((await events(page)).filter((event) => event.type === 'patchbay-error').length, 0, 'a cancel is not an error');
    await page.context().close();
  });

  it('a popup closed by the user is not a cancel by itself: Reopen and Cancel are offered, and Cancel cancels once', async () => {
    const page = await openDemo();
    const [popup] = await Promise.all([page.waitForEvent('popup'), connectButton(page).click()]);
    await popup.locator('input[name="login"]').waitFor();
    await popup.close();
    const choices = page.locator('connect-button').locator('[part~="cancel"]');
    await choices.waitFor({ timeout: 10_000 });
    assert.deepEqual(await events(page), [], 'closing the window fired nothing: the server still waits for the person');
    await choices.click();
    await page.waitForFunction(() =>
      (window as unknown as { patchbayEvents: Array<{ type: string }> }).patchbayEvents.some((e) => e.type === 'patchbay-cancel'),
    );
    const all = await events(page);
    assert.deepEqual(
      all.map((event) => [event.type, event.detail.reason]),
      [['patchbay-cancel', 'user']],
    );
    assert.equal(await connectButton(page).isEnabled(), true, 'the button can be used again');
    await page.context().close();
  });

  it('connects an API-key app from <connector-picker> by keyboard alone: a wrong key stays on the form, the right one connects', async () => {
    const page = await openDemo();
    const picker = page.locator('connector-picker');
    await page.locator('connector-picker[session-token]').waitFor();
    await picker.locator('[part~="trigger"]').focus();
    await page.keyboard.press('Enter');
    await picker.locator('[part~="search"]').waitFor({ state: 'visible' });
    await page.keyboard.type('keys');
    await picker.locator('[part~="option"]', { hasText: 'Demo Keys' }).waitFor();
    assert.equal(await picker.locator('[part~="option"]').count(), 1, 'the search left one app');
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.keyboard.press('Enter')]);

    await popup.locator('input[name="key"]').fill('not-the-key');
    await popup.getByRole('button', { name: 'Save and connect' }).click();
    await popup.locator('[role="alert"], .error').first().waitFor();
    assert.equal(await popup.locator('input[name="key"]').count(), 1, 'the form is shown again, nothing was saved');

    await popup.locator('input[name="key"]').fill('demo-key-1234');
    await Promise.all([popup.waitForEvent('close'), popup.getByRole('button', { name: 'Save and connect' }).click()]);
    await picker.locator('[part~="status"]', { hasText: 'Demo Keys is connected.' }).waitFor();
    const connected = (await events(page)).find((event) => event.type === 'patchbay-connected' && event.detail.connector === 'demo-keys');
    assert.ok(connected, 'patchbay-connected named the connector');

    // The demo gives the picker a fresh session; the catalog now shows the connection.
    await picker.locator('[part~="trigger"]').click();
    const option = picker.locator('[part~="option"][data-slug="demo-keys"]');
    await option.locator('[part~="state"]', { hasText: 'Connected' }).waitFor();
    assert.equal((await option.locator('[part~="action"]').textContent())?.trim(), '+ Add connection');
    await page.context().close();
  });
});
