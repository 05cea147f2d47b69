#!/usr/bin/env node
// The CLI's bundle: bin/patchbay.js runs dist/bundle/cli.js, tsc's output (dist/) bundled by
// esbuild into a few files. Loading ~1,000 modules one by one (resolving, stat-ing, reading and
// compiling each) was most of `patchbay start`'s cold start and of every CLI command's; the bundle
// loads in a fraction of that. Each command's dynamic import stays a chunk of its own, so a remote
// command still loads no server code (test/cli-bundle.test.ts reads the metafile written here).
// The library (`import … from '@patchbay/server'`) stays tsc's dist/, unbundled.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });

/**
 * One copy of each package version in the bundle. npm nests a package under each dependant when
 * another version holds the top of node_modules: Express 5's accepts, body-parser, send and express
 * itself each bring their own mime-types 3.0.2 and mime-db 1.54.0. Bundled as they lie, that is
 * four 200 KB tables parsed and scored at every start. A second copy of a name@version already
 * met resolves to the first copy's file instead; a different version stays its own.
 */
const oneCopyPerVersion = {
  name: 'one-copy-per-version',
  setup(build) {
    const firstRoot = new Map(); // "name@version" → the package folder met first
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'deduped' || args.path.startsWith('node:')) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'deduped' });
      if (resolved.errors.length > 0 || resolved.external || !resolved.path.includes(`${path.sep}node_modules${path.sep}`)) return resolved;
      const packageRoot = packageRootOf(resolved.path);
      const { name, version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));
      const key = `${name}@${version}`;
      const first = firstRoot.get(key);
      if (first === undefined) firstRoot.set(key, packageRoot);
      return first === undefined || first === packageRoot ? resolved : { ...resolved, path: first + resolved.path.slice(packageRoot.length) };
    });
  },
};

/**
 * zod's English messages only. `z` (a namespace the server calls dynamically, so nothing of it is
 * shaken out) re-exports every language's messages: ~360 KB, half of zod in the bundle, parsed at
 * every start and never used. The server answers in English; the library build (dist/) is untouched.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: "export { default as en } from './en.js';", loader: 'js' }));
  },
};

/** The folder right under the last node_modules of a resolved file (a scope counts as part of the name). */
function packageRootOf(file) {
  const marker = `${path.sep}node_modules${path.sep}`;
  const start = file.lastIndexOf(marker) + marker.length;
  const parts = file.slice(start).split(path.sep);
  return file.slice(0, start) + parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join(path.sep);
}

/** What both builds share: the CLI's code, its two plugins, and what stays in node_modules. */
const common = {
  absWorkingDir: root,
  entryPoints: ['dist/cli.js'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [oneCopyPerVersion, zodEnglishOnly],
  // Loaded from node_modules as they are: the native SQLite driver (its binary is found on disk);
  // the PostgreSQL driver, the demo's OAuth provider and undici (each loaded only when first used,
  // by a dynamic import, which esbuild's chunks answer with a CommonJS module's `default` alone:
  // `({ Agent }) => …` would find nothing); redoc (served as a file, never imported); and
  // iconv-lite, whose ~500 KB of character-set tables load only when a body names a charset other
  // than UTF-8: bundled, every start would parse them.
  external: ['better-sqlite3', 'pg', 'oidc-provider', 'undici', 'redoc', 'iconv-lite'],
};

// Every command but `start`: ES modules in chunks, each command's code loaded when it runs.
const result = await build({
  ...common,
  outdir,
  splitting: true,
  format: 'esm',
  metafile: true,
  // The bundled CommonJS packages (Express and its kin) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __patchbayCreateRequire } from 'node:module';\nconst require = __patchbayCreateRequire(import.meta.url);" },
});
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));

// `patchbay start`: the same CLI as one CommonJS file, which bin/patchbay.js runs with V8's compiled
// code cached on disk (src/cli/code-cache.ts); Node 20 caches compiled code for no ES module. The
// other commands' code is in it too, but esbuild wraps what is imported dynamically in functions
// that run only when imported, so start runs none of it.
const startBundle = `${outdir}/start.cjs`;
await build({
  ...common,
  outfile: startBundle,
  format: 'cjs',
  // import.meta.url (the package's own files are found from it) is the bundle's own address.
  define: { 'import.meta.url': '__patchbayBundleUrl' },
  banner: {
    js: [
      "var __patchbayBundleUrl = require('node:url').pathToFileURL(__filename).href;",
      // See hostImports below: the loader's import() when it passes one, else the bundle's own.
      "var __patchbayImport = typeof __patchbayHostImport === 'function' ? __patchbayHostImport : (specifier) => import(specifier);",
    ].join('\n'),
  },
});
writeFileSync(startBundle, asciiOnly(hostImports(readFileSync(startBundle, 'utf8'))));

/**
 * The external packages' `import()`s in the start bundle, made calls of `__patchbayImport`, the
 * loader's own import() (src/cli/code-cache.ts). On Node 20 a script compiled from cached code
 * loses its import() callback ("A dynamic import callback was not specified"); the loader's
 * import() is an ES module's, which has one. Only the packages left external are imported this
 * way (esbuild turns every other import() into a call within the bundle), so the calls are known.
 */
function hostImports(code) {
  const names = common.external.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const replaced = code.replace(new RegExp(`\\bimport\\((["'])(${names})\\1\\)`, 'g'), '__patchbayImport($1$2$1)');
  if (replaced === code) throw new Error('bundle-cli: the start bundle imports no external package; is hostImports still needed?');
  return replaced;
}

/**
 * The start bundle in ASCII alone, which the loader decodes as Latin-1, a quarter of UTF-8's cost
 * for 3 MB (~5 ms of each start). esbuild writes code in ASCII already (its `charset` default) but
 * keeps comments as written; the few other characters left are in comments, escaped here as text.
 */
function asciiOnly(code) {
  return code.replace(/[^\0-\x7f]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
