import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Router } from 'express';
import { type ContentCoding, negotiateEncoding } from '../http/accept-encoding.js';
import { notFound } from '../http/errors.js';

export interface WidgetBundle {
  dir: string;
  version: string;
  integrity: string | null;
  gzipBytes: number | null;
}

/** Finds the built script-tag bundle of @patchbay/widget (dist/standalone, written by its build). */
export function locateWidgetBundle(): WidgetBundle | null {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('@patchbay/widget/package.json');
  } catch {
    return null;
  }
  const dir = path.join(path.dirname(packageJson), 'dist', 'standalone');
  if (!existsSync(path.join(dir, 'patchbay.js'))) return null;
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Partial<WidgetBundle>) : {};
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { dir, version, integrity: manifest.integrity ?? null, gzipBytes: manifest.gzipBytes ?? null };
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** The suffix of each coding's file, written next to the file by the widget's build. */
const CODING_SUFFIXES: Record<Exclude<ContentCoding, 'identity'>, string> = { br: '.br', gzip: '.gz' };

interface Representation {
  body: Buffer;
  etag: string;
}

interface Asset {
  contentType: string;
  codings: ReadonlySet<ContentCoding>;
  representations: Partial<Record<ContentCoding, Representation>> & { identity: Representation };
}

/**
 * Reads the bundle once, when the first widget file is asked for (reading and hashing a few hundred
 * kilobytes cost a start ~10 ms that a server behind a firewall may never serve): each file with
 * the brotli and gzip copies its build wrote. Names come from the directory, never from a request,
 * so a request can only ever name one of these files. A strong ETag per representation: each
 * coding's bytes differ.
 */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (!contentType) continue;
    const identity = readFileSync(path.join(dir, name));
    const tag = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
    const representations: Asset['representations'] = { identity: { body: identity, etag: `"${tag}"` } };
    for (const [coding, suffix] of Object.entries(CODING_SUFFIXES) as [Exclude<ContentCoding, 'identity'>, string][]) {
      const file = path.join(dir, name + suffix);
      if (existsSync(file)) representations[coding] = { body: readFileSync(file), etag: `"${tag}-${coding}"` };
    }
    assets.set(name, { contentType, codings: new Set(Object.keys(representations) as ContentCoding[]), representations });
  }
  return assets;
}

/**
 * `/widget/patchbay.js` always serves the current build (short cache, for pages that want the
 * latest); `/widget/v{version}/patchbay.js` is immutable and cached for a year (for SRI pinning).
 * Each file goes out compressed when the client takes it (brotli, else gzip; `Vary:
 * Accept-Encoding` so caches keep each apart). Module scripts load cross-origin, so every answer
 * carries CORS `*` (they hold no secrets).
 */
export function widgetRoutes(bundle: WidgetBundle): Router {
  const router = Router();
  let assets: Map<string, Asset> | undefined;
  const versionPrefix = `/v${bundle.version}/`;
  router.use(function serveWidgetAsset(req, res, next) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const versioned = req.path.startsWith(versionPrefix);
    assets ??= loadAssets(bundle.dir);
    const asset = assets.get(versioned ? req.path.slice(versionPrefix.length) : req.path.slice(1));
    if (!asset) throw notFound('widget_file_not_found', `No such widget file; this server serves version ${bundle.version} (${req.baseUrl}${versionPrefix}…).`);
    const coding = negotiateEncoding(req.get('accept-encoding'), asset.codings);
    const representation = asset.representations[coding]!;
    res.set({
      'content-type': asset.contentType,
      'content-length': String(representation.body.length),
      vary: 'Accept-Encoding',
      etag: representation.etag,
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    });
    if (coding !== 'identity') res.set('content-encoding', coding);
    if (req.fresh) {
      res.removeHeader('content-length');
      res.status(304).end();
      return;
    }
    res.status(200).end(req.method === 'HEAD' ? undefined : representation.body);
  });
  return router;
}
