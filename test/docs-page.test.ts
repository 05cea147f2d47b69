import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startPatchbay, type TestPatchbay } from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';

/** Where the screenshots go, when asked for (`PATCHBAY_SHOTS=dir`): to look at the page at a phone's and a desktop's width. */
const SHOTS = process.env.PATCHBAY_SHOTS;
const REDOCLY_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';

/**
 * The reference page works offline: every request that leaves loopback is refused, and the page
 * still renders the whole document, with no policy violation and no error in the console.
 */
describe('the API reference at /docs, offline', () => {
  let patchbay: TestPatchbay;
  let browser: Browser;

  before(async () => {
    patchbay = await startPatchbay();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
  });

  async function openDocs(width: number): Promise<{ page: Page; problems: string[]; leaving: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const problems: string[] = [];
    const leaving: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin === patchbay.origin || url.protocol === 'blob:' || url.protocol === 'data:') return route.continue();
      leaving.push(url.href);
      return route.abort();
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      const text = message.text();
      // Redoc's "API docs by Redocly" footer tries its logo from its CDN and hides it when that
      // fails: the policy refuses it, which is the point. Any other refusal or error is a problem.
      if (text.includes(`'${REDOCLY_LOGO}'`)) return;
      if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${patchbay.origin}/docs`);
    return { page, problems, leaving };
  }

  for (const width of [360, 1280]) {
    it(`renders every tag and operation at ${width} px, fetching nothing from elsewhere`, async () => {
      const { page, problems, leaving } = await openDocs(width);
      await page
        .getByRole('heading', { name: /Patchbay API/ })
        .first()
        .waitFor({ timeout: 30_000 });
      await page.locator('h2', { hasText: 'Create a session' }).waitFor();
      assert.equal(await page.locator('h2', { hasText: 'Run a tenant’s action' }).count(), 1, 'operations are shown');
      if (SHOTS) {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: `${SHOTS}/docs-${width}.png` });
        await page.locator('h2', { hasText: 'Create a connector' }).scrollIntoViewIfNeeded();
        await page.screenshot({ path: `${SHOTS}/docs-${width}-operation.png` });
      }
      assert.deepEqual(leaving, [], 'requests that left loopback');
      assert.deepEqual(problems, [], 'console errors or policy violations');
      await page.context().close();
    });
  }
});
