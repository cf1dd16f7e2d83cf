/**
 * Runs Gavel the way its users start it, from the checkout it is run in (CI: a clean clone):
 *
 *   node -r ts-node/register test/smoke/userPaths.ts start   # `npm start`, the README's first command
 *   node -r ts-node/register test/smoke/userPaths.ts dev     # `npm run dev`
 *   node -r ts-node/register test/smoke/userPaths.ts image MONGODB_URI
 *       # builds the unchanged Dockerfile with podman and runs the image against MONGODB_URI
 *
 * Each waits for `/readyz`, exercises the server as a client would, sends SIGTERM and requires a
 * graceful exit 0. Any failure prints what was expected and the server's output, and exits 1.
 * Not a jest test: it builds and starts whole processes and images, once per CI run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { runReadmeExample } from './readmeExample';

const root = path.join(__dirname, '..', '..');
const IMAGE = 'gavel:ci';

/** A failed expectation: the message says what was expected and what came instead. */
class SmokeFailure extends Error {}

function expectThat(condition: boolean, message: string): void {
  if (!condition) throw new SmokeFailure(message);
}

function log(message: string): void {
  process.stdout.write(`smoke: ${message}\n`);
}

/** A loopback port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A child process whose output is kept for the failure report. */
interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Started {
  // Its own process group, so a failed run can kill npm's children (node, the engine) too.
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Polls `/readyz` until 200; fails when the process exits first or `timeoutMs` passes. */
async function waitForReady(base: string, server: Started | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server?.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    expectThat(!exited, `the server exited before /readyz answered 200`);
    const status = await fetch(`${base}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new SmokeFailure(`/readyz did not answer 200 within ${timeoutMs / 1000} s`);
}

/** Sends SIGTERM and requires exit code 0 within `timeoutMs`. */
async function stopGracefully(server: Started, timeoutMs = 30_000): Promise<void> {
  server.child.kill('SIGTERM');
  const code = await Promise.race([
    server.exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref()),
  ]);
  expectThat(code === 0, `SIGTERM should end the server with exit code 0, got ${code}`);
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs one GraphQL request and returns the data, failing on any error. */
async function graphql(
  base: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as GraphQLAnswer;
  expectThat(
    !answer.errors && !!answer.data,
    `${query.trim().split('\n')[0]} should answer data, got HTTP ${response.status} ${JSON.stringify(answer)}`,
  );
  return answer.data!;
}

/** Runs an npm script (`start` or `dev`) as a user does, then exercises it and stops it. */
async function smokeNpmScript(script: 'start' | 'dev'): Promise<void> {
  const label = script === 'start' ? 'npm start' : 'npm run dev';
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const begun = Date.now();
  // The user's environment plus a free port; everything else is Gavel's defaults.
  const server = start('npm', script === 'start' ? ['start'] : ['run', 'dev'], {
    ...process.env,
    PORT: String(port),
  });
  try {
    await waitForReady(base, server, 240_000);
    log(`${label}: ready in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    log(`${label}: the README's example at ${runReadmeExample(base)} answered every field`);
    const dashboard = await fetch(`${base}/dashboard`);
    expectThat(dashboard.status === 200, `/dashboard should be served (200), got ${dashboard.status}`);
    await stopGracefully(server);
    log(`${label}: SIGTERM → exit 0`);
  } catch (error) {
    process.kill(-server.child.pid!, 'SIGKILL');
    throw Object.assign(error as Error, { output: server.output() });
  }
}

function podman(args: readonly string[], options: { input?: string } = {}): string {
  const result = spawnSync('podman', args, { cwd: root, encoding: 'utf8', input: options.input });
  expectThat(
    result.status === 0,
    `podman ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`,
  );
  return result.stdout.trim();
}

/** Builds the unchanged Dockerfile and runs the image as an operator would, against `mongodbUri`. */
async function smokeImage(mongodbUri: string): Promise<void> {
  const built = Date.now();
  // Docker format: OCI images drop HEALTHCHECK.
  podman(['build', '--quiet', '--format', 'docker', '--network=host', '-t', IMAGE, '.']);
  const size = Number(podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
  log(`image built in ${((Date.now() - built) / 1000).toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const secret = (): string => randomBytes(32).toString('hex');
  const metricsToken = secret();
  // What an operator passes (the image sets NODE_ENV=production and GAVEL_MONGO_ENGINE=uri).
  const env: Record<string, string> = {
    MONGODB_URI: mongodbUri,
    MONGODB_DB: `gavel-smoke-${Date.now()}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    CURSOR_SECRET: secret(),
    SESSION_SECRET: secret(),
    PRIVACY_SECRET: secret(),
    METRICS_TOKEN: metricsToken,
    AUTH_MODE: 'keys',
    TRACKING_REQUIRE_SIGNED_SESSIONS: 'true',
  };
  const envArgs = Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
  const name = `gavel-smoke-${process.pid}`;
  // Attached (not -d), so SIGTERM to `podman run` reaches the container's node and its exit code comes back.
  const server = start('podman', ['run', '--rm', '--name', name, '--network=host', ...envArgs, IMAGE], process.env);
  try {
    await waitForReady(base, server, 120_000);
    log('image: /readyz 200');

    const minted = spawnSync(
      'podman',
      ['run', '--rm', '--network=host', ...envArgs, IMAGE, 'keys', 'create', '--role', 'ADMIN'],
      {
        encoding: 'utf8',
      },
    );
    expectThat(minted.status === 0, `gavel keys create should exit 0, got ${minted.status}: ${minted.stderr}`);
    const key = minted.stdout.trim();
    expectThat(
      /^gvl_[0-9a-f]{16}_\S+$/.test(key),
      `gavel keys create should print one key, printed ${JSON.stringify(key)}`,
    );
    const admin = { authorization: `Bearer ${key}` };
    log('image: an ADMIN key minted with `gavel keys create`');

    const anonymous = (await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ analyticsOverview { impressions } }' }),
    }).then((response) => response.json())) as GraphQLAnswer;
    const codes = anonymous.errors?.map((error) => error.extensions?.code);
    expectThat(
      JSON.stringify(codes) === '["UNAUTHENTICATED"]',
      `analytics without a key should be refused with UNAUTHENTICATED, got ${JSON.stringify(anonymous)}`,
    );

    const now = Date.now();
    const created = await graphql(
      base,
      `
        mutation ($input: CreateAuctionItemInput!) {
          createAuctionItem(input: $input) {
            id
            status
          }
        }
      `,
      {
        input: {
          title: 'Smoke test pocket watch',
          category: 'watches',
          sellerId: 'seller-smoke',
          startingPrice: { amount: 1000, currency: 'EUR' },
          startsAt: new Date(now - 60_000).toISOString(),
          endsAt: new Date(now + 86_400_000).toISOString(),
        },
      },
      admin,
    );
    const itemId = (created.createAuctionItem as { id: string }).id;
    const found = await graphql(
      base,
      `
        {
          auctionItems(first: 5, query: "pocket watch") {
            edges {
              node {
                id
              }
            }
          }
        }
      `,
    );
    const ids = (found.auctionItems as { edges: { node: { id: string } }[] }).edges.map((edge) => edge.node.id);
    expectThat(ids.includes(itemId), `search should find the new item ${itemId}, found ${JSON.stringify(ids)}`);
    log('image: created an item and found it by search');

    const session = await graphql(
      base,
      `
        mutation {
          startSession {
            sessionId
          }
        }
      `,
    );
    const sessionId = (session.startSession as { sessionId: string }).sessionId;
    const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36' };
    const impressions = await graphql(
      base,
      `
        mutation ($events: [ImpressionInput!]!) {
          trackImpressions(events: $events) {
            accepted
            invalid
          }
        }
      `,
      { events: [{ itemId, sessionId, source: 'SEARCH', position: 0 }] },
      { ...browser, 'x-session-id': sessionId },
    );
    expectThat(
      JSON.stringify(impressions.trackImpressions) === '{"accepted":1,"invalid":0}',
      `a signed session's impression should be accepted, got ${JSON.stringify(impressions.trackImpressions)}`,
    );
    const clicks = await graphql(
      base,
      `
        mutation ($events: [ClickInput!]!) {
          trackClicks(events: $events) {
            accepted
          }
        }
      `,
      { events: [{ itemId, sessionId, source: 'SEARCH', position: 0 }] },
      { ...browser, 'x-session-id': sessionId },
    );
    expectThat((clicks.trackClicks as { accepted: number }).accepted === 1, `the click should be accepted`);
    const analytics = await graphql(
      base,
      `
        query ($id: ID!) {
          auctionItem(id: $id) {
            analytics {
              impressions
              clicks
            }
          }
        }
      `,
      { id: itemId },
      admin,
    );
    const figures = (analytics.auctionItem as { analytics: unknown }).analytics;
    expectThat(
      JSON.stringify(figures) === '{"impressions":1,"clicks":1}',
      `analytics should count the impression and the click, got ${JSON.stringify(figures)}`,
    );
    log('image: a tracking batch through a signed session, counted in analytics');

    expectThat((await fetch(`${base}/metrics`)).status === 401, '/metrics without its token should be 401');
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    const exposition = await metrics.text();
    expectThat(
      metrics.status === 200 && /^gavel_tracking_events_total\{/m.test(exposition),
      `/metrics with its token should be 200 with Gavel's counters, got ${metrics.status}`,
    );
    const dashboard = await fetch(`${base}/dashboard`);
    expectThat(dashboard.status === 200, `/dashboard should be served from the image, got ${dashboard.status}`);
    log('image: /metrics with its token, /dashboard served');

    await stopGracefully(server);
    log('image: SIGTERM → exit 0');
  } catch (error) {
    spawnSync('podman', ['rm', '--force', name]);
    throw Object.assign(error as Error, { output: server.output() });
  }
}

async function main(): Promise<void> {
  const [what, argument] = process.argv.slice(2);
  if (what === 'start' || what === 'dev') return smokeNpmScript(what);
  if (what === 'image' && argument) return smokeImage(argument);
  throw new SmokeFailure('usage: userPaths.ts start | dev | image MONGODB_URI');
}

main().then(
  () => process.exit(0),
  (error: Error & { output?: string }) => {
    process.stderr.write(`smoke: FAILED: ${error.message}\n`);
    if (!(error instanceof SmokeFailure)) process.stderr.write(`${error.stack}\n`);
    if (error.output) process.stderr.write(`--- server output ---\n${error.output.slice(-20_000)}\n`);
    process.exit(1);
  },
);
