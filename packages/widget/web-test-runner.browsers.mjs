// Which engine runs the component tests: PATCHBAY_ENGINE=chromium (default), firefox or webkit.
// One engine per run keeps each run small on a 2-core machine and gives each engine its own count
// in `npm test`. All three are Debian's own builds; nothing here downloads a browser.
import { chromeLauncher } from '@web/test-runner-chrome';
import { WebdriverLauncher } from '@web/test-runner-webdriver';
import * as puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ENGINES, FIREFOX_PATH, WEBKIT_CAPABILITIES, startWebKitDriver } from '../../test/support/engines/installed.js';

export const engine = process.env.PATCHBAY_ENGINE || 'chromium';
if (!ENGINES.includes(engine)) throw new Error(`PATCHBAY_ENGINE must be one of ${ENGINES.join(', ')}, not "${engine}"`);

/**
 * A window frame's measured size in whole pixels. WebKitGTK under Xvfb can report an outer size of 0
 * for a moment (seen once in CI, where the negative frame made the window size invalid): a frame
 * that measures negative or not at all is taken as none, and the next attempt measures it again.
 */
const frameOf = (size) => (Number.isFinite(size) && size > 0 ? Math.round(size) : 0);

/**
 * `setViewport` for the WebDriver launcher: @web/test-runner-commands implements it for puppeteer
 * and Playwright only. WebDriver sizes the window, so the window is grown by its own frame to give
 * the page the requested viewport. WTR puts its own command plugins first (and they throw for
 * WebDriver), so the WebKit launcher puts this one ahead of them.
 */
const webdriverViewport = {
  name: 'patchbay-webdriver-viewport',
  async executeCommand({ command, payload, session }) {
    if (command !== 'set-viewport' || session.browser.type !== 'webdriver') return undefined;
    const { driver } = session.browser;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      // A string, not a function: this file is Node code, the expression runs in the page.
      const [width, height, frameWidth, frameHeight] = await driver.execute(
        'return [innerWidth, innerHeight, outerWidth - innerWidth, outerHeight - innerHeight]',
      );
      if (width === payload.width && height === payload.height) return true;
      await driver.setWindowSize(payload.width + frameOf(frameWidth), payload.height + frameOf(frameHeight));
    }
    throw new Error(`The window would not give the page a ${payload.width}×${payload.height} viewport`);
  },
};

/** WebKitGTK through WebKitWebDriver, which this launcher starts (inside xvfb-run) and stops. */
class WebKitLauncher extends WebdriverLauncher {
  constructor() {
    super({ automationProtocol: 'webdriver', capabilities: WEBKIT_CAPABILITIES });
  }

  async initialize(config) {
    // The test runner's command plugins answer in order; the first that answers wins.
    config.plugins.unshift(webdriverViewport);
    this.webkitDriver = await startWebKitDriver();
    Object.assign(this.options, { hostname: this.webkitDriver.hostname, port: this.webkitDriver.port, path: '/' });
    await super.initialize(config);
    this.name = 'WebKit';
  }

  async stop() {
    await super.stop();
    await this.webkitDriver?.stop();
  }
}

function launcherFor(name) {
  if (name === 'firefox') {
    // Firefox ESR speaks WebDriver BiDi; puppeteer-core drives it (the Chrome launcher takes any
    // puppeteer). @web/test-runner-puppeteer would add the full `puppeteer`, which downloads Chrome.
    return chromeLauncher({ puppeteer, launchOptions: { browser: 'firefox', executablePath: FIREFOX_PATH, headless: true } });
  }
  if (name === 'webkit') return new WebKitLauncher();
  return chromeLauncher({ launchOptions: { executablePath: CHROMIUM_PATH, headless: true, args: ['--headless', ...CHROMIUM_ARGS] } });
}

export const browsers = [launcherFor(engine)];

/**
 * Every `*.test.ts` runs in every engine, except `*.chromium.test.ts`: tests that need a DevTools
 * protocol command neither Firefox's WebDriver BiDi nor WebKit's WebDriver offers (each such file
 * says which).
 */
export const files = ['src/**/*.test.ts', ...(engine === 'chromium' ? [] : ['!src/**/*.chromium.test.ts'])];
