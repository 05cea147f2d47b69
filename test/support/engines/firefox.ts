import puppeteer, { type ElementHandle, type Page } from 'puppeteer-core';
import { FIREFOX_PATH } from './installed.js';
import type { EngineDriver, WindowDriver } from './page.js';

/**
 * Debian's Firefox ESR through puppeteer-core over WebDriver BiDi (Playwright cannot drive it), with
 * its popup blocker on (puppeteer's profile turns it off): the widget's popup must get past it. The
 * cookie policy is pinned to Firefox's default, Total Cookie Protection (ETP's cookieBehavior 5),
 * so the cross-site test meets the third-party cookie rules Firefox users have.
 */
export async function launchFirefox(): Promise<EngineDriver> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: { 'dom.disable_open_during_load': true, 'network.cookie.cookieBehavior': 5 },
  });
  return {
    newWindow: async () => puppeteerWindow(await (await browser.createBrowserContext()).newPage(), true),
    close: () => browser.close(),
  };
}

function puppeteerWindow(page: Page, ownsContext: boolean): WindowDriver {
  const element = async (expression: string) => {
    const handle = (await page.evaluateHandle(expression)).asElement() as ElementHandle<HTMLInputElement> | null;
    if (!handle) throw new Error(`no element: ${expression}`);
    return handle;
  };
  return {
    goto: async (url) => void (await page.goto(url)),
    url: async () => page.url(),
    evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    click: async (expression) => (await element(expression)).click(),
    type: async (expression, text) => {
      const input = await element(expression);
      await input.evaluate((el) => (el.value = ''));
      await input.type(text);
    },
    popup: async (action) => {
      const opened = new Promise<Page | null>((resolve) => page.once('popup', resolve));
      await action();
      const popup = await opened;
      if (!popup) throw new Error('the click opened no window');
      return puppeteerWindow(popup, false);
    },
    isClosed: async () => page.isClosed(),
    close: () => (ownsContext ? page.browserContext().close() : page.close()),
  };
}
