import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The Vue 3 example, bundled with @patchbay/widget as an ES module import (`npm run build:examples`). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs, so the built page works wherever it is served from.
  base: './',
  plugins: [
    // Vue's template compiler must treat the Patchbay tags as custom elements, not Vue components.
    vue({ template: { compilerOptions: { isCustomElement: (tag) => tag === 'connect-button' || tag === 'connector-picker' } } }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
});
