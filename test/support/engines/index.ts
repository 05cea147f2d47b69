import { launchChromium } from './chromium.js';
import { launchFirefox } from './firefox.js';
import type { EngineName } from './installed.js';
import { EnginePage, type EngineDriver } from './page.js';
import { launchWebKit } from './webkit.js';

export { ENGINES, type EngineName } from './installed.js';
export { EnginePage, type Target } from './page.js';

const launchers: Record<EngineName, () => Promise<EngineDriver>> = { chromium: launchChromium, firefox: launchFirefox, webkit: launchWebKit };

/** One engine, launched once per test file; each `newPage()` is a fresh profile. */
export async function launchEngine(name: EngineName): Promise<{ newPage(): Promise<EnginePage>; close(): Promise<void> }> {
  const driver = await launchers[name]();
  return { newPage: async () => new EnginePage(await driver.newWindow()), close: () => driver.close() };
}
