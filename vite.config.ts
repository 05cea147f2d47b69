import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip as gzipCompress } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/**
 * How @patchbay/widget is built, in its two modes (`npm run build -w @patchbay/widget` runs both):
 * - library (default): ES modules for bundlers in packages/widget/dist/, one entry per element plus
 *   `index.js`; lit, nanostores and @floating-ui stay imports, so the host's own copies are used.
 * - script tag (`--mode standalone`): packages/widget/dist/standalone/patchbay.js (entry src/standalone.ts)
 *   with lit and all else it needs, minified, for `<script type="module" src=…>`; lazy chunks, brotli and gzip copies, and
 *   manifest.json (sizes and the SRI hash), which the server reads to serve it.
 * Everything resolves from the widget's folder, so the build runs the same from the root.
 */
const widgetDir = fileURLToPath(new URL('./packages/widget/', import.meta.url));
const inWidget = (file: string) => path.join(widgetDir, file);

const { version } = JSON.parse(readFileSync(inWidget('package.json'), 'utf8')) as { version: string };

/** The folder a package is installed in (its package.json is not among its exports). */
function packageDir(name: string): string {
  const entry = createRequire(import.meta.url).resolve(name);
  return entry.slice(0, entry.lastIndexOf(`${path.sep}${name}${path.sep}`) + name.length + 2);
}

const brotli = promisify(brotliCompress);
const gzip = promisify(gzipCompress);

/** One file of the bundle as the server sends it: identity, brotli and gzip, the last two written next to it. */
async function compressNextToIt(file: string): Promise<{ file: string; bytes: number; brotliBytes: number; gzipBytes: number }> {
  const data = await readFile(file);
  const [brotliData, gzipData] = await Promise.all([
    brotli(data, { params: { [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    gzip(data, { level: 9 }),
  ]);
  await Promise.all([writeFile(`${file}.br`, brotliData), writeFile(`${file}.gz`, gzipData)]);
  return { file: path.basename(file), bytes: data.length, brotliBytes: brotliData.length, gzipBytes: gzipData.length };
}

/**
 * Compresses every file of the script-tag bundle at build time (brotli and gzip, next to each file,
 * for the server to send by `Accept-Encoding`), and prints and writes (manifest.json) the bytes a
 * page transfers and the SRI hash. "Eager" is what a page loads for `<script src=…/patchbay.js>`:
 * the entry and the chunks it imports statically, which is all a page with only `<connect-button>`
 * loads before its first click. `<connector-picker>`, `<partner-onboarding>`, the button's flow and
 * manage list, translations and the popover's positioning are lazy chunks, loaded only when used.
 */
function bundleManifest(): Plugin {
  return {
    name: 'patchbay-bundle-manifest',
    apply: 'build',
    async writeBundle(options, bundle) {
      const entry = bundle['patchbay.js'];
      if (!entry || entry.type !== 'chunk' || !options.dir) return;
      const dir = options.dir;
      const chunks = new Map(Object.values(bundle).flatMap((item) => (item.type === 'chunk' ? [[item.fileName, item] as const] : [])));
      const eagerFiles = new Set<string>();
      const visit = (fileName: string) => {
        if (eagerFiles.has(fileName)) return;
        eagerFiles.add(fileName);
        for (const imported of chunks.get(fileName)!.imports) visit(imported);
      };
      visit('patchbay.js');
      // Chunks and source maps alike: whatever the server serves, it can serve compressed.
      const sizes = new Map(
        await Promise.all(Object.keys(bundle).map(async (fileName) => [fileName, await compressNextToIt(path.join(dir, fileName))] as const)),
      );
      const sum = (files: { brotliBytes: number; gzipBytes: number }[], key: 'brotliBytes' | 'gzipBytes') =>
        files.reduce((total, file) => total + file[key], 0);
      const eager = [...eagerFiles].map((fileName) => sizes.get(fileName)!);
      const lazy = [...chunks.keys()].filter((fileName) => !eagerFiles.has(fileName)).map((fileName) => sizes.get(fileName)!);
      // What a page with one of the lazily defined elements loads before its first click: the entry's
      // files and that element's chunk with the chunks it imports.
      const eagerOf = (files: Set<string>) => ({
        brotliBytes: sum(
          [...files].map((fileName) => sizes.get(fileName)!),
          'brotliBytes',
        ),
        gzipBytes: sum(
          [...files].map((fileName) => sizes.get(fileName)!),
          'gzipBytes',
        ),
        files: [...files],
      });
      const pages: Record<string, ReturnType<typeof eagerOf>> = { 'connect-button': eagerOf(eagerFiles) };
      for (const element of ['connector-picker', 'partner-onboarding']) {
        const chunk = [...chunks.values()].find((candidate) => candidate.facadeModuleId?.endsWith(`/${element}.ts`));
        if (!chunk) continue;
        const files = new Set(eagerFiles);
        const add = (fileName: string) => {
          if (files.has(fileName)) return;
          files.add(fileName);
          for (const imported of chunks.get(fileName)!.imports) add(imported);
        };
        add(chunk.fileName);
        pages[element] = eagerOf(files);
      }
      const integrity = `sha384-${createHash('sha384')
        .update(readFileSync(path.join(dir, 'patchbay.js')))
        .digest('base64')}`;
      const manifest = {
        file: 'patchbay.js',
        version,
        integrity,
        gzipBytes: sizes.get('patchbay.js')!.gzipBytes,
        /** What a page transfers for the script tag, by the encoding the server sends. */
        eagerBrotliBytes: sum(eager, 'brotliBytes'),
        eagerGzipBytes: sum(eager, 'gzipBytes'),
        totalBrotliBytes: sum([...eager, ...lazy], 'brotliBytes'),
        totalGzipBytes: sum([...eager, ...lazy], 'gzipBytes'),
        /** Per page that uses only that element, before its first click (`connect-button` is the entry's own). */
        pages,
        eager,
        lazy,
      };
      await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await compressNextToIt(path.join(dir, 'manifest.json'));
      console.log(
        `\npatchbay.js v${version}: a script tag transfers ${manifest.eagerBrotliBytes} bytes brotli, ${manifest.eagerGzipBytes} bytes gzip (${eager.length} files); ` +
          `${manifest.totalBrotliBytes} bytes brotli, ${manifest.totalGzipBytes} bytes gzip with every lazy chunk`,
      );
      for (const [element, page] of Object.entries(pages))
        console.log(`  a page with only <${element}>: ${page.brotliBytes} bytes brotli, ${page.gzipBytes} bytes gzip (${page.files.length} files)`);
      for (const chunk of lazy) console.log(`  lazy ${chunk.file}: ${chunk.brotliBytes} bytes brotli, ${chunk.gzipBytes} bytes gzip`);
      console.log(`integrity: ${integrity}\n`);
    },
  };
}

export default defineConfig(({ mode }) => {
  const standalone = mode === 'standalone';
  return {
    root: widgetDir,
    // The script-tag bundle must also load in Node (SSR, test runners), where there is no DOM: it takes
    // lit's Node-safe builds (the `node` export condition, which only lit-html and @lit/reactive-element
    // use: `HTMLElement` and `document` are read only when present, otherwise identical) with our
    // small stand-in for the DOM shim they import. `isServer` keeps its browser answer, false.
    resolve: standalone
      ? {
          conditions: ['module', 'node', 'development|production'],
          alias: {
            '@lit-labs/ssr-dom-shim': inWidget('src/internal/node-dom-shim.ts'),
            'lit-html/is-server.js': path.join(packageDir('lit-html'), 'is-server.js'),
          },
        }
      : {},
    // The script-tag bundle runs without a bundler: settle lit's and nanostores' dev-mode switches now.
    define: standalone ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
    build: {
      target: 'es2022',
      emptyOutDir: standalone ? false : true,
      outDir: standalone ? 'dist/standalone' : 'dist',
      sourcemap: true,
      minify: standalone,
      lib: {
        entry: (standalone
          ? { patchbay: 'src/standalone.ts' }
          : {
              index: 'src/index.ts',
              'connect-button': 'src/components/connect-button/connect-button.ts',
              'connector-picker': 'src/components/connector-picker/connector-picker.ts',
              'partner-onboarding': 'src/components/partner-onboarding/partner-onboarding.ts',
            }) as Record<string, string>,
        formats: ['es'] as const,
      },
      rolldownOptions: {
        // For bundlers, the host's own lit and nanostores are used; the script-tag bundle carries its own.
        external: standalone ? [] : [/^lit(\/|$)/, /^@lit\//, /^nanostores(\/|$)/, /^@floating-ui\//],
        output: {
          chunkFileNames: standalone ? 'patchbay-[name]-[hash].js' : 'chunks/[name]-[hash].js',
          // Vite's library mode keeps whitespace (and pure annotations) in ES output for downstream
          // bundlers; the script-tag bundle has none, so it is minified fully.
          ...(standalone ? { minify: true } : {}),
          // What every page loads (lit, the shared internals, <connect-button>) in one file next to the
          // entry, fetched with it; lazy chunks import it, never the entry (whose URL may carry a query).
          // The entry keeps its own few lines (and so its source map).
          ...(standalone
            ? { codeSplitting: { groups: [{ name: 'core', tags: ['$initial' as const], test: (id: string) => !id.endsWith('/src/standalone.ts') }] } }
            : {}),
        },
      },
    },
    plugins: standalone ? [bundleManifest()] : [],
  };
});
