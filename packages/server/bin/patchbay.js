#!/usr/bin/env node
// The published entry point: the CLI bundled into dist/bundle/ (built by `npm run build`; see scripts/bundle-cli.mjs).
import { main } from '../dist/bundle/cli.js';

// `patchbay keys list | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
