import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { startApp, type GavelApp, type AppOverrides } from '../../src/app';
import { loadConfig } from '../../src/config';
import { isConnectionReset } from '../../src/db/database';

/**
 * `NODE_ENV=production` with the secrets production requires: random, 32 bytes or more, each its
 * own (src/config.ts refuses anything weaker there).
 */
export function productionEnv(): Record<string, string> {
  const secret = () => randomBytes(32).toString('base64url');
  return { NODE_ENV: 'production', CURSOR_SECRET: secret(), SESSION_SECRET: secret(), PRIVACY_SECRET: secret() };
}

/**
 * The time limit of a hook that starts `count` apps. Starts run one at a time (see
 * {@link startTestApp}), and DocumentDB answers each index build of a fresh database after whole
 * seconds, several times more on a loaded CI machine: four starts outlasted jest's 60 s there.
 */
export function appStartsTimeout(count: number): number {
  return 60_000 + count * 30_000;
}

/** A Gavel server on an ephemeral port with a database of its own, on the run's shared engine. */
export interface TestApp extends GavelApp {
  /** Name of this app's database (unique per call). */
  readonly databaseName: string;
}

/**
 * Starts the real server (HTTP + websockets) against the run's engine, in a fresh database.
 *
 * @param env - extra environment variables (as a user would set them), e.g. limits
 * @param databaseName - reuse a database (e.g. to restart a server on the same data)
 */
export async function startTestApp(
  options: AppOverrides & { env?: Record<string, string>; databaseName?: string } = {},
): Promise<TestApp> {
  const uri = process.env.GAVEL_TEST_MONGODB_URI;
  if (!uri) throw new Error('GAVEL_TEST_MONGODB_URI is not set: run the tests through jest (globalSetup).');
  const databaseName = options.databaseName ?? `test_${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: uri,
    MONGODB_DB: databaseName,
    GAVEL_MONGO_ENGINE: 'uri',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Every test client comes from 127.0.0.1, so the per-address request limit would throttle whole
    // files on a fast machine; test/server/httpGuard.test.ts sets it to test it.
    HTTP_REQUESTS_PER_MINUTE: '0',
    // The funnels are built when a test calls `services.funnels.catchUp()`: a periodic round would
    // add its commands to tests that count them (test/funnels sets its own).
    FUNNEL_REFRESH_MS: '3600000',
    // The sharded leg of CI runs the whole suite with MONGODB_SHARDING=on (docs/scaling.md).
    ...(process.env.MONGODB_SHARDING ? { MONGODB_SHARDING: process.env.MONGODB_SHARDING } : {}),
    ...options.env,
  });
  // One start at a time per test process: DocumentDB 0.106's gateway resets connections opened at
  // the same instant (ECONNRESET), and a file starting several apps with Promise.all opens a
  // monitor and a pool connection per app at once. A start that still meets a reset is retried
  // (a failed start releases everything it had acquired).
  const start = appStarts.then(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startApp(config, options);
      } catch (error) {
        if (attempt >= 3 || !isConnectionReset(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  });
  appStarts = start.catch(() => undefined);
  const app = await start;
  return { ...app, databaseName };
}

/** What the run's engine does with `shardCollection` (probed once by globalSetup). */
export function testEngineSharding(): 'none' | 'single-node' | 'distributed' {
  const value = process.env.GAVEL_TEST_SHARDING;
  if (value !== 'none' && value !== 'single-node' && value !== 'distributed')
    throw new Error('GAVEL_TEST_SHARDING is not set: run the tests through jest (globalSetup).');
  return value;
}

/** The tail of this process's app starts (see {@link startTestApp}). */
let appStarts: Promise<unknown> = Promise.resolve();

/** A GraphQL response as received over HTTP. */
export interface GraphQLResponse<TData> {
  readonly status: number;
  readonly data?: TData | null;
  readonly errors?: ReadonlyArray<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}

/**
 * POSTs an operation to the server (the codegen-typed document keeps data and variables typed).
 */
export async function execute<TData, TVariables>(
  app: { url: string },
  document: TypedDocumentNode<TData, TVariables>,
  variables?: TVariables,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  return postRaw<TData>(app, { query: print(document), variables }, headers);
}

/** POSTs any JSON body (for malformed and hostile requests that typed documents cannot express). */
export async function postRaw<TData = unknown>(
  app: { url: string },
  body: unknown,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
  return { status: response.status, ...json };
}

/** The `extensions.code` of each error, for compact assertions. */
export function errorCodes(response: GraphQLResponse<unknown>): unknown[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
