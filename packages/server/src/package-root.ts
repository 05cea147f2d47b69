import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This package's own folder (package.json, public/), found by walking up to the nearest
 * package.json: the same module runs from src/ (tsx), from dist/ (tsc's output, the library) and
 * from dist/bundle/ (the CLI's esbuild bundle), each at a different depth.
 */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('@patchbay/server: package.json not found above its modules');
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot();
