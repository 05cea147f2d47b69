import { createRequire } from 'node:module';
import path from 'node:path';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import type { RouteLine } from '../http/route-table.js';

const require = createRequire(import.meta.url);
/** Redoc's standalone bundle, from the server's own dependencies: the reference page fetches nothing from elsewhere. */
const REDOC_BUNDLE = require.resolve('redoc/bundles/redoc.standalone.js');
const REDOC_VERSION = (require(path.join(path.dirname(REDOC_BUNDLE), '..', 'package.json')) as { version: string }).version;
const BUNDLE_PATH = '/docs/redoc.standalone.js';

/**
 * The page's policy, exactly what Redoc needs: its script from here; inline styles, because it
 * styles itself with styled-components (style tags written at run time); the document from here;
 * a blob: worker for its search index; data: images for its icons. No other origin, no eval.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  'worker-src blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** No inline script: `<redoc spec-url>` is read by the bundle itself when it loads. */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Patchbay API reference</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json" hide-download-button="" path-in-middle-panel="" expand-responses="200,201"></redoc>
    <script src="${BUNDLE_PATH}?v=${REDOC_VERSION}"></script>
  </body>
</html>
`;

/** `/openapi.json` and the reference page `/docs`: public, like the API's shape they describe. */
export function openApiRoutes(ctx: Pick<AppContext, 'config'>, routes: readonly RouteLine[]): Router {
  const router = Router();
  let document: Promise<string> | undefined;

  router.get('/openapi.json', async function openApiHandler(_req, res) {
    // Built on first use, then kept: the routes and schemas do not change while the process runs.
    // Its builder and the operations table are loaded then too, not at start.
    document ??= import('./document.js').then(({ buildOpenApiDocument }) => JSON.stringify(buildOpenApiDocument(routes, { serverUrl: ctx.config.publicUrl })));
    let body: string;
    try {
      body = await document;
    } catch (error) {
      document = undefined; // a failed build is tried again by the next request
      throw error;
    }
    res.set({ 'cache-control': 'no-cache', 'access-control-allow-origin': '*' }).type('application/json').send(body);
  });

  router.get('/docs', function docsPageHandler(_req, res) {
    res.set({ 'content-security-policy': DOCS_CSP, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    res.type('html').send(DOCS_PAGE);
  });

  router.get(BUNDLE_PATH, function docsBundleHandler(_req, res) {
    // The page asks for it with Redoc's version in the URL, so a long, immutable cache is safe.
    res.sendFile(REDOC_BUNDLE, { maxAge: '365d', immutable: true, headers: { 'x-content-type-options': 'nosniff' } });
  });

  return router;
}
