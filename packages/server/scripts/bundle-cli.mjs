#!/usr/bin/env node
// The CLI's bundle: bin/patchbay.js runs dist/bundle/cli.js, tsc's output (dist/) bundled by
// esbuild into a few files. Loading ~1,000 modules one by one (resolving, stat-ing, reading and
// compiling each) was most of `patchbay start`'s cold start and of every CLI command's; the bundle
// loads in a fraction of that. Each command's dynamic import stays a chunk of its own, so a remote
// command still loads no server code (test/cli-bundle.test.ts reads the metafile written here).
// The library (`import … from '@patchbay/server'`) stays tsc's dist/, unbundled.
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  // Loaded from node_modules as they are: the native SQLite driver (its binary is found on disk);
  // the PostgreSQL driver, the demo's OAuth provider and undici (each loaded only when first used,
  // by a dynamic import, which esbuild's chunks answer with a CommonJS module's `default` alone:
  // `({ Agent }) => …` would find nothing); and redoc (served as a file, never imported).
  external: ['better-sqlite3', 'pg', 'oidc-provider', 'undici', 'redoc'],
  // The bundled CommonJS packages (Express and its kin) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __patchbayCreateRequire } from 'node:module';\nconst require = __patchbayCreateRequire(import.meta.url);" },
});
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
