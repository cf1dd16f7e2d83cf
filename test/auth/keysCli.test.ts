import { spawn } from 'node:child_process';
import path from 'node:path';
import { errorCodes, postRaw, startTestApp, type TestApp } from '../support/testApp';

const root = path.join(__dirname, '..', '..');

/** Runs `npm run keys`'s script as its own process against this file's test database. */
function keys(app: TestApp, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', path.join(root, 'scripts', 'keys.ts'), ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TS_NODE_TRANSPILE_ONLY: 'true',
        NODE_ENV: 'test',
        MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
        MONGODB_DB: app.databaseName,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let app: TestApp;
beforeAll(async () => {
  // TTL 0: every request reads the key, so the revocation below shows at once.
  app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', AUTH_MODE: 'keys', AUTH_KEY_CACHE_TTL_MS: '0' } });
});
afterAll(() => app.stop());

const overview = { query: '{ analyticsOverview { impressions } }' };

it('creates a key that the server accepts, lists it, and revokes it', async () => {
  const created = await keys(app, ['create', '--role', 'ANALYST', '--label', 'dashboard']);
  expect(created.code).toBe(0);
  const key = created.stdout.trim();
  expect(key).toMatch(/^gvl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const id = key.split('_')[1]!;
  const allowed = await postRaw(app, overview, { authorization: `Bearer ${key}` });
  expect(errorCodes(allowed)).toEqual([]);

  const listed = await keys(app, ['list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(`${id}\tANALYST\t-\t`);
  expect(listed.stdout).toContain('active\t"dashboard"');
  expect(listed.stdout).not.toContain(key.split('_')[2]!); // never the secret again

  const revoked = await keys(app, ['revoke', id]);
  expect(revoked.code).toBe(0);
  const refused = await postRaw(app, overview, { authorization: `Bearer ${key}` });
  expect(refused.status).toBe(401);
  expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
  expect((await keys(app, ['list'])).stdout).toContain('revoked');
}, 120_000);

it('creates SELLER keys bound to a seller and refuses bad arguments', async () => {
  const seller = await keys(app, ['create', '--role', 'seller', '--seller', 'seller-9']);
  expect(seller.code).toBe(0);
  expect(errorCodes(await postRaw(app, overview, { authorization: `Bearer ${seller.stdout.trim()}` }))).toEqual([
    'FORBIDDEN',
  ]);
  expect((await keys(app, ['create', '--role', 'ROOT'])).code).toBe(2);
  expect((await keys(app, ['revoke', '0000000000000000'])).code).toBe(1);
}, 120_000);
