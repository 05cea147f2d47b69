import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build, type Rollup } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { countPopups, eventsOf, openSession, recordEvents, startHostPage, waitForEvent } from './support/flow-host.js';
import { signInAndConsent } from './support/provider-pages.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Resume anywhere: an element that gets a session token asks the server where the session stands.
 * A remount or a reload in the middle of a sign-in ends connected without another click, with one
 * sign-in window only.
 */
describe('resuming a flow after a remount or a reload', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let plain: Awaited<ReturnType<typeof startHostPage>>;
  let react: Awaited<ReturnType<typeof startHostPage>>;
  let reactBundle = '';
  let token = '';

  before(async () => {
    // The React host (test/support/react-host.ts), bundled with React as an app would be.
    const output = (await build({
      configFile: false,
      logLevel: 'silent',
      root,
      define: { 'process.env.NODE_ENV': '"production"' },
      build: { write: false, minify: false, modulePreload: false, rolldownOptions: { input: path.join(root, 'test/support/react-host.ts') } },
    })) as Rollup.RollupOutput;
    reactBundle = output.output.find((chunk): chunk is Rollup.OutputChunk => chunk.type === 'chunk' && chunk.isEntry)!.code;
    plain = await startHostPage(() => patchbay.origin, {
      body: () => `<connect-button integration="acme-sync" server="${patchbay.origin}" session-token="${token}"></connect-button>`,
    });
    react = await startHostPage(() => patchbay.origin, {
      body: () => `<div id="root" data-server="${patchbay.origin}" data-token="${token}"></div><script type="module" src="/app.js"></script>`,
      scripts: { '/app.js': () => reactBundle },
    });
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return oauthDeclarations(thirdParty, { allowedOrigins: [plain.origin, react.origin] });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await plain?.close();
    await react?.close();
    await patchbay?.close();
    await thirdParty?.close();
  });

  async function openHost(origin: string, tenantId: string) {
    token = (await openSession(patchbay, 'acme-sync', tenantId)).token;
    const context = await browser.newContext();
    const page = await context.newPage();
    await recordEvents(page);
    await page.goto(origin);
    const popups = countPopups(context, page);
    const button = page.locator('connect-button').locator('[part~="base"]');
    await button.waitFor();
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await popup.locator('input[name="login"]').waitFor();
    return { page, popup, popups, button };
  }

  async function assertConnectedOnce(page: Page, popups: { count: number }) {
    await waitForEvent(page, 'patchbay-connected');
    await page.locator('connect-button').locator('[part~="base"]').filter({ hasText: 'Connected' }).waitFor();
    const events = await eventsOf(page);
    assert.deepEqual(
      events.map((event) => event.type),
      ['patchbay-connected'],
      `events: ${JSON.stringify(events)}`,
    );
    assert.equal(popups.count, 1, 'one sign-in window, no second popup');
  }

  it('React re-keys the element mid-flow: the new element connects without another click', async () => {
    const { page, popup, popups } = await openHost(react.origin, 'react-remount');
    await page.evaluate(() => ((document.querySelector('connect-button') as HTMLElement).dataset.generation = 'first'));
    await page.evaluate(() => (window as unknown as { remount(): void }).remount());
    await page.waitForFunction(() => {
      const element = document.querySelector('connect-button') as HTMLElement | null;
      return element !== null && element.dataset.generation !== 'first';
    });
    assert.equal(await page.locator('connect-button').count(), 1, 'the old element is gone, a new one took its place');
    await signInAndConsent(popup);
    await assertConnectedOnce(page, popups);
    await page.context().close();
  });

  it('the plain page reloads mid-flow: the reloaded page offers Reopen and Cancel, then connects when the person finishes', async () => {
    const { page, popup, popups } = await openHost(plain.origin, 'plain-reload');
    await page.reload();
    // No window is known to the new document: the choices are offered while the server is asked.
    await page.locator('connect-button').locator('[part~="reopen"]').waitFor();
    await signInAndConsent(popup);
    await assertConnectedOnce(page, popups);
    await page.context().close();
  });

  it('a reload after the sign-in finished commits and installs without a click', async () => {
    const { page, popup, popups } = await openHost(plain.origin, 'plain-reload-late');
    // The page goes away before the popup reports back; the sign-in completes meanwhile.
    await page.goto('about:blank');
    const closed = popup.waitForEvent('close');
    await signInAndConsent(popup);
    await closed;
    await page.goto(plain.origin);
    await assertConnectedOnce(page, popups);
    await page.context().close();
  });
});
