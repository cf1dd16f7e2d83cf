import { startEngine } from '../../src/db/engine';
import type { MongoEngineChoice } from '../../src/config';

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
  process.env[TEST_URI_VARIABLE] = engine.uri;
  process.env.GAVEL_TEST_ENGINE = engine.name;
  process.stdout.write(`\n[gavel tests] MongoDB engine: ${engine.description}\n`);
  globalThis.gavelTestEngineStop = () => engine.stop();
}
