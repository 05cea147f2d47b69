import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { Router } from 'express';

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

/**
 * `/widget/patchbay.js` always serves the current build (short cache, for pages that want the
 * latest); `/widget/v{version}/patchbay.js` is immutable and cached for a year (for SRI pinning).
 * Module scripts load cross-origin, so both answer with CORS `*` (they hold no secrets).
 */
export function widgetRoutes(bundle: WidgetBundle): Router {
  const router = Router();
  const serve = (maxAge: string, immutable: boolean) =>
    express.static(bundle.dir, {
      immutable,
      maxAge,
      index: false,
      fallthrough: true,
      setHeaders(res) {
        res.setHeader('access-control-allow-origin', '*');
        res.setHeader('cross-origin-resource-policy', 'cross-origin');
        res.setHeader('x-content-type-options', 'nosniff');
      },
    });
  router.use(`/v${bundle.version}`, serve('365d', true));
  router.use('/', serve('5m', false));
  return router;
}
