import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Declarations } from '../packages/server/src/index.js';
import { closeServer, listenOnLoopback, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from '../packages/server/test/support/harness.js';
import { startMultiMethodApi, type MultiMethodApi } from '../packages/server/test/support/multi-method-api.js';
import { STAND_IN } from '../packages/server/test/support/stand-in-api.js';
import { launchChromium } from './support/browser.js';
import { signInAndConsent } from './support/provider-pages.js';

/** Where the screenshots of both choices go, when asked for (PATCHBAY_SHOTS_DIR); none otherwise. */
const SHOTS = process.env.PATCHBAY_SHOTS_DIR;
const INTEGRATION = 'workspace';

/**
 * A connector offering three auth methods (OAuth against oidc-provider, an API key, a password)
 * and a second, API-key connector, in one integration; both call the same loopback API, which says
 * which credential it was called with. Debian's Chromium, the real server, a host page of its own origin.
 */
function declarations(thirdParty: ThirdParty, api: MultiMethodApi, hostOrigin: string): Declarations {
  return {
    connectors: [
      {
        slug: 'triple',
        name: 'Triple Cloud',
        description: 'Takes a sign-in, an API key or a password',
        domain: 'triple.example',
        visibility: 'shared',
        baseUrl: api.origin,
        authMethods: [
          {
            type: 'oauth2',
            default: true,
            issuer: thirdParty.issuer,
            clientId: thirdParty.clientId,
            clientSecret: thirdParty.clientSecret,
            scopes: ['openid', 'demo.read'],
            authorizeParams: {},
          },
          { type: 'apiKey', default: false, in: 'header', name: 'X-API-Key' },
          { type: 'basic', default: false },
        ],
        actions: {},
      },
      {
        slug: 'keys',
        name: 'Key Vault',
        description: 'Takes an API key',
        visibility: 'shared',
        baseUrl: api.origin,
        authMethods: [{ type: 'apiKey', default: true, in: 'header', name: 'X-API-Key' }],
        actions: {},
      },
    ],
    integrations: [
      {
        id: INTEGRATION,
        name: 'Workspace',
        description: '',
        connectors: ['triple', 'keys'],
        allowedOrigins: [hostOrigin],
        configFields: [],
        actions: {
          tripleMe: { connector: 'triple', method: 'GET', path: '/me', forwardBody: false },
          keysMe: { connector: 'keys', method: 'GET', path: '/me', forwardBody: false },
        },
      },
    ],
  } as Declarations;
}

describe('choosing an auth method, and two connectors in one install, end to end', () => {
  let thirdParty: ThirdParty;
  let api: MultiMethodApi;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof listenOnLoopback>>;
  let accessKey: string;
  let markup = '';

  before(async () => {
    host = await listenOnLoopback();
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        api = await startMultiMethodApi(thirdParty.provider);
        return declarations(thirdParty, api, host.origin);
      },
    });
    host.server.on('request', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html lang="en"><title>Host</title><meta name="viewport" content="width=device-width, initial-scale=1">
<script type="module" src="${patchbay.origin}/widget/patchbay.js"></script>
<main style="padding: 16px">${markup}</main></html>`);
    });
    accessKey = await patchbay.accessKey();
    browser = await launchChromium();
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
    await api?.close();
    await thirdParty?.close();
    if (host) await closeServer(host.server);
  });

  async function sessionToken(tenantId: string, connector?: string): Promise<string> {
    const response = await fetch(`${patchbay.origin}/v1/integrations/${INTEGRATION}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId, ...(connector ? { connector } : {}) }),
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { token: string }).token;
  }

  /** A host page with the picker on a fresh session for the tenant. */
  async function openPicker(tenantId: string): Promise<Page> {
    markup = `<connector-picker integration="${INTEGRATION}" server="${patchbay.origin}" session-token="${await sessionToken(tenantId)}"></connector-picker>`;
    const page = await (await browser.newContext()).newPage();
    await page.goto(host.origin);
    await page.locator('connector-picker').locator('[part~="trigger"]').waitFor();
    return page;
  }

  async function shoot(page: Page, name: string): Promise<void> {
    if (!SHOTS) return;
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: width === 360 ? 640 : 800 });
      await page.waitForTimeout(150);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`) });
    }
  }

  const connectionsOf = (tenantId: string) =>
    patchbay.patchbay.ctx.store.db
      .selectFrom('connections')
      .select(['connector_id', 'auth_method'])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .orderBy('created_at')
      .execute();

  async function action(tenantId: string, name: string) {
    const response = await fetch(`${patchbay.origin}/v1/integrations/${INTEGRATION}/api/tenant/${tenantId}/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { status: number; body: { ok: boolean; via: string } }).body;
  }

  /** Fills the credential form in the sign-in window and saves it; the window closes itself. */
  async function submitForm(popup: Page, values: Record<string, string>): Promise<void> {
    for (const [name, value] of Object.entries(values)) await popup.locator(`input[name="${name}"]`).fill(value);
    await Promise.all([popup.waitForEvent('close'), popup.getByRole('button', { name: 'Save and connect' }).click()]);
  }

  it('connects two connectors of one integration from the picker, the first with a non-default method; both actions answer and both show connected', async () => {
    const page = await openPicker('tenant-1');
    const picker = page.locator('connector-picker');
    await picker.locator('[part~="trigger"]').click();
    await picker.locator('[part~="option"][data-slug="triple"]').click();
    const methods = picker.locator('[part~="method"]');
    await methods.first().waitFor();
    assert.deepEqual(await methods.evaluateAll((buttons) => buttons.map((button) => button.getAttribute('data-method'))), ['oauth2', 'apiKey', 'basic']);
    assert.equal(await methods.first().getAttribute('part'), 'method method-default');
    assert.equal(await page.evaluate(() => document.querySelector('connector-picker')!.shadowRoot!.activeElement?.getAttribute('data-method')), 'oauth2');
    await shoot(page, 'picker-methods');
    await page.setViewportSize({ width: 1280, height: 800 });

    // By keyboard: down to "API key", Enter opens the sign-in window with that method.
    await page.keyboard.press('ArrowDown');
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.keyboard.press('Enter')]);
    assert.equal(new URL(popup.url()).searchParams.get('method'), 'apiKey');
    await submitForm(popup, { key: STAND_IN.apiKey });
    await picker.locator('[part~="status"]', { hasText: 'Triple Cloud is connected.' }).waitFor();

    // The same page, with the session the picker read again: Triple Cloud is connected; now Key Vault, which has one method.
    const triple = picker.locator('[part~="option"][data-slug="triple"]');
    await picker.locator('[part~="connection"]').first().waitFor();
    const fresh = await sessionToken('tenant-1');
    await picker.evaluate((element, token) => element.setAttribute('session-token', token), fresh);
    await picker.locator('[part~="trigger"]').click();
    await triple.locator('[part~="state"]', { hasText: 'Connected' }).waitFor();
    const [second] = await Promise.all([page.waitForEvent('popup'), picker.locator('[part~="option"][data-slug="keys"]').click()]);
    await submitForm(second, { key: STAND_IN.apiKey });
    await picker.locator('[part~="status"]', { hasText: 'Key Vault is connected.' }).waitFor();

    // Both connectors show as connected, in the catalog and in the list of connections, without a reload.
    await picker.locator('[part~="connection"]').nth(1).waitFor();
    assert.deepEqual(await picker.locator('[part~="connection-name"]').evaluateAll((names) => names.map((name) => name.textContent?.trim())), [
      'Triple Cloud',
      'Key Vault',
    ]);
    await picker.locator('[part~="trigger"]').click();
    for (const slug of ['triple', 'keys']) await picker.locator(`[part~="option"][data-slug="${slug}"] [part~="state"]`, { hasText: 'Connected' }).waitFor();

    assert.deepEqual(await connectionsOf('tenant-1'), [
      { connector_id: 'triple', auth_method: 'apiKey' },
      { connector_id: 'keys', auth_method: 'apiKey' },
    ]);
    assert.deepEqual(await action('tenant-1', 'tripleMe'), { ok: true, via: 'apiKey' });
    assert.deepEqual(await action('tenant-1', 'keysMe'), { ok: true, via: 'apiKey' });
    const installs = await patchbay.patchbay.ctx.store.db.selectFrom('installs').select('connection_ids').where('tenant_id', '=', 'tenant-1').execute();
    assert.equal(installs.length, 1, 'one install holds both connections');
    assert.equal((JSON.parse(installs[0]!.connection_ids) as string[]).length, 2);
    await page.context().close();
  });

  it('lets the tenant pick a non-default method on the hosted start page: the password form, stored as basic', async () => {
    markup = `<connect-button integration="${INTEGRATION}" server="${patchbay.origin}" session-token="${await sessionToken('tenant-2', 'triple')}"></connect-button>`;
    const page = await (await browser.newContext()).newPage();
    await page.goto(host.origin);
    const button = page.locator('connect-button').locator('[part~="base"]');
    await button.filter({ hasText: 'Connect' }).waitFor();
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    const choices = popup.locator('button[name="method"]');
    await choices.first().waitFor();
    assert.deepEqual(await choices.evaluateAll((buttons) => buttons.map((b) => (b as HTMLButtonElement).value)), ['oauth2', 'apiKey', 'basic']);
    assert.match((await choices.first().textContent()) ?? '', /Sign in with Triple Cloud\s+Recommended/);
    await shoot(popup, 'hosted-methods');

    // By keyboard too: the choices are buttons in the tab order.
    await popup.getByRole('button', { name: 'Username and password' }).focus();
    await popup.keyboard.press('Enter');
    await popup.locator('input[name="username"]').waitFor();
    await submitForm(popup, STAND_IN.basic);
    await button.filter({ hasText: 'Connected' }).waitFor();
    assert.deepEqual(await connectionsOf('tenant-2'), [{ connector_id: 'triple', auth_method: 'basic' }]);
    assert.deepEqual(await action('tenant-2', 'tripleMe'), { ok: true, via: 'basic' });
    await page.context().close();
  });

  it('signs in with the default method, OAuth at oidc-provider, from the picker; the action answers with its token', async () => {
    const page = await openPicker('tenant-3');
    const picker = page.locator('connector-picker');
    await picker.locator('[part~="trigger"]').click();
    await picker.locator('[part~="option"][data-slug="triple"]').click();
    const [popup] = await Promise.all([page.waitForEvent('popup'), picker.locator('[part~="method-default"]').click()]);
    await signInAndConsent(popup, 'grace');
    await popup.waitForEvent('close');
    await picker.locator('[part~="status"]', { hasText: 'Triple Cloud is connected.' }).waitFor();
    assert.deepEqual(await connectionsOf('tenant-3'), [{ connector_id: 'triple', auth_method: 'oauth2' }]);
    assert.deepEqual(await action('tenant-3', 'tripleMe'), { ok: true, via: 'oauth2' });
    await page.context().close();
  });
});
