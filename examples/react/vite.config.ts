import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The React example, bundled with @patchbay/widget as an ES module import (`npm run build:examples`).
 * Vite's own transform handles JSX (React's automatic runtime); no plugin is needed for a build.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs, so the built page works wherever it is served from.
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
});
