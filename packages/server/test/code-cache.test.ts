/**
 * `patchbay start` runs a CommonJS bundle whose compiled code V8 keeps on disk (src/cli/code-cache.ts).
 * What that guarantees: the next load uses the code; it never runs cached code of another build, nor
 * code from a folder or file another user could write; a damaged cache costs only the speed; the
 * Node switches turn it off; and a start from cached code still imports ES modules (on Node 20, a
 * script compiled from cached code loses its own import(): the demo's OAuth provider would not load).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { codeCacheFolder } from '../src/cli/code-cache.js';
import { sharedDatabase, startServerProcess } from './support/processes.js';

// The built loader, as bin/patchbay.js runs it (from test/ and from its compiled copy in .test-build/ alike).
const LOADER = fileURLToPath(new URL('../dist/cli/code-cache.js', import.meta.url));

interface Load {
  cache: string;
  answer: number;
  dirname: string;
  /** What writeCache() answered, when asked to write. */
  wrote: boolean | null;
}

/**
 * One load in a process of its own, as each start is: within one process V8 keeps what it compiled
 * in memory and would answer a second load from there, whatever the disk holds.
 */
function load(file: string, env: Record<string, string>, write = true): Load {
  const script = `import { loadBundle } from ${JSON.stringify(LOADER)};
const bundle = loadBundle(${JSON.stringify(file)}, process.env);
const wrote = ${write} ? bundle.writeCache() : null;
console.log(JSON.stringify({ cache: bundle.cache, answer: bundle.exports.answer, dirname: bundle.exports.dirname, wrote }));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return JSON.parse(output) as Load;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'patchbay-code-cache-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let made = 0;
/** A bundle file and a cache folder of its own; `answer` is what the bundle exports. */
function fixture(answer: number): { file: string; env: Record<string, string> } {
  const dir = path.join(scratch, String(made++));
  mkdirSync(dir);
  const file = path.join(dir, 'bundle.cjs');
  writeFileSync(file, bundleSource(answer));
  return { file, env: { NODE_COMPILE_CACHE: path.join(dir, 'cache') } };
}

/** A CommonJS bundle with a few functions to compile; the same length for every one-digit answer. */
const bundleSource = (answer: number) =>
  `const double = (n) => n * 2;\nfunction half(n) { return n / 2; }\nexports.answer = half(double(${answer}));\nexports.dirname = __dirname;\n`;

const cacheFiles = (env: Record<string, string>) => readdirSync(codeCacheFolder(env)!).filter((name) => name.endsWith('.cache'));

describe('loadBundle', () => {
  it('runs the bundle as require would, writes its compiled code once, and uses it on the next load', () => {
    const { file, env } = fixture(7);
    const first = load(file, env);
    assert.deepEqual(first, { cache: 'absent', answer: 7, dirname: path.dirname(file), wrote: true });
    assert.equal(cacheFiles(env).length, 1);

    const second = load(file, env);
    assert.equal(second.cache, 'used');
    assert.equal(second.answer, 7);
    assert.equal(second.wrote, false, 'a cache used as it is is not written again');
  });

  it('never runs the cached code of another build: a changed bundle of the same length compiles afresh, and the old cache goes', () => {
    const { file, env } = fixture(3);
    load(file, env);
    const [oldCache] = cacheFiles(env);
    // V8 checks only a source's length; the cache's name carries the contents' hash.
    writeFileSync(file, bundleSource(4));
    assert.deepEqual(load(file, env), { cache: 'absent', answer: 4, dirname: path.dirname(file), wrote: true });
    assert.equal(cacheFiles(env).length, 1);
    assert.notEqual(cacheFiles(env)[0], oldCache);
  });

  it('compiles afresh when the cached code is damaged (V8 refuses it), and writes it anew', () => {
    const { file, env } = fixture(5);
    load(file, env);
    const cacheFile = path.join(codeCacheFolder(env)!, cacheFiles(env)[0]!);
    writeFileSync(cacheFile, Buffer.alloc(4096, 7), { mode: 0o600 });
    assert.deepEqual(load(file, env), { cache: 'rejected', answer: 5, dirname: path.dirname(file), wrote: true });
    assert.equal(load(file, env).cache, 'used');
  });

  it('reads no code from a folder or a file that another user could write (they could plant code to run as Patchbay)', () => {
    const { file, env } = fixture(6);
    load(file, env);
    const folder = codeCacheFolder(env)!;
    const cacheFile = path.join(folder, cacheFiles(env)[0]!);

    chmodSync(cacheFile, 0o666);
    assert.equal(load(file, env, false).cache, 'absent', 'a cache file others may write is not read');
    chmodSync(cacheFile, 0o600);
    assert.equal(load(file, env, false).cache, 'used', 'the check above can fail');

    chmodSync(folder, 0o777);
    assert.deepEqual(load(file, env), { cache: 'off', answer: 6, dirname: path.dirname(file), wrote: false }, 'a folder others may write is not used');
  });

  it('caches nothing with NODE_DISABLE_COMPILE_CACHE, as Node does', () => {
    const { file, env } = fixture(2);
    assert.deepEqual(load(file, { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }), { cache: 'off', answer: 2, dirname: path.dirname(file), wrote: false });
    assert.equal(existsSync(codeCacheFolder(env)!), false);
  });
});

describe('patchbay start with its code cached', () => {
  it('writes the cache once up; the next start uses it (not rewriting it) and still imports ES modules: the demo OAuth provider answers', async () => {
    const cacheRoot = mkdtempSync(path.join(scratch, 'start-'));
    const env = { NODE_COMPILE_CACHE: cacheRoot };
    const database = sharedDatabase('sqlite');
    try {
      const first = await startServerProcess({ env: { ...database.env, ...env } });
      let written: string[] = [];
      for (let waited = 0; written.length === 0 && waited < 10_000; waited += 100) {
        await sleep(100);
        written = existsSync(codeCacheFolder(env)!) ? cacheFiles(env) : [];
      }
      await first.stop();
      assert.equal(written.length, 1, `patchbay start wrote its compiled code to ${codeCacheFolder(env)}`);
      const cacheFile = path.join(codeCacheFolder(env)!, written[0]!);
      const writtenAt = statSync(cacheFile).mtimeMs;

      // --dev imports oidc-provider, an ES module, from code compiled out of the cache.
      const second = await startServerProcess({ env: { ...database.env, ...env }, args: ['--dev'] });
      try {
        const discovery = await fetch(`${second.origin}/demo/oidc/.well-known/openid-configuration`);
        assert.equal(discovery.status, 200, second.output());
        assert.equal(((await discovery.json()) as { issuer: string }).issuer, `${second.origin}/demo/oidc`);
        await sleep(1500);
        assert.equal(statSync(cacheFile).mtimeMs, writtenAt, 'the second start used the cache as it was (a refused cache is written anew)');
      } finally {
        await second.stop();
      }
    } finally {
      await database.drop();
    }
  });
});
