import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseApiKey } from '../../src/auth/apiKey';
import { runGavel, spawnServer, waitForReady, type CommandResult } from '../support/serverProcess';
import { errorCodes, postRaw, startTestApp, type TestApp } from '../support/testApp';

/** Runs `npm run keys`'s command (`gavel keys …`) as its own process with exactly `env` added. */
function runKeysCli(args: string[], env: Record<string, string | undefined>): Promise<CommandResult> {
  return runGavel(['keys', ...args], { NODE_ENV: 'test', ...env });
}

/** The keys command against this file's test database. */
function keys(app: TestApp, args: string[]): Promise<CommandResult> {
  return runKeysCli(args, { MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI, MONGODB_DB: app.databaseName });
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
  // Never the secret again (parsed, not split on "_": a base64url secret may hold one).
  expect(listed.stdout).not.toContain(parseApiKey(key)!.secret);

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

describe('beside a server running on the embedded engine', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gavel-keys-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("uses that server's engine (whose data file is locked), and names the lock when it cannot find the server", async () => {
    // No MONGODB_URI: the server starts the embedded engine on dataDir, as `npm start` does.
    const embedded = { GAVEL_MONGO_ENGINE: 'java', GAVEL_DATA_DIR: dataDir };
    const server = spawnServer({
      ...embedded,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      AUTH_KEY_CACHE_TTL_MS: '0',
    });
    try {
      const url = await waitForReady(server);
      const created = await runKeysCli(['create', '--role', 'ANALYST'], embedded);
      expect(created).toMatchObject({ code: 0, stderr: expect.stringContaining('Created ANALYST key') });
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${created.stdout.trim()}` },
        body: JSON.stringify(overview),
      });
      expect(((await answer.json()) as { errors?: unknown }).errors).toBeUndefined();

      // A server that died without cleaning up leaves no usable record: the CLI then tries the
      // engine itself and must say that the data file is locked, not that Java is missing.
      rmSync(path.join(dataDir, 'engine.json'));
      const locked = await runKeysCli(['list'], embedded);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain(`its data file in ${dataDir} is locked by another process`);
      expect(locked.stderr).toContain(`stop the other Gavel (or engine) process using ${dataDir}`);
      expect(locked.stderr).not.toContain('install Java');
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  }, 120_000);

  it('starts the engine itself when no server runs, and leaves no record behind', async () => {
    const listed = await runKeysCli(['list'], { GAVEL_MONGO_ENGINE: 'java', GAVEL_DATA_DIR: dataDir });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('\tANALYST\t');
    expect(existsSync(path.join(dataDir, 'engine.json'))).toBe(false);
  }, 120_000);
});
