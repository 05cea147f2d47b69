/**
 * `patchbay start` from a CommonJS bundle with V8's compiled code kept on disk, on every Node version.
 *
 * Most of a start was V8 compiling the server's ~3 MB of JavaScript: the top level of every module,
 * then each function as it first runs. Node 22.1 and later can cache that for the modules it loads
 * (`module.enableCompileCache`), Node 20 only for code run through `vm.Script`. So `start` runs a
 * CommonJS bundle through `vm.Script`; once the server has been up for a moment, the code compiled
 * so far (the whole start path) is written beside the other caches, and the next start reuses it.
 *
 * The cache is keyed by the bundle's contents and the Node version (V8 itself checks only a source's
 * length, so a changed bundle of the same size would otherwise run stale code) and written only to
 * a folder this user owns that no one else may write: cached code is code, run as it is found.
 * `NODE_COMPILE_CACHE` (a folder) and `NODE_DISABLE_COMPILE_CACHE` are honoured as Node honours them.
 */
import { isAscii } from 'node:buffer';
import { hash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** How a load went: the cache used, or why not. */
export type CodeCacheState = 'used' | 'rejected' | 'absent' | 'off';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  cache: CodeCacheState;
  /** Writes the code compiled so far, unless the cache was used as it is (answers whether it wrote). */
  writeCache(): boolean;
}

type Environment = Record<string, string | undefined>;

/** The folder for cached code, or null when caching is off. */
export function codeCacheFolder(env: Environment): string | null {
  if (env.NODE_DISABLE_COMPILE_CACHE) return null;
  const parent = env.NODE_COMPILE_CACHE || tmpdir();
  // Per user: another user's folder of the same name in a shared /tmp is never used.
  return path.join(parent, `patchbay-compile-cache-${process.getuid?.() ?? 'user'}`);
}

/**
 * Whether a folder or file may hold code this process will run: on POSIX, owned by this user and
 * writable by no one else (a file planted by another account would otherwise run as ours).
 */
function isOwnAndPrivate(stats: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return uid === undefined || (stats.uid === uid && (stats.mode & 0o022) === 0);
}

/** The folder, made if missing, when it is this user's alone; otherwise null (the start goes on uncached). */
function privateFolder(folder: string): string | null {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stats = statSync(folder);
    return stats.isDirectory() && isOwnAndPrivate(stats) ? folder : null;
  } catch {
    return null;
  }
}

/** The cached code at `file`, if it is there and this user's alone. */
function readPrivateFile(file: string): Buffer | undefined {
  let descriptor: number;
  try {
    descriptor = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return isOwnAndPrivate(fstatSync(descriptor)) ? readFileSync(descriptor) : undefined;
  } finally {
    closeSync(descriptor);
  }
}

/** The bundle's import() of the packages it leaves external (see scripts/bundle-cli.mjs): this module's, which Node 20 keeps working. */
const hostImport = (specifier: string): Promise<unknown> => import(specifier);

/** Loads a CommonJS bundle as `require` would, compiled with the cached code when there is some. */
export function loadBundle(file: string, env: Environment): LoadedBundle {
  const source = readFileSync(file);
  const folder = codeCacheFolder(env);
  const usable = folder === null ? null : privateFolder(folder);
  // One file per bundle location and Node version; its contents' hash says which build it holds.
  const stem = `${hash('sha256', file, 'hex').slice(0, 16)}-${process.version}-${process.arch}-`;
  const cacheFile = usable === null ? null : path.join(usable, `${stem}${hash('sha256', source, 'hex').slice(0, 32)}.cache`);
  const cachedData = cacheFile === null ? undefined : readPrivateFile(cacheFile);

  // ASCII (as the build writes it) decodes as Latin-1 at a quarter of UTF-8's cost; anything else as UTF-8.
  const text = source.toString(isAscii(source) ? 'latin1' : 'utf8');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __patchbayHostImport) {${text}\n})`, {
    filename: file,
    cachedData,
  });
  const cache: CodeCacheState = cacheFile === null ? 'off' : cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file), hostImport);

  return {
    exports: module.exports,
    cache,
    writeCache() {
      if (cacheFile === null || cache === 'used') return false;
      // Written whole under a private name, then renamed: a start reading at the same moment sees
      // the old file or the new one, never half of one.
      const partial = `${cacheFile}.${process.pid}.partial`;
      try {
        writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
        renameSync(partial, cacheFile);
        removeOlderBuilds(path.dirname(cacheFile), stem, path.basename(cacheFile));
        return true;
      } catch {
        // A read-only or full disk costs the next start its speed, nothing else.
        rmSync(partial, { force: true });
        return false;
      }
    },
  };
}

/** The caches of earlier builds at the same location and Node version: each start keeps one file. */
function removeOlderBuilds(folder: string, stem: string, current: string): void {
  for (const name of readdirSync(folder)) {
    if (name.startsWith(stem) && name.endsWith('.cache') && name !== current) rmSync(path.join(folder, name), { force: true });
  }
}
