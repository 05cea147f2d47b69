// The three browser engines as Debian installs them, in one place for the component tests
// (packages/widget/web-test-runner.browsers.mjs) and the end-to-end adapters (./*.ts).
// Plain JavaScript so @web/test-runner's config can import it without a TypeScript loader.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

export const CHROMIUM_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER_PATH = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** Chromium must not reach for the network (no internet here) and needs no sandbox as root. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * WebDriver capabilities for WebKitGTK's MiniBrowser. webdriverio 9 first tries WebDriver BiDi,
 * which WebKitWebDriver refuses ("Failed to match capabilities"): stay on classic WebDriver.
 */
export const WEBKIT_CAPABILITIES = {
  browserName: 'MiniBrowser',
  'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args: ['--automation'] },
  'wdio:enforceWebDriverClassic': true,
};

/** A free loopback port, for servers that would otherwise all try the same default (web-test-runner: 8000). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts WebKitWebDriver on a free loopback port inside its own virtual X display: MiniBrowser has
 * no headless mode, so `xvfb-run -a` gives it (and only it) a display. Resolves once the driver
 * answers /status; `stop()` ends the driver, its browsers and the X server together.
 *
 * MiniBrowser's toolbar keeps its window at least 447 px wide, too wide for the phone-width tests
 * (360 px): a GTK style sheet in a private config directory lets the toolbar shrink. It styles
 * only the browser's own widgets, never the page.
 *
 * Two runs starting at once can pick the same display (`xvfb-run -a`) or port: a start that fails
 * that way is tried again, up to three times.
 */
export async function startWebKitDriver() {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startWebKitDriverOnce();
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function startWebKitDriverOnce() {
  const port = await freePort();
  const configHome = mkdtempSync(join(tmpdir(), 'patchbay-webkit-'));
  mkdirSync(join(configHome, 'gtk-3.0'));
  writeFileSync(join(configHome, 'gtk-3.0', 'gtk.css'), 'headerbar, toolbar, entry, button { min-width: 0; padding: 0; margin: 0; }\n');
  const child = spawn('xvfb-run', ['-a', WEBKIT_DRIVER_PATH, `--port=${port}`], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, XDG_CONFIG_HOME: configHome },
  });
  let exited = false;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
      return true;
    } catch {
      return false;
    }
  };
  // A test process that ends without stop() (a crash, an early exit) must not leave the group behind.
  process.once('exit', kill);
  child.once('exit', () => {
    exited = true;
    process.off('exit', kill);
    rmSync(configHome, { recursive: true, force: true });
  });
  const stop = async () => {
    if (!exited && kill()) await gone;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`WebKitWebDriver exited before it answered (is ${WEBKIT_DRIVER_PATH} installed?)`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('WebKitWebDriver did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { hostname: '127.0.0.1', port, stop };
}
