// The repository's ESLint rules (flat config). The root eslint.config.js re-exports this file so
// `eslint .` works from the root; the plugins resolve from this workspace, where typescript-eslint
// finds the TypeScript 6 it parses with.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import lit from 'eslint-plugin-lit';
import litA11y from 'eslint-plugin-lit-a11y';
import wc from 'eslint-plugin-wc';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const componentSources = ['packages/widget/src/**/*.ts', 'stories/**/*.ts'];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      // The test suites' JavaScript, compiled from their TypeScript (scripts/compile-tests.js).
      '**/.test-build/',
      'storybook-static/',
      'coverage/',
      '.patchbay/',
      'tmp/',
      'packages/widget/custom-elements.json',
      '.storybook/public/mockServiceWorker.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (a handler's required parameter, a skipped element).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  // Code that runs in the browser: the components, the stories, the demo pages and the examples.
  {
    files: [...componentSources, 'packages/widget/test-support/**', '.storybook/**', 'examples/**', 'packages/server/public/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: componentSources,
    ...lit.configs['flat/recommended'],
  },
  {
    files: componentSources,
    ...litA11y.configs.recommended,
    plugins: { 'lit-a11y': litA11y },
  },
  {
    files: componentSources,
    ...wc.configs['flat/best-practice'],
  },
  // Formatting belongs to Prettier; switch off every rule that would argue with it.
  prettier,
);
