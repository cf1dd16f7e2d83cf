import { existsSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/**
 * The directory holding Gavel's `package.json`, found by walking up from this file, so paths
 * resolve the same from `src/` (tests) and from the compiled `dist/`.
 */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}
