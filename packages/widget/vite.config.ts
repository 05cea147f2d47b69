import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/** The folder a package is installed in (its package.json is not among its exports). */
function packageDir(name: string): string {
  const entry = createRequire(import.meta.url).resolve(name);
  return entry.slice(0, entry.lastIndexOf(`${path.sep}${name}${path.sep}`) + name.length + 2);
}

/**
 * Prints the script-tag bundle's size and SRI hash, and writes them where the server reads them.
 * "Eager" is what a page loads for `<script src=…/patchbay.js>`: the entry and the chunks it
 * imports statically. Translations, the popover's positioning and `<partner-onboarding>` are
 * lazy chunks, loaded only by pages that use them.
 */
function bundleManifest(): Plugin {
  return {
    name: 'patchbay-bundle-manifest',
    apply: 'build',
    writeBundle(options, bundle) {
      const entry = bundle['patchbay.js'];
      if (!entry || entry.type !== 'chunk') return;
      const chunks = new Map(Object.values(bundle).flatMap((item) => (item.type === 'chunk' ? [[item.fileName, item] as const] : [])));
      const gzip = (fileName: string) => gzipSync(Buffer.from(chunks.get(fileName)!.code), { level: 9 }).length;
      const eager = new Set<string>();
      const visit = (fileName: string) => {
        if (eager.has(fileName)) return;
        eager.add(fileName);
        for (const imported of chunks.get(fileName)!.imports) visit(imported);
      };
      visit('patchbay.js');
      const code = Buffer.from(entry.code);
      const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
      const eagerGzipBytes = [...eager].reduce((sum, fileName) => sum + gzip(fileName), 0);
      const lazy = [...chunks.keys()].filter((fileName) => !eager.has(fileName)).map((fileName) => ({ file: fileName, gzipBytes: gzip(fileName) }));
      const totalGzipBytes = eagerGzipBytes + lazy.reduce((sum, chunk) => sum + chunk.gzipBytes, 0);
      writeFileSync(
        `${options.dir}/manifest.json`,
        `${JSON.stringify({ file: 'patchbay.js', version, integrity, gzipBytes: gzip('patchbay.js'), eagerGzipBytes, totalGzipBytes, lazy }, null, 2)}\n`,
      );
      console.log(
        `\npatchbay.js v${version}: ${eagerGzipBytes} bytes gzip loaded by a script tag (${eager.size} files), ${totalGzipBytes} bytes gzip with every lazy chunk`,
      );
      for (const chunk of lazy) console.log(`  lazy ${chunk.file}: ${chunk.gzipBytes} bytes gzip`);
      console.log(`integrity: ${integrity}\n`);
    },
  };
}

export default defineConfig(({ mode }) => {
  const standalone = mode === 'standalone';
  return {
    // The script-tag bundle must also load in Node (SSR, test runners), where there is no DOM: it takes
    // lit's Node-safe builds (the `node` export condition, which only lit-html and @lit/reactive-element
    // use: `HTMLElement` and `document` are read only when present, otherwise identical) with our
    // small stand-in for the DOM shim they import. `isServer` keeps its browser answer, false.
    resolve: standalone
      ? {
          conditions: ['module', 'node', 'development|production'],
          alias: {
            '@lit-labs/ssr-dom-shim': fileURLToPath(new URL('./src/internal/node-dom-shim.ts', import.meta.url)),
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
          ? { patchbay: 'src/index.ts' }
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
        output: { chunkFileNames: standalone ? 'patchbay-[name]-[hash].js' : 'chunks/[name]-[hash].js' },
      },
    },
    plugins: standalone ? [bundleManifest()] : [],
  };
});
