import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { BROWSER } from './catalogFixtures';
import { startRedis, type RedisServer } from './redisServer';
import { spawnTestServer, type ServerProcess } from './serverProcess';

/** Gavel server processes sharing one database and one `redis-server` (see {@link useLiveCluster}). */
export interface LiveCluster {
  /** The Redis the servers publish through; replace it after a restart so teardown stops the new one. */
  redis: RedisServer;
  /** A direct connection to the servers' database, for recounts. */
  readonly connection: mongoose.Connection;
  /** A demo item every server can track and watch. */
  readonly itemId: string;
  /** Spawns one more server on the shared database and Redis (100 ms live interval). */
  start(): ServerProcess;
  /** Tracks one HOME impression of {@link itemId} through `url`; returns its outcome. */
  track(url: string, sessionId: string): Promise<string>;
}

/**
 * Registers the jest hooks of a multi-instance live test: before all, a `redis-server`, a fresh
 * database with five demo items (catalog `seed`); after all, every spawned server killed, Redis
 * stopped, the connection closed. The returned object is filled in by the `beforeAll` hook.
 */
export function useLiveCluster(seed: number): LiveCluster {
  const databaseName = `test_${randomBytes(6).toString('hex')}`;
  const servers: ServerProcess[] = [];
  const state = {} as { -readonly [K in keyof LiveCluster]: LiveCluster[K] };
  state.start = () => {
    const server = spawnTestServer(databaseName, { REDIS_URL: state.redis.url, LIVE_INTERVAL_MS: '100' });
    servers.push(server);
    return server;
  };
  state.track = async (url, sessionId) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...BROWSER },
      body: JSON.stringify({
        query: 'mutation($e: ImpressionInput!) { trackImpression(event: $e) { events { outcome } } }',
        variables: { e: { itemId: state.itemId, sessionId, source: 'HOME' } },
      }),
    });
    const body = (await response.json()) as { data: { trackImpression: { events: Array<{ outcome: string }> } } };
    return body.data.trackImpression.events[0]!.outcome;
  };

  beforeAll(async () => {
    state.redis = await startRedis();
    state.connection = await mongoose
      .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: databaseName })
      .asPromise();
    const repository = createAuctionItemRepository(state.connection);
    // As the app does at startup: the offline engine can fail inserts racing a collection's creation.
    await repository.ensureIndexes();
    await repository.insertMany(generateDemoCatalog(5, new Date(), seed));
    state.itemId = (await state.connection.collection('auction_items').findOne())!._id.toHexString();
  });
  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGKILL');
    await state.redis?.stop();
    await state.connection?.close();
  });
  return state;
}
