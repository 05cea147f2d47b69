#!/usr/bin/env node
// The published entry point: the CLI bundled into dist/bundle/ (built by `npm run build`; see scripts/bundle-cli.mjs).
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1 and later keep V8's compiled code for the bundle on disk (in the system's temporary
// folder) and reuse it on the next start: compiling the bundle is most of what a command costs after
// its first. Node 20 has no such cache for ES modules; there, this does nothing.
module.enableCompileCache?.();

// `patchbay keys list | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const argv = process.argv.slice(2);
const { main } = argv[0] === 'start' ? await startBundle() : await import('../dist/bundle/cli.js');
main(argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);

/**
 * `patchbay start` runs the CLI's CommonJS bundle with its compiled code cached on disk, on every Node
 * version (dist/cli/code-cache.js). The cache is written a second after loading, when the server is
 * up and the code of its start has been compiled; it is the next start that gains.
 */
async function startBundle() {
  const [{ loadBundle }, { sizeHeapForServer }] = await Promise.all([import('../dist/cli/code-cache.js'), import('../dist/cli/heap.js')]);
  // Before the server's code loads: its modules are the first allocations the young generation
  // holds. And V8 refuses cached code written under other flags than it is loaded with, so the
  // flags are set here, at every start, before the bundle is compiled and before its cache is written.
  sizeHeapForServer(process.execArgv, process.env.NODE_OPTIONS);
  const bundle = loadBundle(fileURLToPath(new URL('../dist/bundle/start.cjs', import.meta.url)), process.env);
  setTimeout(() => bundle.writeCache(), 1000).unref();
  return bundle.exports;
}
