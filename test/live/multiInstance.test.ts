import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import mongoose from 'mongoose';
import WebSocket from 'ws';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { BROWSER } from '../support/catalogFixtures';
import { startRedis, type RedisServer } from '../support/redisServer';
import { spawnTestServer, waitForReady, type ServerProcess } from '../support/serverProcess';

let redis: RedisServer;
let connection: mongoose.Connection;
let itemId: string;
const servers: ServerProcess[] = [];
const databaseName = `test_${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  redis = await startRedis();
  connection = await mongoose
    .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: databaseName })
    .asPromise();
  const repository = createAuctionItemRepository(connection);
  // As the app does at startup: the offline engine can fail inserts racing a collection's creation.
  await repository.ensureIndexes();
  await repository.insertMany(generateDemoCatalog(5, new Date(), 8));
  itemId = (await connection.collection('auction_items').findOne())!._id.toHexString();
});
afterAll(async () => {
  for (const server of servers) server.child.kill('SIGKILL');
  await redis.stop();
  await connection.close();
});

function start(): ServerProcess {
  const server = spawnTestServer(databaseName, { REDIS_URL: redis.url, LIVE_INTERVAL_MS: '100' });
  servers.push(server);
  return server;
}

async function track(url: string, sessionId: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...BROWSER },
    body: JSON.stringify({
      query: 'mutation($e: ImpressionInput!) { trackImpression(event: $e) { events { outcome } } }',
      variables: { e: { itemId, sessionId, source: 'HOME' } },
    }),
  });
  const body = (await response.json()) as { data: { trackImpression: { events: Array<{ outcome: string }> } } };
  return body.data.trackImpression.events[0]!.outcome;
}

describe('live updates across instances through Redis', () => {
  it('delivers tracking on instance A to a subscriber on instance B, and keeps tracking when Redis is lost', async () => {
    const [a, b] = [start(), start()];
    const [urlA, urlB] = await Promise.all([waitForReady(a), waitForReady(b)]);
    expect(a.output()).toMatch(/live updates: redis event bus/);

    const client = createClient({ url: urlB.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const figures: number[] = [];
    let reached!: () => void;
    const sawTwo = new Promise<void>((resolve) => (reached = resolve));
    let initial!: () => void;
    const sawInitial = new Promise<void>((resolve) => (initial = resolve));
    client.subscribe<{ itemAnalyticsUpdated: { impressions: number } }>(
      { query: `subscription { itemAnalyticsUpdated(itemIds: ["${itemId}"]) { impressions } }` },
      {
        next: (result) => {
          const impressions = result.data?.itemAnalyticsUpdated.impressions;
          if (impressions === undefined) return;
          figures.push(impressions);
          initial();
          if (impressions === 2) reached();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await sawInitial;
    expect(await track(urlA, 'redis-1')).toBe('ACCEPTED');
    expect(await track(urlA, 'redis-2')).toBe('ACCEPTED');
    await sawTwo;
    expect(figures[0]).toBe(0);
    expect(figures.at(-1)).toBe(2);
    await client.dispose();

    await redis.stop();
    expect(await track(urlA, 'redis-3')).toBe('ACCEPTED');
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });
});
