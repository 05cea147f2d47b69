#!/usr/bin/env node
// `npm run check:manifest`: fails when packages/widget/custom-elements.json is behind the sources.
// Editors, Storybook's argument tables and framework tooling read the committed file, so a change to
// a component's JSDoc header, properties or events must come with a regenerated manifest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const widgetDir = path.join(root, 'packages', 'widget');
const committedFile = path.join(widgetDir, 'custom-elements.json');
const scratch = mkdtempSync(path.join(tmpdir(), 'patchbay-manifest-'));

try {
  // The analyzer joins --outdir onto its working directory, so it gets a path relative to the widget.
  const result = spawnSync('npm', ['run', 'manifest', '--silent', '-w', '@patchbay/widget', '--', '--outdir', path.relative(widgetDir, scratch), '--quiet'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error('check:manifest: the analyzer failed (see above).');
    process.exit(1);
  }
  const fresh = readFileSync(path.join(scratch, 'custom-elements.json'), 'utf8');
  let committed;
  try {
    committed = readFileSync(committedFile, 'utf8');
  } catch {
    committed = null;
  }
  if (committed === fresh) {
    console.log('check:manifest: packages/widget/custom-elements.json is up to date.');
    process.exit(0);
  }
  console.error(
    committed === null
      ? 'check:manifest: packages/widget/custom-elements.json is missing.'
      : 'check:manifest: packages/widget/custom-elements.json is stale: the components changed since it was generated.',
  );
  for (const line of differences(committed, fresh)) console.error(`  ${line}`);
  console.error('Regenerate and commit it:\n  npm run manifest -w @patchbay/widget && git add packages/widget/custom-elements.json');
  process.exit(1);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** Names what changed, element by element, so the failure says more than "files differ". */
function differences(committedText, freshText) {
  const summarize = (text) => {
    const entries = new Map();
    let manifest;
    try {
      manifest = JSON.parse(text ?? '{"modules": []}');
    } catch {
      return null;
    }
    for (const module of manifest.modules ?? []) {
      for (const declaration of module.declarations ?? []) {
        const name = declaration.tagName ? `<${declaration.tagName}>` : declaration.name;
        entries.set(`${name} (${module.path})`, JSON.stringify(declaration));
      }
    }
    return entries;
  };
  const before = summarize(committedText);
  const after = summarize(freshText);
  if (!before || !after) return ['the committed file is not valid JSON'];
  const lines = [];
  for (const [name, value] of after) {
    if (!before.has(name)) lines.push(`added: ${name}`);
    else if (before.get(name) !== value) lines.push(`changed: ${name}`);
  }
  for (const name of before.keys()) if (!after.has(name)) lines.push(`removed: ${name}`);
  return lines.length > 0 ? lines : ['formatting or module exports differ'];
}
