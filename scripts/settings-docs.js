#!/usr/bin/env node
// `npm run docs:settings` rewrites README.md's settings section (between its two marker comments)
// from the settings table in packages/server/src/settings.ts; `npm run check:settings` (`--check`)
// fails when the committed section is behind the table. Runs under tsx (it reads the TypeScript table).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { withSettingsSection } from '../packages/server/src/settings-help.ts';

const readmeFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const committed = readFileSync(readmeFile, 'utf8');
// Prettier aligns the table exactly as `npm run lint` expects it.
const options = (await prettier.resolveConfig(readmeFile)) ?? {};
const fresh = await prettier.format(withSettingsSection(committed), { ...options, filepath: readmeFile });

if (!process.argv.includes('--check')) {
  writeFileSync(readmeFile, fresh);
  console.log(fresh === committed ? 'docs:settings: README.md was up to date.' : 'docs:settings: rewrote the settings section of README.md.');
} else if (fresh === committed) {
  console.log('check:settings: the settings section of README.md is up to date.');
} else {
  console.error(
    'check:settings: the settings section of README.md is behind packages/server/src/settings.ts. Run `npm run docs:settings` and commit README.md.',
  );
  process.exit(1);
}
