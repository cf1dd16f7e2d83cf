/**
 * Builds the browser assets (tracker, /demo, /dashboard) with esbuild into dist/public, or `--out DIR`.
 * Part of `npm run build`, hence of `npm start`. Page scripts and styles get content-hashed names
 * (served as immutable); the HTML pages and /tracker.js keep stable names.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { repoRoot } from '../src/shared/repoRoot';

/** The pages and their entry points; each has `web/<name>/index.html` with `%SCRIPT%` and `%STYLE%`. */
const PAGES = { demo: 'web/demo/demo.ts', dashboard: 'web/dashboard/main.ts' } as const;

/** Builds every asset into `outDir` (emptied first). */
export async function buildWeb(outDir: string): Promise<void> {
  const root = repoRoot();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    minify: true,
    target: 'es2020',
    legalComments: 'none',
    logLevel: 'warning',
  };
  // The tracker: a classic script for the one-tag form, and an ES module for bundlers.
  await build({
    ...common,
    entryPoints: [path.join(root, 'web/tracker/auto.ts')],
    format: 'iife',
    outfile: path.join(outDir, 'tracker.js'),
  });
  await build({
    ...common,
    entryPoints: [path.join(root, 'web/tracker/tracker.ts')],
    format: 'esm',
    outfile: path.join(outDir, 'tracker.mjs'),
  });
  const result = await build({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(PAGES).map(([name, file]) => [name, path.join(root, file)])),
    format: 'esm',
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  for (const name of Object.keys(PAGES)) {
    const asset = (extension: string): string => {
      const file = outputs.find((output) => output.startsWith(`${name}-`) && output.endsWith(extension));
      return file ? `/assets/${file}` : '';
    };
    const html = readFileSync(path.join(root, `web/${name}/index.html`), 'utf8')
      .replace('%SCRIPT%', asset('.js'))
      .replace('%STYLE%', asset('.css'));
    writeFileSync(path.join(outDir, `${name}.html`), html);
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--out');
  const outDir = path.resolve(at > 0 ? process.argv[at + 1]! : path.join(repoRoot(), 'dist/public'));
  buildWeb(outDir).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
