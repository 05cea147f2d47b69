import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { closeServer, listenOnLoopback, startPatchbay, type TestPatchbay } from '../packages/server/test/support/harness.js';
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

    const published = await fetch(`${patchbay.origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'app/shipment/created', payload: { id: 's-1' } }),
    });
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

/**
 * `<partner-onboarding link=…>` on the host's own site, a different site from the server's (the
 * host page is served as `localhost`, the server as `127.0.0.1`), loaded with one <script> tag
 * under a strict CSP. The server's SameSite cookie cannot work there, so a listed origin gets a
 * session token the component keeps in memory; an unlisted one gets nothing at all.
 */
describe('<partner-onboarding> embedded on a host page of another site', () => {
  let listed: TestPatchbay;
  let unlisted: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof listenOnLoopback>>;
  let hostOrigin = '';
  /** What the host page embeds: the server it loads the script from, and the link its backend issued. */
  let embed = { server: '', link: '' };

  before(async () => {
    host = await listenOnLoopback();
    hostOrigin = `http://localhost:${host.port}`;
    listed = await startPatchbay({ config: { partnerEmbedOrigins: [hostOrigin] } });
    unlisted = await startPatchbay();
    host.server.on('request', (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html',
        'content-security-policy': `default-src 'self'; script-src ${embed.server}; connect-src ${embed.server}; style-src 'self'`,
      });
      res.end(`<!doctype html><html lang="en"><title>Host</title>
<script type="module" src="${embed.server}/widget/patchbay.js"></script>
<main><partner-onboarding link="${embed.link}"></partner-onboarding></main></html>`);
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await listed?.close();
    await unlisted?.close();
    if (host) await closeServer(host.server);
  });

  /** The host's backend: a partner, then a fresh link for this visit (`POST /v1/partners/:id/links`). */
  async function linkForVisit(patchbay: TestPatchbay, grants: Array<{ pattern: string; send?: boolean }> = []) {
    const client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
    const partner = await client.createPartner({ appName: 'Shipfast' });
    for (const rights of grants) await client.grant(partner.id, rights.pattern, rights);
    const issued = await client.asOperator('POST', `/v1/partners/${partner.id}/links`);
    assert.equal(issued.status, 201);
    const { data } = (await issued.json()) as { data: { url: string } };
    return { partnerId: partner.id, url: data.url };
  }

  it('runs on a listed host site with an in-memory bearer session (no cookie), and the key it shows publishes', async () => {
    const { url } = await linkForVisit(listed, [{ pattern: 'app/shipment/*', send: true }]);
    embed = { server: listed.origin, link: url };

    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const portalCalls: Array<{ path: string; authorization: string | undefined }> = [];
    page.on('request', (request) => {
      const { origin, pathname } = new URL(request.url());
      if (origin === listed.origin && pathname.startsWith('/v1/partner-portal/') && request.method() !== 'OPTIONS')
        portalCalls.push({ path: pathname, authorization: request.headers().authorization });
    });
    await page.goto(hostOrigin);
    const onboarding = page.locator('partner-onboarding');
    await onboarding.getByRole('heading', { name: 'Acme Logistics invites you' }).waitFor();
    assert.equal(page.url(), `${hostOrigin}/`, 'the host page’s address is left alone');

    await onboarding.getByRole('button', { name: 'Get started' }).click();
    await onboarding.getByLabel('Contact email').fill('ops@shipfast.example');
    await onboarding.getByRole('button', { name: 'Save and continue' }).click();
    await onboarding.getByRole('heading', { name: 'Your API keys' }).waitFor();
    await onboarding.locator('[data-environment="prod"]').getByRole('button', { name: 'Create key' }).click();
    const keyField = onboarding.locator('[data-environment="prod"] [part~="key"]');
    await keyField.waitFor();
    const key = await keyField.inputValue();
    assert.match(key, /^pbp_[0-9A-Za-z]{28}$/);

    const published = await fetch(`${listed.origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'app/shipment/created', payload: { id: 's-1' } }),
    });
    assert.equal(published.status, 201, 'the key the partner was shown works');

    assert.deepEqual(
      (await context.cookies()).filter((cookie) => cookie.name === 'patchbay_portal'),
      [],
      'no portal cookie: the server set none for the host’s redemption',
    );
    assert.deepEqual(
      portalCalls.map((call) => call.path),
      ['/v1/partner-portal/redeem', '/v1/partner-portal/partner', '/v1/partner-portal/keys/prod'],
    );
    assert.equal(portalCalls[0]!.authorization, undefined, 'the redemption has no session yet');
    for (const call of portalCalls.slice(1)) assert.match(call.authorization ?? '', /^Bearer \S+$/, `${call.path} carried the session token`);
    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    assert.ok(!storage.includes(portalCalls[1]!.authorization!.slice('Bearer '.length)), 'the token is in no storage');
    assert.deepEqual(errors, [], 'no script errors on the host page');
    await context.close();
  });

  it('refuses a host site the server does not list: the partner sees the failure screen and the link stays unused', async () => {
    const { url } = await linkForVisit(unlisted);
    embed = { server: unlisted.origin, link: url };

    const context = await browser.newContext();
    const page = await context.newPage();
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await page.goto(hostOrigin);
    const onboarding = page.locator('partner-onboarding');
    await onboarding.getByRole('heading', { name: 'The invitation could not be opened' }).waitFor();
    // The refusal is a failed CORS preflight, which a page cannot tell from an unreachable server.
    await onboarding.getByRole('alert').filter({ hasText: 'The Patchbay server could not be reached.' }).waitFor();
    await onboarding.getByRole('button', { name: 'Try again' }).waitFor();
    // The host's developer is told where to look, in the console.
    const hints = warnings.filter((text) => text.includes('PATCHBAY_PARTNER_EMBED_ORIGINS'));
    assert.equal(hints.length, 1, `one console hint naming the setting:\n${warnings.join('\n')}`);
    assert.ok(hints[0]!.includes(hostOrigin) && hints[0]!.includes(unlisted.origin), hints[0]);

    // The same link on the server's own partner page: still unused, so it redeems.
    await page.goto(url);
    await onboarding.getByRole('heading', { name: 'Acme Logistics invites you' }).waitFor();
    await context.close();
  });
});
