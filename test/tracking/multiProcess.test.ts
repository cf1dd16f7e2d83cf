import { randomBytes } from 'node:crypto';
import mongoose, { type Types } from 'mongoose';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { BROWSER } from '../support/catalogFixtures';
import { countedTotals } from '../support/rollups';
import { spawnTestServer, waitForReady, type ServerProcess } from '../support/serverProcess';

const mutation = 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { events { outcome } } }';
let connection: mongoose.Connection;
let databaseName: string;
let itemIds: string[];
const servers: ServerProcess[] = [];

beforeAll(async () => {
  databaseName = `test_${randomBytes(6).toString('hex')}`;
  connection = await mongoose
    .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: databaseName })
    .asPromise();
  const repository = createAuctionItemRepository(connection);
  // As the app does at startup: the offline engine can fail inserts racing a collection's creation.
  await repository.ensureIndexes();
  await repository.insertMany(generateDemoCatalog(50, new Date(), 3));
  itemIds = (await connection.collection('auction_items').find().toArray()).map((item) => item._id.toHexString());
});
afterAll(async () => {
  for (const server of servers) server.child.kill('SIGKILL');
  await connection.close();
});

function start(extraEnv: Record<string, string> = {}): ServerProcess {
  const server = spawnTestServer(databaseName, {
    TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
    TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    ...extraEnv,
  });
  servers.push(server);
  return server;
}

async function track(url: string, events: unknown[]): Promise<string[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...BROWSER },
    body: JSON.stringify({ query: mutation, variables: { e: events } }),
  });
  const body = (await response.json()) as { data?: { trackImpressions: { events: Array<{ outcome: string }> } } };
  if (!body.data) throw new Error(JSON.stringify(body));
  return body.data.trackImpressions.events.map((event) => event.outcome);
}

describe('tracking across server processes on one database', () => {
  it('counts exactly one of 100 concurrent identical impressions sent to two instances', async () => {
    // A day-long cooldown: the 100 requests cannot straddle a dedup window boundary (wall clock).
    const longWindow = { TRACKING_IMPRESSION_COOLDOWN_MS: '86400000' };
    const [a, b] = [start(longWindow), start(longWindow)];
    const urls = await Promise.all([waitForReady(a), waitForReady(b)]);
    const event = { itemId: itemIds[0], sessionId: 'shared-session', source: 'SEARCH' };
    const outcomes = (await Promise.all(Array.from({ length: 100 }, (_, i) => track(urls[i % 2]!, [event])))).flat();
    expect(outcomes.filter((outcome) => outcome === 'ACCEPTED')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'DUPLICATE')).toHaveLength(99);
    expect((await countedTotals(connection, [itemIds[0]!])).impressions).toBe(1);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });

  it('keeps every acknowledged event when the server is killed (SIGKILL) under sustained load', async () => {
    const server = start();
    const url = await waitForReady(server);
    const acknowledged: string[] = [];
    let stop = false;
    let reachedTarget!: () => void;
    const targetReached = new Promise<void>((resolve) => (reachedTarget = resolve));
    const client = async (clientIndex: number) => {
      for (let round = 0; !stop; round++) {
        const sessionId = `kill-${clientIndex}-${round}`;
        const events = itemIds.slice(0, 20).map((itemId) => ({ itemId, sessionId, source: 'HOME' }));
        try {
          const outcomes = await track(url, events);
          outcomes.forEach((outcome, index) => {
            if (outcome === 'ACCEPTED') acknowledged.push(`${sessionId}|${events[index]!.itemId}`);
          });
          if (acknowledged.length >= 2_000) reachedTarget();
        } catch {
          return; // The connection died with the server: this batch was never acknowledged.
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, index) => client(index));
    // Kill once a good number of batches were acknowledged, while requests are in flight.
    await targetReached;
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    expect(await server.exited).toBeNull();
    const stored = await connection
      .collection('tracking_events')
      .find({ sessionId: { $regex: '^kill-' }, outcome: 'ACCEPTED' }, { projection: { sessionId: 1, itemId: 1 } })
      .toArray();
    const storedKeys = new Set(
      stored.map((event) => `${event.sessionId}|${(event.itemId as Types.ObjectId).toHexString()}`),
    );
    const lost = acknowledged.filter((key) => !storedKeys.has(key));
    expect(lost).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(2_000);
  });
});
