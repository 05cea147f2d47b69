import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/** Prints the script-tag bundle's gzip size and SRI hash, and writes them where the server reads them. */
function bundleManifest(): Plugin {
  return {
    name: 'patchbay-bundle-manifest',
    apply: 'build',
    writeBundle(options, bundle) {
      const entry = bundle['patchbay.js'];
      if (!entry || entry.type !== 'chunk') return;
      const code = Buffer.from(entry.code);
      const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
      const chunks = Object.values(bundle).filter((item) => item.type === 'chunk');
      const gzipBytes = gzipSync(code, { level: 9 }).length;
      const totalGzipBytes = chunks.reduce((sum, chunk) => sum + gzipSync(Buffer.from(chunk.type === 'chunk' ? chunk.code : ''), { level: 9 }).length, 0);
      writeFileSync(`${options.dir}/manifest.json`, `${JSON.stringify({ file: 'patchbay.js', version, integrity, gzipBytes, totalGzipBytes }, null, 2)}\n`);
      console.log(`\npatchbay.js v${version}: ${code.length} bytes, ${gzipBytes} bytes gzip (all chunks ${totalGzipBytes} bytes gzip)\nintegrity: ${integrity}\n`);
    },
  };
}

export default defineConfig(({ mode }) => {
  const standalone = mode === 'standalone';
  return {
    // The script-tag bundle runs without a bundler: settle lit's and nanostores' dev-mode switches now.
    define: standalone ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
    build: {
      target: 'es2022',
      emptyOutDir: standalone ? false : true,
      outDir: standalone ? 'dist/standalone' : 'dist',
      sourcemap: true,
      minify: standalone,
      lib: {
        entry: (standalone ? { patchbay: 'src/index.ts' } : { index: 'src/index.ts', 'connect-button': 'src/components/connect-button/connect-button.ts', 'connector-picker': 'src/components/connector-picker/connector-picker.ts' }) as Record<string, string>,
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
