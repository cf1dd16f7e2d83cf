import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { examplesOf, parseBlocks, where } from '../docs/markdown';
import { errorCodesOf } from '../docs/shape';

/** The fields `shown` has that `actual` lacks, at every level (a list by its first element). */
function missingFields(shown: unknown, actual: unknown, at = '$'): string[] {
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${at}: a list in the README, ${JSON.stringify(actual)} in the answer`];
    return shown.length > 0 && actual.length > 0 ? missingFields(shown[0], actual[0], `${at}[0]`) : [];
  }
  if (shown === null || typeof shown !== 'object') return [];
  if (actual === null || typeof actual !== 'object')
    return [`${at}: an object in the README, ${JSON.stringify(actual)} in the answer`];
  return Object.entries(shown).flatMap(([key, value]) =>
    key in actual
      ? missingFields(value, (actual as Record<string, unknown>)[key], `${at}.${key}`)
      : [`${at}.${key}: missing`],
  );
}

/**
 * Runs the README's first stand-alone `curl` example with a JSON answer (one that uses no shell
 * variable of an earlier step: the tour's search) against a server started as a user starts it,
 * at `base` instead of localhost:4000, and checks that the answer has no errors and every field the
 * README shows. Values differ from the README's (a fresh server holds demo data); the whole tour,
 * values included, runs in test/docs/examples.test.ts.
 *
 * @returns where the example is, for the log
 */
export function runReadmeExample(base: string): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const example = examplesOf(parseBlocks(readme, 'README.md')).find(
    (candidate) =>
      candidate.kind === 'shell' &&
      candidate.expected?.lang === 'json' &&
      /\bcurl\s/.test(candidate.block.content) &&
      // Shell variables are upper case ($ITEM, $SESSION); GraphQL's ($q, $input) are not.
      !/\$\{?[A-Z][A-Z0-9_]*\b/.test(candidate.block.content),
  );
  if (example?.kind !== 'shell' || !example.expected)
    throw new Error('README.md shows no stand-alone curl example with a JSON answer');
  const script = example.block.content.replace(/(?:http:\/\/)?localhost:4000/g, base);
  const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', timeout: 30_000 });
  const answer = JSON.parse(output) as unknown;
  const problems = [
    ...errorCodesOf(answer).map((code) => `error ${code}`),
    ...missingFields(JSON.parse(example.expected.content), answer),
  ];
  if (problems.length > 0) throw new Error(`${where(example.block)}: ${problems.join('; ')}`);
  return where(example.block);
}
