import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RunningEngine } from './javaServer';

/**
 * mongodb-memory-server is a development dependency: loaded only when this engine is tried, so a
 * production install (`npm ci --omit=dev`, the Dockerfile) runs on MONGODB_URI without it.
 */
const memoryServerModule = () => import('mongodb-memory-server');

/** Options for {@link startMemoryServer}. */
export interface MemoryServerOptions {
  /** Keep data in this directory across restarts; omit for a throw-away in-memory database. */
  readonly dbPath?: string;
}

/**
 * Finds a `mongod` that can start without a download: `MONGOMS_SYSTEM_BINARY` or one already in
 * mongodb-memory-server's cache. Returns `undefined` when a download would be needed.
 */
export async function locateMongodBinary(): Promise<string | undefined> {
  const { DryMongoBinary } = await memoryServerModule();
  const options = await DryMongoBinary.generateOptions();
  return DryMongoBinary.locateBinary(options);
}

/**
 * Starts the real `mongod` through mongodb-memory-server (which may download it once).
 * With `dbPath` the WiredTiger files persist there, so `npm start` keeps its data.
 */
export async function startMemoryServer(options: MemoryServerOptions = {}): Promise<RunningEngine> {
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const { MongoMemoryServer } = await memoryServerModule();
  const server = await MongoMemoryServer.create({
    instance: options.dbPath
      ? { dbPath: path.resolve(options.dbPath), storageEngine: 'wiredTiger', ip: '127.0.0.1' }
      : { ip: '127.0.0.1' },
  });
  const version = server.opts.binary?.version ?? 'default version';
  return {
    uri: server.getUri(),
    name: 'memory-server',
    description: `mongod ${version} via mongodb-memory-server (${options.dbPath ? `data in ${options.dbPath}` : 'ephemeral'})`,
    stop: async () => {
      await server.stop({ doCleanup: !options.dbPath, force: false });
    },
  };
}
