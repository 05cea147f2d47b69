// ESLint lives in the tools/lint workspace (see its package.json for why); this re-export lets
// `eslint .` find it from the repository root.
export { default } from './tools/lint/eslint.config.js';
