import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startPatchbay, type TestPatchbay } from '../packages/server/test/support/harness.js';
import { partnerClient } from '../packages/server/test/support/partners.js';
import { launchChromium } from './support/browser.js';

/**
 * The EnSync flow end to end: the host's backend asks for a partner link, the partner opens it in
 * Debian's Chromium, walks through <partner-onboarding> on the real server, and then uses the key
 * it was shown to publish an event.
 */
describe('partner onboarding, end to end', () => {
  let patchbay: TestPatchbay;
  let browser: Browser;
  let client: ReturnType<typeof partnerClient>;

  before(async () => {
    patchbay = await startPatchbay();
    client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
  });

  it('redeems the link, hides the code, takes a production key shown once, chooses topics, and the key publishes', async () => {
    const partner = await client.createPartner({ appName: 'Shipfast', metadata: { tags: ['logistics'] } });
    await client.grant(partner.id, 'app/shipment/*', { send: true });
    await client.grant(partner.id, 'app/order/*', { receive: true });

    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    await page.goto(partner.url);
    const onboarding = page.locator('partner-onboarding');
    await onboarding.getByRole('heading', { name: 'Acme Logistics invites you' }).waitFor();
    assert.ok(!page.url().includes('code='), 'the code left the address bar');

    await onboarding.getByRole('button', { name: 'Get started' }).click();
    assert.equal(await onboarding.getByLabel('App name').inputValue(), 'Shipfast', 'prefilled from the link');
    await onboarding.getByLabel('Contact email').fill('ops@shipfast.example');
    await onboarding.getByRole('button', { name: 'Save and continue' }).click();

    await onboarding.getByRole('heading', { name: 'Your API keys' }).waitFor();
    await onboarding.locator('[data-environment="prod"]').getByRole('button', { name: 'Create key' }).click();
    const keyField = onboarding.locator('[data-environment="prod"] [part~="key"]');
    await keyField.waitFor();
    const key = await keyField.inputValue();
    assert.match(key, /^pbp_[0-9A-Za-z]{28}$/);
    await onboarding.locator('[data-environment="prod"]').getByRole('button', { name: 'Copy' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, 'Copy put the key on the clipboard');
    await onboarding.getByRole('button', { name: 'Continue' }).click();

    await onboarding.getByRole('heading', { name: 'Events' }).waitFor();
    await onboarding.getByLabel('Publish app/shipment/*').check();
    await onboarding.getByLabel('Consume app/order/*').check();
    await onboarding.getByRole('button', { name: 'Save and continue' }).click();
    await onboarding.getByRole('heading', { name: 'You are all set' }).waitFor();
    assert.match((await onboarding.locator('[part~="snippet"]').textContent()) ?? '', new RegExp(`${patchbay.origin}/v1/events`));

    const published = await fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'app/shipment/created', payload: { id: 's-1' } }) });
    assert.equal(published.status, 201, 'the key the partner was shown works');

    // Coming back within the session: the portal remembers the partner, and the key is not shown again.
    await page.goto(`${patchbay.origin}/partner`);
    await onboarding.getByRole('heading', { name: 'Acme Logistics invites you' }).waitFor();
    assert.ok(!(await page.content()).includes(key));
    await context.close();
  });

  it('shows one "cannot be used" screen for a link that was used already', async () => {
    const partner = await client.createPartner();
    await client.portal().call('POST', '/redeem', { code: partner.code });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(partner.url);
    await page.locator('partner-onboarding').getByRole('heading', { name: 'This link cannot be used' }).waitFor();
    await context.close();
  });
});
