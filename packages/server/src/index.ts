export { createServer } from './app.js';
export type { ServerParts } from './routes.js';
export { type Config, ConfigError, loadConfig, parseMasterKeys } from './config.js';
export type { AppContext } from './context.js';
export { parseDeclarations, type Declarations } from './declarations.js';
export { createLogger } from './logger.js';
export { createPatchbay, listen, type Patchbay, type PatchbayOptions } from './runtime.js';
export { openStore, type Store } from './store/store.js';
