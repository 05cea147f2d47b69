/**
 * The CLI users run (bin/patchbay.js) is esbuild's bundle of dist/ (scripts/bundle-cli.mjs). Every
 * process test spawns it, so those tests check that it works; this file checks how it is cut, from
 * the metafile the build writes: what each command loads before it runs.
 */
import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVER_ONLY_PACKAGES } from './support/server-packages.js';

interface Metafile {
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }>; inputs: Record<string, unknown>; exports?: string[] }>;
}

const metafileUrl = new URL('../dist/bundle/meta.json', import.meta.url);

function readMetafile(): Metafile {
  assert.ok(existsSync(metafileUrl), `the build wrote ${fileURLToPath(metafileUrl)} (run npm run build)`);
  return JSON.parse(readFileSync(metafileUrl, 'utf8')) as Metafile;
}

/** The packages (and external modules) loaded when `output` loads, before any dynamic import runs. */
function staticallyLoaded(metafile: Metafile, output: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const entry = metafile.outputs[file];
    assert.ok(entry, `${file} is one of the bundle's outputs`);
    for (const input of Object.keys(entry.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
      if (name) packages.add(name);
    }
    for (const imported of entry.imports) {
      if (imported.kind !== 'import-statement') continue;
      if (imported.external) packages.add(imported.path);
      else visit(imported.path);
    }
  };
  visit(output);
  return packages;
}

/** The output that holds the module compiled from `input` (a dist/ path). */
function outputHolding(metafile: Metafile, input: string): string {
  const found = Object.entries(metafile.outputs).find(([file, entry]) => file.endsWith('.js') && input in entry.inputs);
  assert.ok(found, `${input} is in the bundle`);
  return found[0];
}

describe('the bundled CLI', () => {
  it('loads none of the server packages until a command needs them (--help and remote commands stay small)', () => {
    const metafile = readMetafile();
    for (const module of ['dist/cli.js', 'dist/cli/connectors.js', 'dist/cli/audit.js', 'dist/cli/webhooks.js']) {
      const loaded = [...staticallyLoaded(metafile, outputHolding(metafile, module))];
      assert.deepEqual(
        loaded.filter((name) => SERVER_ONLY_PACKAGES.includes(name)),
        [],
        `${module} loads: ${loaded.join(', ')}`,
      );
    }
  });

  it('patchbay start loads the store and Express with it, and the SQLite driver from node_modules (the check above can fail)', () => {
    const metafile = readMetafile();
    const loaded = staticallyLoaded(metafile, outputHolding(metafile, 'dist/cli/server.js'));
    for (const name of ['kysely', 'express', 'better-sqlite3']) assert.ok(loaded.has(name), `start loads ${name}: ${[...loaded].join(', ')}`);
  });

  it('loads nothing by dynamic import that answers only a `default` (a CommonJS package in a chunk, whose named exports would be undefined)', () => {
    const metafile = readMetafile();
    const loadedLater = new Set(
      Object.values(metafile.outputs).flatMap((entry) => entry.imports.filter((i) => i.kind === 'dynamic-import' && !i.external).map((i) => i.path)),
    );
    assert.ok(loadedLater.size > 0, 'the commands and optional parts are loaded by dynamic import');
    for (const file of loadedLater) {
      const exports = metafile.outputs[file]?.exports ?? [];
      assert.notDeepEqual(exports, ['default'], `${file} exports only default: keep its package external (scripts/bundle-cli.mjs)`);
    }
  });

  it('keeps the native SQLite driver, PostgreSQL, the demo provider, undici and iconv-lite out of the bundle (loaded as installed)', () => {
    const metafile = readMetafile();
    const bundled = Object.values(metafile.outputs).flatMap((entry) => Object.keys(entry.inputs));
    for (const name of ['better-sqlite3', 'pg', 'oidc-provider', 'undici', 'iconv-lite']) {
      assert.deepEqual(
        bundled.filter((input) => input.includes(`node_modules/${name}/`)),
        [],
        `${name} is not bundled`,
      );
    }
  });

  it('holds one copy of each package version (npm nests four mime-db 1.54.0 under Express 5 alone)', () => {
    const metafile = readMetafile();
    const folders = new Set(
      Object.values(metafile.outputs)
        .flatMap((entry) => Object.keys(entry.inputs))
        .map((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1])
        .filter((folder) => folder !== undefined),
    );
    const byVersion = new Map<string, string[]>();
    for (const folder of folders) {
      const { name, version } = JSON.parse(readFileSync(new URL(`../${folder}/package.json`, import.meta.url), 'utf8')) as { name: string; version: string };
      byVersion.set(`${name}@${version}`, [...(byVersion.get(`${name}@${version}`) ?? []), folder]);
    }
    assert.ok(byVersion.has('mime-db@1.54.0'), 'Express 5 brings mime-db 1.54.0');
    for (const [key, copies] of byVersion) assert.equal(copies.length, 1, `${key} is bundled from ${copies.join(', ')}`);
  });

  it("carries zod's English messages and no other language's", () => {
    const metafile = readMetafile();
    const locales = Object.values(metafile.outputs)
      .flatMap((entry) => Object.keys(entry.inputs))
      .filter((input) => input.includes('node_modules/zod/v4/locales/'));
    assert.deepEqual(new Set(locales.map((input) => input.replace(/.*\/locales\//, ''))), new Set(['index.js', 'en.js']));
  });

  it('finds iconv-lite from where the bundle lies, and it decodes a UTF-16 body (Express asks for it on a charset other than UTF-8)', () => {
    const requireFromBundle = createRequire(new URL('../dist/bundle/cli.js', import.meta.url));
    const iconv = requireFromBundle('iconv-lite') as { decode(buffer: Buffer, encoding: string): string };
    assert.equal(iconv.decode(Buffer.from('{"ok":"é"}', 'utf16le'), 'utf-16le'), '{"ok":"é"}');
  });

  it("start's CommonJS bundle is ASCII, which the loader decodes as Latin-1 (a quarter of UTF-8's cost)", () => {
    const start = readFileSync(new URL('../dist/bundle/start.cjs', import.meta.url));
    assert.ok(isAscii(start), `start.cjs holds a byte over 127 at ${start.findIndex((byte) => byte > 127)}`);
  });

  it("start's CommonJS bundle imports the packages it leaves out only through its loader (Node 20 drops a cached script's own import())", () => {
    const start = readFileSync(new URL('../dist/bundle/start.cjs', import.meta.url), 'utf8');
    for (const name of ['pg', 'oidc-provider', 'undici']) {
      assert.ok(start.includes(`__patchbayImport("${name}")`), `${name} is imported through the loader`);
      assert.ok(!new RegExp(`\\bimport\\(["']${name}["']\\)`).test(start), `no import() of ${name} is left in start.cjs`);
    }
  });
});
