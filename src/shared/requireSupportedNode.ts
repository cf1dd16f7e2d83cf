/**
 * Imported first by every entry point: on a Node.js older than package.json's `engines.node`,
 * print one line naming both versions and exit 1, before a dependency fails in some obscure way.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repoRoot';

/** The oldest supported Node.js version, from package.json's `engines.node` (`>=MAJOR.MINOR`). */
export function minimumNodeVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const match = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(manifest.engines?.node ?? '');
  if (!match) throw new Error(`package.json engines.node must read ">=X.Y", not ${manifest.engines?.node}`);
  return match[1]!;
}

/** Compares dotted versions numerically (missing parts count as 0). */
function atLeast(version: string, minimum: string): boolean {
  const have = version.split('.').map(Number);
  const need = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(have.length, need.length); i++) {
    const difference = (have[i] ?? 0) - (need[i] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

/**
 * @param version a Node.js version such as `20.19.2` (default: this process's)
 * @returns the refusal line for a version older than {@link minimumNodeVersion}, else undefined
 */
export function unsupportedNodeMessage(version: string = process.versions.node): string | undefined {
  const minimum = minimumNodeVersion();
  if (atLeast(version, minimum)) return undefined;
  return `gavel: Node.js ${version} is not supported; install Node.js ${minimum} or newer (24 LTS recommended, see .nvmrc).`;
}

const refusal = unsupportedNodeMessage();
if (refusal) {
  console.error(refusal);
  process.exit(1);
}
