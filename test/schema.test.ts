import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printGavelSchema } from '../src/graphql/schema';

const root = path.join(__dirname, '..');

describe('committed GraphQL artifacts', () => {
  it('schema.graphql is what the code generates (run `npm run schema`)', async () => {
    expect(readFileSync(path.join(root, 'schema.graphql'), 'utf8')).toBe(await printGavelSchema());
  });

  it('the codegen output is current (run `npm run codegen`)', () => {
    expect(() =>
      execFileSync(path.join(root, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.yml', '--check'], {
        cwd: root,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});
