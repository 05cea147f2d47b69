import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const widgetDir = fileURLToPath(new URL('../packages/widget/', import.meta.url));
const TAGS = ['connect-button', 'connector-picker', 'partner-onboarding'];

/** Every JavaScript file the widget ships: the package's entries, its chunks and the script-tag bundle. */
function shippedFiles(): string[] {
  const dist = path.join(widgetDir, 'dist');
  assert.ok(existsSync(path.join(dist, 'standalone', 'patchbay.js')), 'build the widget first (npm run build)');
  const { exports } = JSON.parse(readFileSync(path.join(widgetDir, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  const entries = Object.values(exports)
    .map((target) => (typeof target === 'string' ? target : target.default))
    .filter((target) => target.endsWith('.js'))
    .map((target) => path.join(widgetDir, target));
  const inDir = (dir: string) =>
    readdirSync(path.join(dist, dir))
      .filter((name) => name.endsWith('.js'))
      .map((name) => path.join(dist, dir, name));
  return [...new Set([...entries, ...inDir('.'), ...inDir('chunks'), ...inDir('standalone')])].sort();
}

/** Imports one file in a fresh Node (no DOM at all) and reports what it left behind. */
const probe = `
const registryBefore = globalThis.customElements;
await import(process.argv[1]);
// Anything the module started asynchronously has a moment to fail the process too.
await new Promise((resolve) => setTimeout(resolve, 20));
const registry = globalThis.customElements;
console.log(JSON.stringify({
  registryBefore: typeof registryBefore,
  registry: typeof registry,
  defined: registry ? ${JSON.stringify(TAGS)}.filter((tag) => registry.get(tag) !== undefined) : [],
  HTMLElement: typeof globalThis.HTMLElement,
  document: typeof globalThis.document,
}));
`;

describe('the widget in Node, without a DOM (SSR, test runners)', () => {
  const files = shippedFiles();

  it('ships the files this test knows about', () => {
    const names = files.map((file) => path.relative(path.join(widgetDir, 'dist'), file));
    for (const expected of ['index.js', 'connect-button.js', 'connector-picker.js', 'partner-onboarding.js', 'standalone/patchbay.js'])
      assert.ok(names.includes(expected), `${expected} is checked`);
    assert.ok(names.some((name) => name.startsWith('chunks/')) && names.filter((name) => name.startsWith('standalone/')).length > 2, names.join(', '));
  });

  for (const file of files) {
    const name = path.relative(path.join(widgetDir, 'dist'), file);
    it(`imports ${name} without throwing and defines nothing`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', probe, pathToFileURL(file).href], {
        cwd: widgetDir,
        timeout: 60_000,
      }).catch((error: { stderr?: string; message: string }) => assert.fail(`importing ${name} failed: ${error.stderr || error.message}`));
      const after = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        registryBefore: string;
        registry: string;
        defined: string[];
        HTMLElement: string;
        document: string;
      };
      assert.equal(after.registryBefore, 'undefined', 'Node has no custom element registry of its own');
      assert.deepEqual(after.defined, [], 'no element is defined');
      assert.equal(after.HTMLElement, 'undefined', 'no DOM global is installed');
      assert.equal(after.document, 'undefined', 'no DOM global is installed');
      // The script-tag bundle carries its own lit: it leaves Node exactly as it found it. The package's
      // files import the host's lit, whose Node build installs lit's SSR registry; they leave it empty.
      if (name.startsWith('standalone/')) assert.equal(after.registry, 'undefined', 'the script-tag bundle installs no registry');
    });
  }
});
