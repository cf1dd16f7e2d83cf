import { startApp, type GavelApp } from '../../src/app';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { loadConfig } from '../../src/config';
import { startJavaServer, type RunningJavaEngine } from '../../src/db/engines/javaServer';
import { TrackImpressionsDocument, type ImpressionInput } from '../generated/graphql';
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
    }),
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

describe('database outage', () => {
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
});
