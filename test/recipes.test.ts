import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Response } from 'playwright-core';
import {
  closeServer,
  listenOnLoopback,
  oauthDeclarations,
  startPatchbay,
  startThirdParty,
  type TestPatchbay,
  type ThirdParty,
} from '../packages/server/test/support/harness.js';
import { launchChromium } from './support/browser.js';
import { signInAndConsent } from './support/provider-pages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
/** The address the example pages name for the Patchbay server (README's default port). */
const EXAMPLE_SERVER = 'http://localhost:4400';
const TOKEN = /^ses_[0-9A-Za-z]{22}_secret_[0-9A-Za-z]{22,}$/;

/** The bundled framework examples (built by `npm run build:examples`) and how each binds the element. */
const FRAMEWORK_EXAMPLES = [
  { framework: 'React 19', folder: 'react', binding: 'passes sessionToken as a JSX property and listens with onpatchbay-connected' },
  { framework: 'Vue 3', folder: 'vue', binding: 'binds :sessionToken.prop and listens with @patchbay-connected' },
  { framework: 'Svelte 5', folder: 'svelte', binding: 'sets sessionToken={…} as a property and listens with onpatchbay-connected' },
  { framework: 'Angular', folder: 'angular', binding: 'binds [sessionToken] under CUSTOM_ELEMENTS_SCHEMA and listens with (patchbay-connected)' },
] as const;
const BUNDLED_ASSET = new RegExp(`^/(${FRAMEWORK_EXAMPLES.map(({ folder }) => folder).join('|')})/assets/[\\w.-]+\\.js$`);

/** Each script's file name, the bytes its body took on the wire and the encoding it came in. */
async function transferred(responses: Response[]): Promise<Array<{ name: string; bytes: number; encoding: string }>> {
  return Promise.all(
    responses.map(async (response) => ({
      name: new URL(response.url()).pathname.split('/').pop() ?? '',
      bytes: (await response.request().sizes()).responseBodySize,
      encoding: (await response.headerValue('content-encoding')) ?? 'identity',
    })),
  );
}

/**
 * The framework recipes' example pages (docs/recipes.md), served as a host app on its own origin,
 * against the real server: the plain HTML page loads the script-tag bundle from /widget/patchbay.js;
 * the React 19, Vue 3, Svelte 5 and Angular apps bundle @patchbay/widget. The host backend opens
 * sessions with an access key and hands the page only the session token, as the recipes say.
 */
describe('the framework recipes’ example pages against the real server', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let browser: Browser;
  let host: Awaited<ReturnType<typeof listenOnLoopback>>;
  let accessKey = '';
  const issuedTokens: string[] = [];

  before(async () => {
    // The framework examples are built from the current sources before they are served.
    const build = spawnSync('npm', ['run', 'build:examples', '--silent'], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, `npm run build:examples failed:\n${build.stdout}${build.stderr}`);

    host = await listenOnLoopback();
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return oauthDeclarations(thirdParty, { allowedOrigins: [host.origin] });
      },
    });
    accessKey = await patchbay.accessKey();
    host.server.on('request', (req, res) => {
      void serveHost(req.method ?? 'GET', new URL(req.url ?? '/', host.origin).pathname).then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        (error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(error.message);
        },
      );
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await patchbay?.close();
    await thirdParty?.close();
    if (host) await closeServer(host.server);
  });

  // The button shows the tenant's state on load: each page starts from a tenant with no connection.
  beforeEach(async () => {
    await patchbay.patchbay.ctx.store.db.updateTable('connections').set({ status: 'revoked' }).where('tenant_id', '=', 'tenant-recipes').execute();
  });

  /** The host app: its backend's session endpoint, and the example pages as files. */
  async function serveHost(method: string, pathname: string): Promise<{ status: number; type: string; body: string | Buffer }> {
    if (method === 'POST' && pathname === '/api/patchbay-session') {
      const response = await fetch(`${patchbay.origin}/v1/integrations/acme-sync/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenantId: 'tenant-recipes', redirectUrl: `${host.origin}/` }),
      });
      const { token } = (await response.json()) as { token: string };
      issuedTokens.push(token);
      return { status: response.status, type: 'application/json', body: JSON.stringify({ token, server: patchbay.origin }) };
    }
    const files: Record<string, string> = {
      '/plain-html/': 'plain-html/index.html',
      '/plain-html/app.js': 'plain-html/app.js',
      ...Object.fromEntries(FRAMEWORK_EXAMPLES.map(({ folder }) => [`/${folder}/`, `${folder}/dist/index.html`])),
    };
    const asset = BUNDLED_ASSET.exec(pathname);
    const relative = files[pathname] ?? (asset ? `${asset[1]}/dist${pathname.slice(asset[1]!.length + 1)}` : null);
    if (!relative) return { status: 404, type: 'text/plain', body: 'not found' };
    const type = relative.endsWith('.html') ? 'text/html' : 'text/javascript';
    const text = await readFile(path.join(examples, relative), 'utf8');
    // The page names the README's default server address; this run's server has another port.
    return { status: 200, type, body: text.replaceAll(EXAMPLE_SERVER, patchbay.origin) };
  }

  async function open(pathname: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${host.origin}${pathname}`);
    return { page, errors };
  }

  /** What the page's <connect-button> is once the page has its session token. */
  async function readButton(page: Page) {
    await page.waitForFunction(() => Boolean((document.querySelector('connect-button') as { sessionToken?: string } | null)?.sessionToken));
    return page.evaluate(() => {
      const element = document.querySelector('connect-button') as (HTMLElement & { sessionToken: string; status: string }) | null;
      return {
        upgraded: element instanceof (customElements.get('connect-button') ?? class {}),
        hasShadowRoot: Boolean(element?.shadowRoot?.querySelector('[part~="base"]')),
        sessionToken: element?.sessionToken ?? '',
        attributes: element ? element.getAttributeNames() : [],
        status: element?.status ?? '',
      };
    });
  }

  /** Clicks Connect: the flow's popup opens at this session's start URL and reaches the provider's sign-in. */
  async function clickOpensTheFlowPopup(page: Page, sessionToken: string): Promise<Page> {
    const sessionId = sessionToken.split('_secret_')[0];
    const button = page.locator('connect-button').locator('[part~="base"]');
    const [popup, request] = await Promise.all([
      page.waitForEvent('popup'),
      // The popup's own requests: the context sees every page's, the page only its own.
      page.context().waitForEvent('request', { predicate: (candidate) => candidate.url().includes(`/session/${sessionId}/start`) }),
      button.click(),
    ]);
    const startUrl = new URL(request.url());
    assert.equal(startUrl.origin, patchbay.origin, 'the popup goes to the Patchbay server');
    assert.equal(startUrl.pathname, `/v1/integrations/acme-sync/session/${sessionId}/start`);
    assert.equal(startUrl.searchParams.get('mode'), 'popup');
    assert.equal(startUrl.searchParams.get('origin'), host.origin, 'the host page’s origin, which the integration allows');
    await popup.locator('input[name="login"]').waitFor();
    assert.ok(popup.url().startsWith(thirdParty.issuer), 'the server sent the popup on to the provider');
    return popup;
  }

  it('plain HTML: the script tag from /widget/patchbay.js upgrades <connect-button>, the page sets the token, a click runs the flow and the page hears patchbay-connected', async () => {
    const { page, errors } = await open('/plain-html/');
    const button = await readButton(page);
    assert.ok(button.upgraded, '<connect-button> is defined by the script tag and upgraded');
    assert.ok(button.hasShadowRoot, 'it rendered its button');
    assert.match(button.sessionToken, TOKEN);
    assert.ok(issuedTokens.includes(button.sessionToken), 'the token is the one the host backend got from the server');
    assert.equal(await page.locator('connect-button').getAttribute('session-token'), button.sessionToken);
    assert.equal(button.status, 'idle');

    const popup = await clickOpensTheFlowPopup(page, button.sessionToken);
    await signInAndConsent(popup);
    await page.locator('#status', { hasText: /^Connected: install ins_\w+ for tenant tenant-recipes\.$/ }).waitFor();
    await page.locator('connect-button').locator('[part~="base"]', { hasText: 'Connected' }).waitFor();
    assert.deepEqual(errors, [], 'no script errors on the page');
    await page.close();
  });

  it('plain HTML: before the first click the script tag transfers at most 14 KB of JavaScript (no picker, onboarding or other language), and the flow’s code arrives with the click', async () => {
    const page = await browser.newPage();
    const widgetScripts: Response[] = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.origin === patchbay.origin && url.pathname.startsWith('/widget/') && url.pathname.endsWith('.js')) widgetScripts.push(response);
    });
    await page.goto(`${host.origin}/plain-html/`);
    const button = await readButton(page);
    await page.waitForLoadState('networkidle');
    const eager = await transferred(widgetScripts);
    const eagerBytes = eager.reduce((sum, file) => sum + file.bytes, 0);
    assert.ok(eagerBytes <= 14 * 1024, `the page transferred ${eagerBytes} bytes of JavaScript before the first click: ${JSON.stringify(eager)}`);
    assert.ok(
      eager.every((file) => ['br', 'gzip'].includes(file.encoding)),
      `every file came compressed: ${JSON.stringify(eager)}`,
    );
    assert.deepEqual(
      eager.map((file) => file.name.replace(/-[\w-]{8}\.js$/, '.js')).sort(),
      ['patchbay-core.js', 'patchbay.js'],
      'only the entry and the core it imports: the picker, onboarding, flow and other languages wait until used',
    );

    const before = widgetScripts.length;
    const popup = await clickOpensTheFlowPopup(page, button.sessionToken);
    assert.ok(widgetScripts.length > before, 'the click loaded the flow’s code');
    await popup.close();
    await page.close();
  });

  for (const { framework, folder, binding } of FRAMEWORK_EXAMPLES) {
    it(`${framework}: the bundled app ${binding}`, async () => {
      const { page, errors } = await open(`/${folder}/`);
      const button = await readButton(page);
      assert.ok(button.upgraded, '<connect-button> is defined by the bundled @patchbay/widget and upgraded');
      assert.ok(button.hasShadowRoot, 'it rendered its button');
      assert.match(button.sessionToken, TOKEN);
      assert.ok(issuedTokens.includes(button.sessionToken), 'the token is the one the host backend got from the server');
      // The framework set the token as a property: no `session-token` attribute, nor a lower-cased `sessiontoken`.
      assert.ok(
        !button.attributes.includes('sessiontoken') && !button.attributes.includes('session-token'),
        `${framework} set sessionToken as a property (attributes: ${button.attributes.join(', ')})`,
      );
      assert.equal(await page.locator('connect-button').evaluate((element) => (element as HTMLElement & { server: string }).server), patchbay.origin);

      const popup = await clickOpensTheFlowPopup(page, button.sessionToken);
      await signInAndConsent(popup);
      // The text comes from the app's own state, set in its patchbay-connected handler.
      await page.locator('#status', { hasText: /^Connected: install ins_\w+ for tenant tenant-recipes\.$/ }).waitFor();
      assert.deepEqual(errors, [], 'no script errors in the app');
      await page.close();
    });
  }
});
