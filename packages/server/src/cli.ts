/**
 * The `patchbay` command's entry: bin/patchbay.js runs the compiled dist/cli.js. The commands
 * themselves live in cli/ (main.ts dispatches).
 */
export { main } from './cli/main.js';
