/**
 * `patchbay …` from the TypeScript sources, for tests that run the server or the CLI as real child
 * processes (`node --import tsx test/support/patchbay-cli.ts start`) without a build step first.
 * Same entry as bin/patchbay.js, which runs it compiled and bundled (dist/bundle/cli.js).
 */
import { main } from '../../src/cli.js';
import { sizeHeapForServer } from '../../src/cli/heap.js';

const argv = process.argv.slice(2);
// As bin/patchbay.js does before it loads the server (there, before its code cache is read).
if (argv[0] === 'start') sizeHeapForServer(process.execArgv, process.env.NODE_OPTIONS);
main(argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
