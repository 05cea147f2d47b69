import { chromium, type ElementHandle, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './installed.js';
import type { EngineDriver, WindowDriver } from './page.js';

/**
 * Debian's Chromium through playwright-core (the Chrome DevTools protocol), with its popup blocker
 * on (Playwright turns it off by default): the widget's popup must get past it as it would for a person.
 */
export async function launchChromium(): Promise<EngineDriver> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--disable-popup-blocking'],
  });
  return {
    newWindow: async () => playwrightWindow(await (await browser.newContext()).newPage(), true),
    close: () => browser.close(),
  };
}

function playwrightWindow(page: Page, ownsContext: boolean): WindowDriver {
  const element = async (expression: string) => {
    const handle = (await page.evaluateHandle(expression)).asElement() as ElementHandle | null;
    if (!handle) throw new Error(`no element: ${expression}`);
    return handle;
  };
  return {
    goto: async (url) => void (await page.goto(url)),
    url: async () => page.url(),
    evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    click: async (expression) => (await element(expression)).click(),
    type: async (expression, text) => (await element(expression)).fill(text),
    popup: async (action) => {
      const [popup] = await Promise.all([page.waitForEvent('popup'), action()]);
      return playwrightWindow(popup, false);
    },
    isClosed: async () => page.isClosed(),
    close: () => (ownsContext ? page.context().close() : page.close()),
  };
}
