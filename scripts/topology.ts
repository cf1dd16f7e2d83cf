/**
 * `npm run topology [-- <instances>]`: N Gavel processes (default 3) on one database, one
 * redis-server and nginx in front, on loopback, in the foreground until Ctrl-C / SIGTERM.
 * The database is MONGODB_URI when set, otherwise one embedded engine shared by all instances
 * (data in GAVEL_DATA_DIR, default ./data/topology). Needs `nginx` and `redis-server` (apt).
 */
import { loadConfig } from '../src/config';
import { redactUri, startConfiguredEngine } from '../src/db/engine';
import { startTopology } from '../test/support/topology';

async function main(): Promise<void> {
  const instances = Number(process.argv[2] ?? '3');
  if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
    console.error('usage: npm run topology [-- <instances, 1 to 16>]');
    process.exit(2);
  }
  const config = loadConfig({ GAVEL_DATA_DIR: 'data/topology', ...process.env });
  const engine = await startConfiguredEngine(config, (message) => console.error(message)).catch((error: unknown) => {
    console.error(`topology: ${error instanceof Error ? error.message : String(error)}`);
    return process.exit(1);
  });
  console.log(`database: ${engine.description}`);
  let topology;
  try {
    topology = await startTopology({
      instances,
      mongodbUri: engine.uri,
      mongodbDb: config.mongodbDb,
      // The first instance seeds an empty catalog, as `npm start` does.
      env: { GAVEL_SEED_DEMO: process.env.GAVEL_SEED_DEMO ?? 'true' },
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await engine.stop();
    process.exit(1);
  }
  const running = topology;
  console.log(
    [
      `Gavel topology ready at ${topology.url} (websockets: ${topology.wsUrl})`,
      ...topology.instances.map((instance) => `  ${instance.id}: http://127.0.0.1:${instance.port}/graphql`),
      `  redis: ${redactUri(topology.redis.url)}`,
      `  nginx: ${topology.prefix} (nginx.conf, access.log, error.log)`,
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void running
      .stop()
      .then(() => engine.stop())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

void main();
