/**
 * What an end-to-end flow needs from a browser, whatever the engine: one small adapter per engine
 * (chromium.ts, firefox.ts, webkit.ts) implements `EngineDriver`; `EnginePage` adds the waiting and
 * finding on top, once, so the three engines run the very same steps.
 */

/**
 * An element to act on: CSS selectors from the document down, each one inside the previous
 * element's shadow root (`['connect-button', '[part~="base"]']`), optionally the first match whose
 * text contains `text`.
 */
export interface Target {
  css: string[];
  text?: string;
}

/** The few operations an engine adapter provides for one window (a page or a popup). */
export interface WindowDriver {
  goto(url: string): Promise<void>;
  url(): Promise<string>;
  /** Evaluates a JavaScript expression in the page (awaiting a promise) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** A real (trusted) click on the element the expression evaluates to, so popups count as user-initiated. */
  click(elementExpression: string): Promise<void>;
  /** Replaces the value of the input the expression evaluates to by typing `text`. */
  type(elementExpression: string, text: string): Promise<void>;
  /** Runs `action` and resolves with the window it opened. */
  popup(action: () => Promise<void>): Promise<WindowDriver>;
  isClosed(): Promise<boolean>;
  close(): Promise<void>;
}

export interface EngineDriver {
  /** A new window in a fresh profile: no cookies or storage from another test. */
  newWindow(): Promise<WindowDriver>;
  close(): Promise<void>;
}

/** Finds a Target in the page; runs in the browser, so it is a string of plain JavaScript. */
const FIND = `(css, text) => {
  let root = document;
  let found = null;
  for (const [i, selector] of css.entries()) {
    if (i > 0) root = found && found.shadowRoot;
    if (!root) return null;
    const last = i === css.length - 1;
    found = [...root.querySelectorAll(selector)].find((el) => !last || !text || el.textContent.includes(text)) || null;
  }
  return found;
}`;

const find = (target: Target) => `(${FIND})(${JSON.stringify(target.css)}, ${JSON.stringify(target.text ?? null)})`;
const visible = (target: Target) => `(() => { const el = ${find(target)}; return !!el && el.getClientRects().length > 0 && !el.disabled; })()`;

const TIMEOUT_MS = 30_000;

/** Polls a condition: the machine is slow and shared, so waits are for conditions with generous limits. */
export async function until<T>(check: () => Promise<T>, what: string, timeoutMs = TIMEOUT_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export class EnginePage {
  constructor(readonly driver: WindowDriver) {}

  goto(url: string): Promise<void> {
    return this.driver.goto(url);
  }

  url(): Promise<string> {
    return this.driver.url();
  }

  evaluate<T>(expression: string): Promise<T> {
    return this.driver.evaluate<T>(expression);
  }

  /** Waits until a JavaScript expression is truthy in the page. */
  async waitFor(expression: string, what = expression, timeoutMs?: number): Promise<void> {
    await until(() => this.driver.evaluate<unknown>(expression), what, timeoutMs);
  }

  async waitForUrl(pattern: RegExp): Promise<string> {
    return until(async () => {
      const url = await this.driver.url();
      return pattern.test(url) ? url : null;
    }, `an address matching ${pattern}`);
  }

  /** Waits until the target is shown and enabled. */
  async waitForElement(target: Target): Promise<void> {
    await this.waitFor(visible(target), `${target.css.join(' ▸ ')}${target.text ? ` with “${target.text}”` : ''}`);
  }

  async text(target: Target): Promise<string> {
    await this.waitForElement(target);
    return this.driver.evaluate<string>(`${find(target)}.textContent.trim()`);
  }

  async click(target: Target): Promise<void> {
    await this.waitForElement(target);
    await this.driver.click(find(target));
  }

  async type(target: Target, text: string): Promise<void> {
    await this.waitForElement(target);
    await this.driver.type(find(target), text);
  }

  /** Clicks the target and returns the window that the click opened. */
  async clickForPopup(target: Target): Promise<EnginePage> {
    await this.waitForElement(target);
    return new EnginePage(await this.driver.popup(() => this.driver.click(find(target))));
  }

  async waitForClose(): Promise<void> {
    await until(() => this.driver.isClosed(), 'the window to close');
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
