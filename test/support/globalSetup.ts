import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import { startEngine } from '../../src/db/engine';
import type { MongoEngineChoice } from '../../src/config';
import { startGatewayRelay } from './gatewayRelay';

/** URI of the engine shared by all test files of this run (read by `startTestApp`). */
export const TEST_URI_VARIABLE = 'GAVEL_TEST_MONGODB_URI';

declare global {
  var gavelTestEngineStop: (() => Promise<void>) | undefined;
}

/**
 * Starts one engine for the whole run: `GAVEL_MONGO_ENGINE` (default `auto`), or the MongoDB
 * at `MONGODB_URI` when that is set. Fails the run at once, with the fixes, when none starts.
 */
export default async function globalSetup(): Promise<void> {
  const uri = process.env.MONGODB_URI;
  const choice = (process.env.GAVEL_MONGO_ENGINE ?? (uri ? 'uri' : 'auto')) as MongoEngineChoice;
  const engine = await startEngine({ choice, purpose: 'test', mongodbUri: uri, dataDir: '.cache/test-data' });
  // An external engine is reached through a relay that reopens connections a DocumentDB 0.106
  // gateway resets (see startGatewayRelay); GAVEL_TEST_RELAY=off connects directly.
  const relay =
    choice === 'uri' && process.env.GAVEL_TEST_RELAY !== 'off'
      ? await startGatewayRelay(engine.uri, {
          // Seen once in CI (a start waiting past its test's 60 s): said in the log, so that it is known.
          onSilentServer: (waitedMs) =>
            process.stderr.write(
              `[gavel tests] relay: the engine left a handshake unanswered ${waitedMs} ms; reopened\n`,
            ),
        })
      : undefined;
  const testUri = relay?.uri ?? engine.uri;
  process.env[TEST_URI_VARIABLE] = testUri;
  process.env.GAVEL_TEST_ENGINE = engine.name;
  process.env.GAVEL_TEST_SHARDING = await probeSharding(testUri);
  process.stdout.write(
    `\n[gavel tests] MongoDB engine: ${engine.description}${relay ? ' (through a reconnecting relay)' : ''}\n`,
  );
  globalThis.gavelTestEngineStop = async () => {
    await relay?.close();
    await engine.stop();
  };
}

/**
 * What the engine does with `shardCollection`, tried once on a scratch database (read by
 * `testEngineSharding`): `none` (it cannot), `single-node` (it shards on one node, as the
 * single-node DocumentDB does: the query shapes a sharded collection demands apply there too) or
 * `distributed` (its `explain` shows shards on several workers).
 */
async function probeSharding(uri: string): Promise<string> {
  const client = await mongo.MongoClient.connect(uri);
  const db = client.db(`probe_${randomBytes(4).toString('hex')}`);
  try {
    await db.createCollection('probe');
    await db.admin().command({ shardCollection: `${db.databaseName}.probe`, key: { k: 'hashed' } });
    await db.collection('probe').insertMany([{ k: 1 }, { k: 2 }, { k: 3 }]);
    const plan = await db.collection('probe').find({}).explain('queryPlanner');
    return JSON.stringify(plan).includes('"shardCount"') ? 'distributed' : 'single-node';
  } catch {
    return 'none';
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
