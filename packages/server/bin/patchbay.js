#!/usr/bin/env node
// The published entry point: the CLI bundled into dist/bundle/ (built by `npm run build`; see scripts/bundle-cli.mjs).
import module from 'node:module';

// Node 22.1 and later keep V8's compiled code for the bundle on disk (in the system's temporary
// folder) and reuse it on the next start: compiling the bundle is most of what a start costs after
// its first. Node 20 has no such cache; there, this does nothing.
module.enableCompileCache?.();

// `patchbay keys list | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Imported after the cache is on: a static import would be compiled before the line above runs.
const { main } = await import('../dist/bundle/cli.js');
main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
