/**
 * Writes `schema.graphql` from the code (`npm run schema`), or with `--check` fails when the
 * committed file differs from what the code generates (CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printGavelSchema } from '../src/graphql/schema';

async function run(): Promise<void> {
  const file = path.join(__dirname, '..', 'schema.graphql');
  const generated = await printGavelSchema();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(file, 'utf8');
    if (committed !== generated) {
      console.error('schema.graphql is stale: run `npm run schema` and commit the result.');
      process.exit(1);
    }
    console.log('schema.graphql is current.');
    return;
  }
  writeFileSync(file, generated);
  console.log(`wrote ${file}`);
}

void run();
