import { fileURLToPath } from 'node:url';
import type { StorybookConfig } from '@storybook/web-components-vite';
import { mergeConfig } from 'vite';

/**
 * Storybook for the widget's components, read from their sources (no build needed first).
 * Set up by hand: `storybook init` needs the network. Telemetry is off, or every build waits on it.
 */
const config: StorybookConfig = {
  framework: { name: '@storybook/web-components-vite', options: {} },
  stories: ['../stories/*.stories.ts'],
  // Docs pages with the argument tables that preview.ts fills from custom-elements.json.
  addons: ['@storybook/addon-docs'],
  core: { disableTelemetry: true },
  // msw's service worker script (mockServiceWorker.js), served at the root so it controls the preview.
  staticDirs: ['./public'],
  async viteFinal(viteConfig) {
    return mergeConfig(viteConfig, {
      // The widget's decorator settings (experimentalDecorators, useDefineForClassFields: false):
      // standard decorators are left untransformed by Vite 8 and fail in Chromium.
      tsconfig: fileURLToPath(new URL('../packages/widget/tsconfig.json', import.meta.url)),
      // One pre-bundle for every Lit entry point (Storybook's renderer uses directive-helpers), so `npm run storybook` loads one copy of Lit.
      optimizeDeps: {
        include: ['lit', 'lit/decorators.js', 'lit/directives/ref.js', 'lit/directive-helpers.js', '@lit/task', 'nanostores', '@floating-ui/dom'],
      },
    });
  },
};

export default config;
