/**
 * `patchbay …` from the TypeScript sources, for tests that run the server or the CLI as real child
 * processes (`node --import tsx test/support/patchbay-cli.ts start`) without a build step first.
 * Same entry as bin/patchbay.js, which runs it compiled and bundled (dist/bundle/cli.js).
 */
import { main } from '../../src/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
