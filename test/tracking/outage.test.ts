import { startApp, type GavelApp } from '../../src/app';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { loadConfig } from '../../src/config';
import { ManualClock } from '../../src/shared/clock';
import { startJavaServer, type RunningJavaEngine } from '../../src/db/engines/javaServer';
import { TrackClicksDocument, TrackImpressionsDocument, type ImpressionInput } from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { errorCodes, execute } from '../support/testApp';

// A database of its own (a separate engine this test stops), not the run's shared engine.
let engine: RunningJavaEngine;
let app: GavelApp;
let items: string[];

beforeAll(async () => {
  engine = await startJavaServer({ backend: 'memory' });
  app = await startApp(
    loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: engine.uri,
      MONGODB_DB: 'outage',
      GAVEL_MONGO_ENGINE: 'uri',
      GAVEL_SEED_DEMO: 'false',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      TRACKING_WRITE_TIMEOUT_MS: '1500',
    }),
    // A clock that stands still: a retry must land in the same dedup window as the first attempt
    // (with the wall clock, a 30-s window boundary can fall between them and both would count).
    { clock: new ManualClock(new Date()) },
  );
  await createAuctionItemRepository(app.database.connection).insertMany(generateDemoCatalog(5, new Date(), 7));
  const rows = await app.database.connection.collection('auction_items').find().toArray();
  items = rows.map((row) => row._id.toHexString());
});
afterAll(async () => {
  await app.stop();
  await engine.stop();
});

const impression = (itemId: string, sessionId: string): ImpressionInput => ({ itemId, sessionId, source: 'HOME' });

const events = () => app.database.connection.collection('tracking_events');

describe('database outage', () => {
  it('answers SERVICE_UNAVAILABLE within the write timeout when the database hangs, and accepts again after', async () => {
    const before = await execute(app, TrackImpressionsDocument, { events: [impression(items[2]!, 'h-0')] }, BROWSER);
    expect(before.data?.trackImpressions.accepted).toBe(1);

    // A frozen server accepts connections and requests but never answers (no connection refused).
    process.kill(engine.pid, 'SIGSTOP');
    let frozen: Awaited<ReturnType<typeof execute<unknown, unknown>>>[];
    try {
      // Item 2's existence is cached (the write hangs); item 3's is not (the lookup hangs).
      frozen = await Promise.all([
        execute(app, TrackImpressionsDocument, { events: [impression(items[2]!, 'h-1')] }, BROWSER),
        execute(app, TrackImpressionsDocument, { events: [impression(items[3]!, 'h-2')] }, BROWSER),
      ]);
    } finally {
      process.kill(engine.pid, 'SIGCONT');
    }
    for (const response of frozen) {
      expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(response.errors![0]!.extensions).toMatchObject({ retryable: true });
    }

    // Retrying the same events once the database is back counts each exactly once, whether or
    // not the timed-out write landed meanwhile (then the retry is a DUPLICATE).
    for (const [itemId, sessionId] of [
      [items[2]!, 'h-1'],
      [items[3]!, 'h-2'],
    ] as const) {
      const retry = await execute(app, TrackImpressionsDocument, { events: [impression(itemId, sessionId)] }, BROWSER);
      expect(['ACCEPTED', 'DUPLICATE']).toContain(retry.data?.trackImpressions.events[0]?.outcome);
      expect(await events().countDocuments({ sessionId, outcome: 'ACCEPTED' })).toBe(1);
    }
  });

  it('fails tracking with a retryable SERVICE_UNAVAILABLE instead of hanging, reporting nothing as accepted', async () => {
    // Item 0 is known to the service (existence cached); item 1 is not (its lookup needs the database).
    const before = await execute(app, TrackImpressionsDocument, { events: [impression(items[0]!, 's-1')] }, BROWSER);
    expect(before.data?.trackImpressions.accepted).toBe(1);

    await engine.stop();

    for (const events of [[impression(items[0]!, 's-2')], [impression(items[1]!, 's-3')]]) {
      const response = await execute(app, TrackImpressionsDocument, { events }, BROWSER);
      expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(response.errors![0]!.extensions).toMatchObject({ retryable: true });
      expect(response.data?.trackImpressions).toBeUndefined();
    }
  });

  it('answers a click whose impression claim fails SERVICE_UNAVAILABLE and keeps running when the claim fails later', async () => {
    // The engine is down (previous test). Item 0's existence is cached, so the click reaches its
    // impression claim, which waits for a server until the driver gives up (5 s), well after the
    // request's deadline (1.5 s). That late failure must not escape as an unhandled rejection (Node
    // ends a process on one): jest fails the whole file on one, which is what this waits for.
    const response = await execute(
      app,
      TrackClicksDocument,
      { events: [{ itemId: items[0]!, sessionId: 's-1', source: 'HOME' }] },
      BROWSER,
    );
    expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
  }, 20_000);
});
