import { remote } from 'webdriverio';
import { startWebKitDriver, WEBKIT_CAPABILITIES } from './installed.js';
import { type EngineDriver, until, type WindowDriver } from './page.js';

type Session = WebdriverIO.Browser;

/**
 * WebKitGTK's MiniBrowser through WebKitWebDriver (classic WebDriver) and webdriverio; the driver
 * runs in its own virtual display. Classic WebDriver talks to one window at a time, so every
 * operation first switches to the window it is meant for.
 */
export async function launchWebKit(): Promise<EngineDriver> {
  let driver = await startWebKitDriver();
  /**
   * A WebDriver session is a fresh MiniBrowser with an ephemeral profile. Once in CI the driver never
   * answered a new session's request (webdriverio gave up after its 120 s), failing the test: the
   * request now gives up after 30 s, and the driver, wedged, is replaced before the next attempt.
   */
  const newSession = async (attempt = 1): Promise<Session> => {
    try {
      return await remote({
        hostname: driver.hostname,
        port: driver.port,
        path: '/',
        capabilities: WEBKIT_CAPABILITIES,
        logLevel: 'error',
        connectionRetryTimeout: 30_000,
      });
    } catch (error) {
      if (attempt === 3) throw error;
      await driver.stop();
      driver = await startWebKitDriver();
      return newSession(attempt + 1);
    }
  };
  return {
    newWindow: async () => {
      const session = await newSession();
      const handle = await session.getWindowHandle();
      return webdriverWindow(session, handle, { current: handle }, true);
    },
    close: () => driver.stop(),
  };
}

function webdriverWindow(session: Session, handle: string, focus: { current: string }, ownsSession: boolean): WindowDriver {
  const focused = async () => {
    if (focus.current !== handle) await session.switchToWindow(handle);
    focus.current = handle;
    return session;
  };
  const element = async (expression: string) => {
    const reference = await (await focused()).execute(`return ${expression}`);
    if (!reference) throw new Error(`no element: ${expression}`);
    return session.$(reference as unknown as WebdriverIO.Element);
  };
  return {
    goto: async (url) => void (await (await focused()).url(url)),
    url: async () => (await focused()).getUrl(),
    evaluate: async <T>(expression: string) => (await focused()).execute(`return (${expression})`) as Promise<T>,
    click: async (expression) => (await element(expression)).click(),
    type: async (expression, text) => (await element(expression)).setValue(text),
    popup: async (action) => {
      const before = await (await focused()).getWindowHandles();
      await action();
      const opened = await until(async () => (await session.getWindowHandles()).find((h) => !before.includes(h)), 'the window the click opened');
      return webdriverWindow(session, opened, focus, false);
    },
    isClosed: async () => !(await session.getWindowHandles()).includes(handle),
    close: async () => {
      if (ownsSession) return session.deleteSession();
      await (await focused()).closeWindow();
    },
  };
}
