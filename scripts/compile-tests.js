#!/usr/bin/env node
// Compiles the TypeScript the Node test suites run (the server's sources and tests, the end-to-end
// tests) to JavaScript once, with source maps, so each test file starts as plain JavaScript: through
// tsx's loader every file paid about 2.4 s of CPU to start (some 1,300 modules through ESM hooks),
// 58 server files × 3 runs in CI. esbuild does the same transform tsx does, so the code is the same.
//
// Each compiled folder sits at the depth of its sources (packages/server/test → packages/server/.test-build),
// so a test's own paths (`new URL('../dist/…', import.meta.url)`, the README, bin/) mean the same
// thing from either place; only relative imports are rewritten, to the compiled file when it was
// compiled here and to the original file otherwise (plain .js and .mjs helpers).
//
// Only files whose output changed are written (each by rename, whole), and outputs whose source is
// gone are removed, so two runs at once write the same bytes and a deleted test cannot linger.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = path.join(root, 'packages/server');

/** Source folder → its compiled folder. The server's sources go inside the server tests' folder. */
const FOLDERS = [
  { from: path.join(serverDir, 'src'), to: path.join(serverDir, '.test-build/server-src') },
  { from: path.join(serverDir, 'test'), to: path.join(serverDir, '.test-build') },
  { from: path.join(root, 'test'), to: path.join(root, '.test-build') },
];
const OUTPUT_ROOTS = [path.join(serverDir, '.test-build'), path.join(root, '.test-build')];

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => path.join(dir, name));
}

const isSource = (file) => file.endsWith('.ts') && !file.endsWith('.d.ts');
const folderOf = (file) => FOLDERS.find(({ from }) => file.startsWith(from + path.sep));

/** Where a compiled source's JavaScript goes. */
function outputOf(source) {
  const { from, to } = folderOf(source);
  return path.join(to, path.relative(from, source)).replace(/\.ts$/, '.js');
}

/** The import the compiled file makes for a relative specifier of its source. */
function rewrite(specifier, importer) {
  const target = path.resolve(path.dirname(importer), specifier);
  const typescript = target.replace(/\.js$/, '.ts');
  const resolved = target !== typescript && existsSync(typescript) && folderOf(typescript) ? outputOf(typescript) : target;
  const relative = path
    .relative(path.dirname(outputOf(importer)), resolved)
    .split(path.sep)
    .join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

/** Every import stays an import (nothing is bundled); relative ones point where the code now is. */
const rewriteImports = {
  name: 'rewrite-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.')) return { path: args.path, external: true };
      return { path: rewrite(args.path, args.importer), external: true };
    });
  },
};

const sources = FOLDERS.flatMap(({ from }) => filesUnder(from).filter(isSource));
const result = await build({
  entryPoints: sources.map((source) => ({ in: source, out: path.relative(root, outputOf(source)).replace(/\.js$/, '') })),
  outdir: root,
  bundle: true,
  plugins: [rewriteImports],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  tsconfig: path.join(serverDir, 'tsconfig.json'),
  keepNames: true, // as tsx does: function and class names stay what the sources say
  sourcemap: 'linked',
  sourcesContent: false,
  write: false,
  logLevel: 'warning',
});

let written = 0;
const wanted = new Set();
for (const { path: file, contents } of result.outputFiles) {
  wanted.add(file);
  if (existsSync(file) && Buffer.compare(readFileSync(file), contents) === 0) continue;
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
  written += 1;
}
let removed = 0;
for (const dir of OUTPUT_ROOTS) {
  for (const file of existsSync(dir) ? filesUnder(dir) : []) {
    if (/\.js(\.map)?$/.test(file) && !wanted.has(file)) {
      rmSync(file, { force: true });
      removed += 1;
    }
  }
}
if (process.env.PATCHBAY_COMPILE_VERBOSE === '1') console.log(`compile-tests: ${sources.length} sources, ${written} written, ${removed} removed`);
