import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startRedis, type RedisServer } from './redisServer';
import { spawnServer, waitForReady, type ServerProcess } from './serverProcess';

const root = path.join(__dirname, '..', '..');

/** The nginx template shared with compose.yaml (see its header for the variables). */
export const NGINX_TEMPLATE = path.join(root, 'deploy', 'nginx', 'gavel.conf.template');

/** Starting a ts-node process takes seconds, longer on a busy machine. */
const READY_TIMEOUT_MS = 120_000;

/** Inputs of {@link startTopology}. */
export interface TopologyOptions {
  /** Gavel processes behind the balancer (default 3). */
  readonly instances?: number;
  /** The one database every instance uses. */
  readonly mongodbUri: string;
  readonly mongodbDb: string;
  /** Extra or overriding environment for every Gavel instance. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** One Gavel process of the topology, on a fixed loopback port that survives its restarts. */
export interface TopologyInstance {
  /** `GAVEL_INSTANCE_ID`, sent back in the `x-gavel-instance` header: `gavel-1`, `gavel-2`, … */
  readonly id: string;
  readonly port: number;
  /** The running process (replaced by {@link Topology.restart}). */
  readonly process: ServerProcess;
}

/** N Gavel processes, one redis-server and nginx in front, all on loopback. */
export interface Topology {
  /** `http://127.0.0.1:<nginx>/graphql` */
  readonly url: string;
  /** `ws://127.0.0.1:<nginx>/graphql` */
  readonly wsUrl: string;
  readonly redis: RedisServer;
  readonly instances: readonly TopologyInstance[];
  /** nginx's prefix directory: config, pid, error.log, access.log. */
  readonly prefix: string;
  /** Starts instance `index` again on its port (after it exited) and resolves once it is ready. */
  restart(index: number): Promise<void>;
  /** Stops nginx, every instance (SIGTERM) and Redis; removes the prefix. Idempotent. */
  stop(): Promise<void>;
}

/** Renders the shared template: `${GAVEL_*}` placeholders only, nginx's own `$variables` stay. */
export function renderNginxTemplate(variables: Readonly<Record<string, string>>): string {
  return readFileSync(NGINX_TEMPLATE, 'utf8').replace(/\$\{(GAVEL_[A-Z_]+)\}/g, (match, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`nginx template: no value for ${match}`);
    return value;
  });
}

/**
 * A top-level nginx.conf that runs without root and without touching /etc or /var: pid, logs and
 * temp files inside `prefix`, foreground (`daemon off`) so the caller owns the process.
 */
function nginxMainConfig(prefix: string, listenPort: number, instancePorts: readonly number[]): string {
  const http = renderNginxTemplate({
    GAVEL_LISTEN: `127.0.0.1:${listenPort}`,
    GAVEL_UPSTREAM_SERVERS: instancePorts
      .map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`)
      .join('\n  '),
    GAVEL_ACCESS_LOG: path.join(prefix, 'access.log'),
  });
  const temp = (name: string) => `${name}_temp_path ${path.join(prefix, 'tmp', name)};`;
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${path.join(prefix, 'nginx.pid')};`,
    `error_log ${path.join(prefix, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}`,
    http,
    '}',
    '',
  ].join('\n');
}

async function waitForHttp(url: string, what: string, exited: () => boolean, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (exited()) throw new Error(`${what} exited before answering:\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not answer ${url}:\n${output()}`);
}

async function startNginx(prefix: string, config: string, listenPort: number): Promise<ChildProcess> {
  const configFile = path.join(prefix, 'nginx.conf');
  writeFileSync(configFile, config);
  // `-e` so even the messages before the config is read stay in the prefix.
  const child = spawn('nginx', ['-p', prefix, '-c', configFile, '-e', path.join(prefix, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Debian installs it in /usr/sbin, which a non-root PATH may lack.
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin` },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const spawnError = new Promise<never>((_resolve, reject) =>
    child.once('error', (error) =>
      reject(new Error(`nginx could not start (apt-get install -y nginx): ${error.message}`)),
    ),
  );
  const errorLog = (): string => {
    try {
      return output + readFileSync(path.join(prefix, 'error.log'), 'utf8');
    } catch {
      return output;
    }
  };
  await Promise.race([
    spawnError,
    waitForHttp(`http://127.0.0.1:${listenPort}/healthz`, 'nginx', () => child.exitCode !== null, errorLog),
  ]);
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/**
 * Starts `redis-server`, N Gavel processes (`src/main.ts`) on one database with `REDIS_URL` and
 * `TRUST_PROXY=1`, and nginx in front of them from `deploy/nginx/gavel.conf.template`. The first
 * instance starts alone (it creates the indexes and, if asked, seeds the demo catalog), the
 * others then together.
 */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const count = options.instances ?? 3;
  const prefix = mkdtempSync(path.join(tmpdir(), 'gavel-topology-'));
  // nginx workers run as `nobody` when started by root: they must reach the temp directories.
  chmodSync(prefix, 0o755);
  mkdirSync(path.join(prefix, 'tmp'));
  const redis = await startRedis();
  const instances: TopologyInstance[] = [];
  let nginx: ChildProcess | undefined;
  const spawnInstance = (index: number, port: number): ServerProcess =>
    spawnServer({
      MONGODB_URI: options.mongodbUri,
      MONGODB_DB: options.mongodbDb,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      GAVEL_SEED_DEMO: 'false',
      REDIS_URL: redis.url,
      TRUST_PROXY: '1',
      GAVEL_INSTANCE_ID: `gavel-${index + 1}`,
      // The tests tell which instance answered by x-gavel-instance (off by default).
      EXPOSE_INSTANCE_HEADER: 'true',
      ...options.env,
    });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (nginx) await stopChild(nginx, 'SIGTERM');
      await Promise.all(instances.map((instance) => stopChild(instance.process.child, 'SIGTERM')));
      await redis.stop();
      rmSync(prefix, { recursive: true, force: true });
    })());
  try {
    for (let index = 0; index < count; index++) {
      const port = await freePort();
      instances.push({ id: `gavel-${index + 1}`, port, process: spawnInstance(index, port) });
      if (index === 0) await waitForReady(instances[0]!.process, READY_TIMEOUT_MS);
    }
    await Promise.all(instances.slice(1).map((instance) => waitForReady(instance.process, READY_TIMEOUT_MS)));
    const listenPort = await freePort();
    nginx = await startNginx(
      prefix,
      nginxMainConfig(
        prefix,
        listenPort,
        instances.map((instance) => instance.port),
      ),
      listenPort,
    );
    return {
      url: `http://127.0.0.1:${listenPort}/graphql`,
      wsUrl: `ws://127.0.0.1:${listenPort}/graphql`,
      redis,
      instances,
      prefix,
      restart: async (index) => {
        const previous = instances[index]!;
        const process = spawnInstance(index, previous.port);
        instances[index] = { ...previous, process };
        await waitForReady(process, READY_TIMEOUT_MS);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
