#!/usr/bin/env node
// `npm test`: every test suite against real parts (Chromium, Firefox ESR and WebKitGTK, loopback
// servers, SQLite, PostgreSQL when named). Installs Debian's browsers first when one is missing and we
// may (root), then prints one summary line. Steps that share a `stage` run at the same time: they use
// separate databases, ports and browsers, and most of their time is spent waiting, not computing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH, FIREFOX_PATH, MINIBROWSER_PATH, WEBKIT_DRIVER_PATH } from '../test/support/engines/installed.js';

/** What each engine needs on disk, and the Debian package that provides it. */
const browserFiles = [
  { path: CHROMIUM_PATH, pkg: 'chromium', setting: 'CHROME_PATH' },
  { path: FIREFOX_PATH, pkg: 'firefox-esr', setting: 'FIREFOX_PATH' },
  { path: WEBKIT_DRIVER_PATH, pkg: 'webkit2gtk-driver', setting: 'WEBKIT_DRIVER_PATH' },
  { path: MINIBROWSER_PATH, pkg: 'webkit2gtk-driver', setting: 'MINIBROWSER_PATH' },
  // MiniBrowser has no headless mode: WebKit runs inside xvfb-run's virtual display.
  { path: '/usr/bin/xvfb-run', pkg: 'xvfb', setting: null },
];

function ensureBrowsers() {
  const missing = browserFiles.filter((file) => !existsSync(file.path));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((file) => file.pkg))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    const where = missing.map((file) => `${file.path}${file.setting ? ` (or set ${file.setting})` : ''}`).join(', ');
    console.error(`Missing for the browser tests: ${where}. Install them: sudo apt-get install -y ${packages.join(' ')}`);
    process.exit(1);
  }
  console.log(`Installing Debian’s ${packages.join(', ')} (needed by the component and end-to-end tests)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}

// The server suite runs a second time on PostgreSQL when a database is named for it
// (PATCHBAY_TEST_DATABASE_URL, or a DATABASE_URL that points at PostgreSQL); each test server gets
// its own schema there, so runs never collide.
const isPostgres = (url) => /^postgres(ql)?:\/\//.test(url ?? '');
const postgresUrl = [process.env.PATCHBAY_TEST_DATABASE_URL, process.env.DATABASE_URL].find(isPostgres);
const POSTGRES_SKIPPED = 'PostgreSQL half skipped: set PATCHBAY_TEST_DATABASE_URL=postgres://… to run it';
// The SQLite half and the end-to-end demo must not pick up a DATABASE_URL from the shell.
const sqliteEnv = { PATCHBAY_TEST_DATABASE_URL: '', DATABASE_URL: '' };
const runNode24 = process.env.PATCHBAY_TEST_NODE24 === '1';

const steps = [
  { name: 'build', command: 'npm', args: ['run', 'build', '--silent'] },
  { name: 'typecheck', command: 'npm', args: ['run', 'typecheck', '--silent'] },
  // The checks below share a stage: they only read the tree (typecheck, alone before them, rebuilds
  // the contract package). The manifest check writes to a temporary folder, and Storybook's output
  // (storybook-static/) is one ESLint and Prettier ignore.
  // ESLint (typescript-eslint, lit, lit-a11y, wc) and Prettier, with zero warnings allowed.
  { name: 'lint', stage: 'checks', command: 'npm', args: ['run', 'lint', '--silent'] },
  // custom-elements.json must match the components' JSDoc, and Storybook must build.
  { name: 'custom-elements manifest', stage: 'checks', command: 'npm', args: ['run', 'check:manifest', '--silent'] },
  // README.md's settings section must match the settings table (packages/server/src/settings.ts).
  { name: 'settings section', stage: 'checks', command: 'npm', args: ['run', 'check:settings', '--silent'] },
  // No import cycle in the packages' sources, type-only imports included (issue 14).
  { name: 'import cycles', stage: 'checks', command: 'npm', args: ['run', 'check:cycles', '--silent'] },
  { name: 'storybook build', stage: 'checks', command: 'npm', args: ['run', 'build:storybook', '--silent'] },
  // The Node suites' TypeScript to JavaScript once (scripts/compile-tests.js): the server suite's runs
  // and the end-to-end tests below start from it instead of each file going through tsx's loader.
  { name: 'compile tests', command: 'node', args: ['scripts/compile-tests.js'] },
  {
    name: 'server (SQLite)',
    stage: 'server',
    command: 'npm',
    args: ['run', 'test:compiled', '-w', '@patchbay/server', '--silent'],
    counts: 'node',
    env: sqliteEnv,
  },
  ...(postgresUrl
    ? [
        {
          name: 'server (PostgreSQL)',
          stage: 'server',
          command: 'npm',
          args: ['run', 'test:compiled', '-w', '@patchbay/server', '--silent'],
          counts: 'node',
          env: { PATCHBAY_TEST_DATABASE_URL: postgresUrl, DATABASE_URL: '' },
        },
      ]
    : []),
  // The component tests once per engine (packages/widget/web-test-runner.browsers.mjs).
  { name: 'widget (Chromium)', stage: 'widget', command: 'npm', args: ['run', 'test:widget', '--silent'], counts: 'wtr', env: { PATCHBAY_ENGINE: 'chromium' } },
  {
    name: 'widget (Firefox ESR)',
    stage: 'widget',
    command: 'npm',
    args: ['run', 'test:widget', '--silent'],
    counts: 'wtr',
    env: { PATCHBAY_ENGINE: 'firefox' },
  },
  { name: 'widget (WebKitGTK)', stage: 'widget', command: 'npm', args: ['run', 'test:widget', '--silent'], counts: 'wtr', env: { PATCHBAY_ENGINE: 'webkit' } },
  // The demo runs on embedded SQLite, as `npm start` does; test/engines.test.ts runs its main flows
  // in all three engines. Two files at a time (test:e2e:compiled): each starts its own servers on
  // ephemeral ports with their own data folders and its own browser, and one at a time the files
  // used about 0.7 of a core, mostly waiting on browsers (all 79 tests passed two at a time on a
  // machine at load 25).
  { name: 'end-to-end', stage: 'end-to-end', command: 'npm', args: ['run', 'test:e2e:compiled', '--silent'], counts: 'node', env: sqliteEnv },
  // CI (.ci/run) sets PATCHBAY_TEST_NODE24=1: the server suite once more on Node 24, in a copy of the
  // clone with its own native module (.ci/node24). It shares the end-to-end stage because those tests
  // mostly wait on browsers (about 0.7 of a core over their run), and the suite needs the builds above.
  ...(runNode24 ? [{ name: 'server on Node 24 (SQLite)', stage: 'end-to-end', command: 'bash', args: ['.ci/node24'], counts: 'node', env: sqliteEnv }] : []),
];

/** Runs one step; its output streams through when it runs alone, and comes in one piece when it shares its stage. */
function run(step, alone) {
  return new Promise((resolve) => {
    const child = spawn(step.command, step.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHROME_PATH: CHROMIUM_PATH, ...step.env } });
    let output = '';
    const forward = (target) => (chunk) => {
      output += chunk;
      if (alone) target.write(chunk);
    };
    child.stdout.on('data', forward(process.stdout));
    child.stderr.on('data', forward(process.stderr));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Reads the runner's own totals: node's test runner (TAP or spec) or @web/test-runner. */
function countsOf(kind, output) {
  if (kind === 'node') {
    const pass = [...output.matchAll(/^(?:# |ℹ )pass (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    const fail = [...output.matchAll(/^(?:# |ℹ )fail (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    return { pass, fail };
  }
  const totals = [...output.matchAll(/(\d+) passed, (\d+) failed/g)].at(-1);
  return totals ? { pass: Number(totals[1]), fail: Number(totals[2]) } : { pass: 0, fail: 0 };
}

ensureBrowsers();
if (!postgresUrl) console.log(POSTGRES_SKIPPED);
let passed = 0;
let failed = 0;
const started = Date.now();

/** Consecutive steps with the same `stage` form one stage; a step without one is a stage alone. */
const stages = [];
for (const step of steps) {
  const last = stages.at(-1);
  if (step.stage && last?.[0].stage === step.stage) last.push(step);
  else stages.push([step]);
}

for (const stage of stages) {
  const alone = stage.length === 1;
  if (!alone) console.log(`\n── ${stage.map((step) => step.name).join(' ‖ ')}: at the same time ──`);
  const results = await Promise.all(
    stage.map(async (step) => {
      if (alone) console.log(`\n── ${step.name} ──`);
      const stepStarted = Date.now();
      const result = await run(step, alone);
      if (!alone) process.stdout.write(`\n── ${step.name} ──\n${result.output}`);
      console.log(`── ${step.name}: ${Math.round((Date.now() - stepStarted) / 1000)} s`);
      return { step, ...result };
    }),
  );
  for (const { step, code, output } of results) {
    if (!step.counts) continue;
    const counts = countsOf(step.counts, output);
    passed += counts.pass;
    failed += counts.fail;
    if (code !== 0 && counts.fail === 0) failed += 1;
  }
  const failures = results.filter((result) => result.code !== 0);
  if (failures.length > 0) {
    for (const { step, code } of failures) console.log(`\n${step.name} failed (exit ${code}).`);
    if (!postgresUrl) console.log(POSTGRES_SKIPPED);
    console.log(`tests: ${passed} passed, ${failed} failed`);
    process.exit(failures[0].code);
  }
}
console.log(`\nAll suites green in ${Math.round((Date.now() - started) / 1000)} s.`);
if (!postgresUrl) console.log(POSTGRES_SKIPPED);
console.log(`tests: ${passed} passed, ${failed} failed`);
