import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startPatchbay, type TestPatchbay } from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { signInAndConsent } from './support/provider-pages.js';

type Recorded = Array<{ type: string; detail: Record<string, unknown> }>;

/**
 * The tenant's state on load and Disconnect, as a person meets them on the demo page: Debian's
 * Chromium, the real server in dev mode on loopback, the in-process oidc-provider. The tests run
 * in order on one server: the first connects the demo tenant, the later ones see that connection.
 */
describe('the tenant’s state on load and disconnect, end to end', () => {
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

  async function openDemo(): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const seen: Array<{ type: string; detail: unknown }> = [];
      (window as unknown as { patchbayEvents: typeof seen }).patchbayEvents = seen;
      for (const type of ['patchbay-connected', 'patchbay-disconnected', 'patchbay-error']) {
        document.addEventListener(type, (event) => seen.push({ type, detail: (event as CustomEvent).detail }));
      }
    });
    await page.goto(`${patchbay.origin}/demo`);
    await page.locator('connect-button[session-token]').waitFor();
    await page.locator('connector-picker[session-token]').waitFor();
    return page;
  }

  const button = (page: Page) => page.locator('connect-button').locator('[part~="base"]');
  const picker = (page: Page) => page.locator('connector-picker');
  const demoCloudOption = (page: Page) => picker(page).locator('[part~="option"][data-slug="demo-cloud"]');
  const events = (page: Page) => page.evaluate(() => (window as unknown as { patchbayEvents: Recorded }).patchbayEvents);
  const waitForEvent = (page: Page, type: string) =>
    page.waitForFunction((wanted) => (window as unknown as { patchbayEvents: Recorded }).patchbayEvents.some((event) => event.type === wanted), type, {
      timeout: 15_000,
    });
  const demoConnections = () =>
    patchbay.patchbay.ctx.store.db
      .selectFrom('connections')
      .select(['id', 'status', 'label'])
      .where('tenant_id', '=', 'demo-user')
      .where('connector_id', '=', 'demo-cloud')
      .execute();

  it('shows the same state in both components on the next visit after connecting: Connected as the account’s name', async () => {
    const first = await openDemo();
    await button(first).filter({ hasText: 'Connect' }).waitFor();
    const [popup] = await Promise.all([first.waitForEvent('popup'), button(first).click()]);
    await signInAndConsent(popup, 'ada');
    await popup.waitForEvent('close');
    await button(first).filter({ hasText: 'Connected as ada' }).waitFor();
    // The picker on the same page read the state again when the button connected.
    await demoCloudOption(first).locator('[part~="state"]', { hasText: 'Connected' }).waitFor({ state: 'attached' });
    await first.context().close();

    const next = await openDemo();
    await button(next).filter({ hasText: 'Connected as ada' }).waitFor();
    assert.equal(await next.locator('connect-button').getAttribute('data-status'), 'connected');
    await demoCloudOption(next).locator('[part~="state"]', { hasText: 'Connected' }).waitFor({ state: 'attached' });
    const listed = picker(next).locator('[part~="connection"]');
    await listed.first().waitFor();
    assert.equal(await listed.count(), 1);
    assert.equal((await listed.locator('[part~="connection-name"]').textContent())?.trim(), 'Demo Cloud (ada)');
    assert.match((await listed.locator('[part~="connection-date"]').textContent()) ?? '', /^Connected on /);
    assert.deepEqual(
      (await events(next)).filter((event) => event.type === 'patchbay-error'),
      [],
      'loading the state raised no error',
    );
    await next.context().close();
  });

  it('answers a disconnect that another session is using with a clear conflict, and leaves the connection whole', async () => {
    const [connection] = await demoConnections();
    assert.ok(connection, 'the first test connected Demo Cloud');
    // Another session starts re-authorizing that connection (another tab, another person).
    const key = await patchbay.accessKey();
    const created = await fetch(`${patchbay.origin}/v1/integrations/demo/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: 'demo-user', connectionId: connection.id }),
    });
    const renewing = (await created.json()) as { id: string; startUrl: string };
    const started = await fetch(`${renewing.startUrl}?mode=popup&origin=${encodeURIComponent(patchbay.origin)}`, { redirect: 'manual' });
    assert.equal(started.status, 303);

    const page = await openDemo();
    const item = picker(page).locator('[part~="connection"]');
    await item.locator('[part~="disconnect"]').click();
    await item.locator('[part~="confirm-disconnect"]').click();
    await waitForEvent(page, 'patchbay-error');
    const error = (await events(page)).find((event) => event.type === 'patchbay-error');
    assert.equal(error?.detail.code, 'connection_in_use');
    await item.locator('[role="alert"]', { hasText: 'renewing this connection' }).waitFor();
    assert.deepEqual(
      (await demoConnections()).map((row) => row.status),
      ['active'],
      'not revoked, not half-revoked',
    );
    await page.context().close();

    await patchbay.patchbay.ctx.store.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', renewing.id)
      .execute();
  });

  it('disconnects from the picker: revoked on the server, patchbay-disconnected, and both components back to not connected', async () => {
    const page = await openDemo();
    await button(page).filter({ hasText: 'Connected as ada' }).waitFor();
    const item = picker(page).locator('[part~="connection"]');
    await item.locator('[part~="disconnect"]').focus();
    await page.keyboard.press('Enter');
    await item.locator('[part~="confirm"]').waitFor();
    assert.equal(
      await page.evaluate(() => document.querySelector('connector-picker')!.shadowRoot!.activeElement?.getAttribute('part')),
      'confirm-cancel',
      'the question has the focus, on its harmless answer',
    );
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await waitForEvent(page, 'patchbay-disconnected');

    const [row] = await demoConnections();
    const disconnected = (await events(page)).find((event) => event.type === 'patchbay-disconnected');
    assert.deepEqual(disconnected?.detail, { connectionId: row!.id, connector: 'demo-cloud', integration: 'demo-apps' });
    assert.equal(row!.status, 'revoked');
    const audit = await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').select(['action']).where('target_id', '=', row!.id).orderBy('id').execute();
    assert.deepEqual(
      audit.map((entry) => entry.action),
      ['connection.created', 'connection.revoked'],
      'the connection’s audit trail: made by the sign-in, revoked by the disconnect',
    );

    await picker(page).locator('[part~="connections"]').waitFor({ state: 'detached' });
    assert.equal((await demoCloudOption(page).locator('[part~="action"]').textContent())?.trim(), 'Connect');
    await button(page)
      .filter({ hasText: /^\s*Connect\s*$/ })
      .waitFor();
    assert.equal(await page.locator('connect-button').getAttribute('data-status'), 'idle');
    await page.context().close();

    const next = await openDemo();
    await next.locator('connect-button[data-status="idle"]').waitFor();
    assert.equal((await button(next).textContent())?.trim(), 'Connect', 'the next visit agrees');
    await next.context().close();
  });

  it('shows a clear state and fires patchbay-error for an expired or malformed session token on load, never a spinner', async () => {
    const page = await openDemo();
    const response = await page.evaluate(async () => {
      const answer = await fetch('/demo/host/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return (await answer.json()) as { id: string; token: string };
    });
    await patchbay.patchbay.ctx.store.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', response.id)
      .execute();
    await page.locator('connect-button').evaluate((element, token) => element.setAttribute('session-token', token), response.token);
    await page.locator('connect-button[data-status="error"]').waitFor();
    await page.locator('connect-button').locator('[part~="status"]', { hasText: 'This session has expired. Reload the page' }).waitFor();
    assert.equal(await page.locator('connect-button').locator('[part~="spinner"]').count(), 0);
    assert.equal(await button(page).getAttribute('aria-busy'), 'false');

    await page.locator('connector-picker').evaluate((element) => element.setAttribute('session-token', 'ses_not_a_token'));
    await page.waitForFunction(() =>
      (window as unknown as { patchbayEvents: Recorded }).patchbayEvents.some((event) => event.detail.code === 'invalid_session_token'),
    );
    const codes = (await events(page)).filter((event) => event.type === 'patchbay-error').map((event) => event.detail.code);
    assert.deepEqual(codes, ['session_expired', 'invalid_session_token']);
    await page.context().close();
  });
});
