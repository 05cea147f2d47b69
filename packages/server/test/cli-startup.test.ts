import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './support/processes.js';
import { SERVER_ONLY_PACKAGES } from './support/server-packages.js';

// Through ../test/ so the paths hold from test/ and from its compiled copy (.test-build, scripts/compile-tests.js).
const ENTRY = fileURLToPath(new URL('../test/support/patchbay-cli.ts', import.meta.url));
const HOOK = fileURLToPath(new URL('../test/support/loaded-packages.mjs', import.meta.url));

async function packagesLoadedBy(args: string[]): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', HOOK, ENTRY, ...args], {
    env: { ...process.env, PATCHBAY_API_KEY: 'pk_test_not_a_key', PATCHBAY_SERVER: 'http://127.0.0.1:9' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = await runToEnd(child);
  const line = /^loaded-packages: (.*)$/m.exec(run.stderr);
  assert.ok(line, `the hook reported what was loaded:\n${run.stderr}`);
  return line[1]!.split(',').filter(Boolean);
}

describe('what a CLI command loads', () => {
  for (const args of [['--help'], ['connectors', 'list'], ['audit', 'list'], ['webhooks', 'list']]) {
    it(`patchbay ${args.join(' ')} loads none of the server's packages (no store, no Express)`, async () => {
      const loaded = await packagesLoadedBy(args);
      assert.deepEqual(
        loaded.filter((name) => SERVER_ONLY_PACKAGES.includes(name)),
        [],
        `loaded: ${loaded.join(', ')}`,
      );
    });
  }

  it('patchbay keys list, a local command, does load the store (the check above can fail)', async () => {
    const loaded = await packagesLoadedBy(['keys', 'list', '--database-url', 'sqlite::memory:']);
    assert.ok(loaded.includes('kysely'), `loaded: ${loaded.join(', ')}`);
  });
});
