// Component tests in Debian's Chromium, Firefox ESR or WebKitGTK (web-test-runner.browsers.mjs).
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { browsers, files } from './web-test-runner.browsers.mjs';
import { freePort } from '../../test/support/engines/installed.js';

/**
 * The component tests make real fetches over loopback to the shared mock handlers (mocks/, built on
 * the wire contract; the same ones Storybook runs), answered in Node by the dev server rather than
 * by a service worker in the page, so every engine sees the same thing. Tests steer them with
 * /__stand-in/… (src/test-support/stand-in.ts). The real server is covered by the end-to-end tests.
 */
const { koaMiddleware } = await tsImport('../../mocks/koa.ts', import.meta.url);
const { sessionHandlers, steeringHandlers } = await tsImport('../../mocks/sessions.ts', import.meta.url);
const { portalHandlers, portalSteeringHandlers } = await tsImport('../../mocks/portal.ts', import.meta.url);
const handlers = [...portalSteeringHandlers, ...steeringHandlers, ...sessionHandlers(), ...portalHandlers];

export default {
  middleware: [koaMiddleware(handlers, ['/v1/integrations/', '/mock-patchbay/', '/__stand-in/'])],
  // nanostores reads process.env.NODE_ENV, which bundlers replace; the test page has no bundler.
  testRunnerHtml: (testFramework) =>
    `<html><head><script>window.process = { env: { NODE_ENV: 'development' } };</script></head><body><script type="module" src="${testFramework}"></script></body></html>`,
  files,
  // npm test runs the three engines at once: each dev server takes a port of its own.
  port: await freePort(),
  nodeResolve: true,
  concurrency: 1,
  testFramework: { config: { timeout: 10000 } },
  browsers,
  // The decorator options live in tsconfig.wtr.json itself: esbuildPlugin does not follow `extends`.
  plugins: [esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.wtr.json', import.meta.url)) })],
};
