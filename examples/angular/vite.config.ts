import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The Angular example, bundled with @patchbay/widget as an ES module import (`npm run build:examples`).
 * It compiles its templates in the browser (Angular's JIT compiler), so a plain Vite build is enough
 * to show the recipe; an Angular CLI app compiles ahead of time and uses the same template.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs, so the built page works wherever it is served from.
  base: './',
  // The JIT compiler makes a large bundle (about 1 MB); an ahead-of-time build leaves it out.
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1500 },
  logLevel: 'warn',
});
