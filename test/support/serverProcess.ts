import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Output and exit code of a finished `gavel` command. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the `gavel` command (`src/cli/gavel.ts`, transpiled on the fly) to its end with exactly the
 * given extra environment, as `npm run keys` or the image's entry point would.
 *
 * @param node - the Node.js binary (default: this test's)
 */
export function runGavel(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  node = process.execPath,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(node, ['-r', 'ts-node/register', path.join(root, 'src', 'cli', 'gavel.ts'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A Gavel server running as a separate OS process (`src/main.ts`), as in production. */
export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/**
 * Spawns `src/main.ts` (transpiled on the fly) with exactly the given extra environment.
 *
 * @param nodeArgs - extra Node flags, e.g. `--cpu-prof` (which NODE_OPTIONS may not carry)
 */
export function spawnServer(env: Record<string, string | undefined>, nodeArgs: readonly string[] = []): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, '-r', 'ts-node/register', path.join(root, 'src', 'main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * Spawns a server on the run's shared test engine, in the given database, on a free loopback
 * port, without demo data; `env` adds or overrides variables.
 */
export function spawnTestServer(databaseName: string, env: Record<string, string | undefined> = {}): ServerProcess {
  return spawnServer({
    MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
    MONGODB_DB: databaseName,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    GAVEL_SEED_DEMO: 'false',
    // Every test client comes from 127.0.0.1, so the per-address request limit would throttle whole
    // files on a fast machine; test/server/httpGuard.test.ts sets it to test it.
    HTTP_REQUESTS_PER_MINUTE: '0',
    ...env,
  });
}

/**
 * Waits until the process logs that it is ready and returns its GraphQL URL; rejects with the
 * process output if it exits first or `timeoutMs` passes.
 */
export function waitForReady(server: ServerProcess, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`server not ready in ${timeoutMs} ms:\n${server.output()}`)),
      timeoutMs,
    );
    const onData = (): void => {
      const match = /Gavel ready at (http:\/\/\S+\/graphql)/.exec(server.output());
      if (match) done(match[1]!);
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`server exited (${code}) before ready:\n${server.output()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      server.child.stdout.off('data', onData);
      server.child.off('exit', onExit);
    };
    const done = (url: string): void => {
      cleanup();
      resolve(url);
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    server.child.stdout.on('data', onData);
    server.child.once('exit', onExit);
    onData();
  });
}
