import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { NGINX_TEMPLATE } from '../support/topology';

// compose.yaml names Docker Hub images (mongo, redis, nginx), so the stack is validated here rather
// than started: the compose model and the configuration each instance would start with. The image
// itself is built and run by CI (test/smoke/userPaths.ts image).
const root = path.join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
}

const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const gavels = ['gavel-1', 'gavel-2'].map((name) => services[name]!);

/** Compose's `${VAR:?message}` interpolation, with the values an operator exports. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g, (_match, name: string) => {
    const found = env[name];
    if (found === undefined) throw new Error(`compose needs ${name}`);
    return found;
  });
}

/** `ENV` of the Dockerfile's last stage (the runtime image). */
function runtimeEnv(dockerfile: string): Record<string, string> {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const block of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm))
    for (const pair of block[1]!.replace(/\\\n/g, ' ').matchAll(/([A-Z_]+)=(\S+)/g)) env[pair[1]!] = pair[2]!;
  return env;
}

describe('compose.yaml', () => {
  it('runs a MongoDB replica set, Redis, two Gavel instances and nginx', () => {
    expect(Object.keys(services).sort()).toEqual(['gavel-1', 'gavel-2', 'mongo', 'mongo-init', 'nginx', 'redis']);
    expect(services.mongo!.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(services['mongo-init']!.command!.join(' ')).toMatch(/rs\.initiate\(\{ _id: 'rs0'/);
    for (const gavel of gavels) {
      expect(gavel.build).toBe('.');
      expect(gavel.depends_on).toEqual({
        'mongo-init': { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(services.nginx!.depends_on).toEqual({
      'gavel-1': { condition: 'service_healthy' },
      'gavel-2': { condition: 'service_healthy' },
    });
  });

  it('gives each instance a valid production configuration on the replica set, Redis and the proxy', () => {
    const secrets = { CURSOR_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32), PRIVACY_SECRET: 'p'.repeat(32) };
    const imageEnv = runtimeEnv(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
    const configs = gavels.map((gavel) =>
      loadConfig({
        ...imageEnv,
        ...Object.fromEntries(
          Object.entries(gavel.environment!).map(([name, value]) => [name, interpolate(String(value), secrets)]),
        ),
      }),
    );
    for (const config of configs) {
      expect(config.nodeEnv).toBe('production');
      expect(config.mongoEngine).toBe('uri');
      expect(config.mongodbUri).toMatch(/^mongodb:\/\/mongo:27017\/\?replicaSet=rs0$/);
      expect(config.live.redisUrl).toBe('redis://redis:6379');
      expect(config.trustProxy).toBe(1);
      expect(config.port).toBe(4000);
      expect(config.seedDemo).toBe(false);
    }
    expect(configs[0]!.cursorSecret).toBe(configs[1]!.cursorSecret);
    expect(configs.map((config) => config.instanceId)).toEqual(['gavel-1', 'gavel-2']);
    // Without the secrets exported, compose refuses to start rather than run with defaults.
    expect(() => interpolate(gavels[0]!.environment!.CURSOR_SECRET!, {})).toThrow(/CURSOR_SECRET/);
  });

  it('configures nginx from the template the topology test runs, with every variable set', () => {
    const nginx = services.nginx!;
    const [source, target] = nginx.volumes![0]!.split(':');
    expect(path.resolve(root, source!)).toBe(NGINX_TEMPLATE);
    expect(target).toMatch(/^\/etc\/nginx\/templates\/.+\.template$/);
    const used = new Set([...readFileSync(NGINX_TEMPLATE, 'utf8').matchAll(/\$\{(GAVEL_[A-Z_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(['GAVEL_ACCESS_LOG', 'GAVEL_LISTEN', 'GAVEL_UPSTREAM_SERVERS']);
    const env = nginx.environment!;
    for (const name of used) expect(env[name!]).toBeTruthy();
    expect(env.GAVEL_UPSTREAM_SERVERS).toMatch(/server gavel-1:4000 [^;]*;\s*server gavel-2:4000 [^;]*;/);
    expect(nginx.ports).toEqual([`${env.GAVEL_LISTEN}:${env.GAVEL_LISTEN}`]);
  });
});
