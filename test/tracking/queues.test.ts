import mongoose from 'mongoose';
import { AuctionItemDocument, SearchItemsDocument } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp } from '../support/testApp';

const searchAs = (app: { url: string }, sessionId: string, first: number) =>
  execute(app, SearchItemsDocument, { first }, { ...BROWSER, 'x-session-id': sessionId });

describe('implicit impressions queue', () => {
  it('drops (and counts) what does not fit, never failing or holding up the query', async () => {
    const app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', TRACKING_IMPLICIT_QUEUE_SIZE: '5' } });
    try {
      await insertDemoItems(app, 12);
      const stored = (sessionPrefix: string) =>
        app.database.connection
          .collection('tracking_events')
          .countDocuments({ sessionId: { $regex: `^${sessionPrefix}` }, source: 'SEARCH' });

      // A page of 3 fits the queue; a page of 10 does not and is dropped whole.
      expect((await searchAs(app, 'fits', 3)).errors).toBeUndefined();
      await app.services.tracking.drainImplicitQueue();
      const tooBig = await searchAs(app, 'too-big', 10);
      expect(tooBig.errors).toBeUndefined();
      expect(tooBig.data?.auctionItems.edges).toHaveLength(10);
      await app.services.tracking.drainImplicitQueue();
      expect(await stored('fits')).toBe(3);
      expect(await stored('too-big')).toBe(0);
      expect(app.services.tracking.droppedImplicitImpressions).toBe(10);

      // Under concurrency every implied impression is either stored or counted as dropped.
      const droppedBefore = app.services.tracking.droppedImplicitImpressions;
      const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => searchAs(app, `burst-${i}`, 4)));
      expect(responses.every((response) => response.errors === undefined)).toBe(true);
      await app.services.tracking.drainImplicitQueue();
      const dropped = app.services.tracking.droppedImplicitImpressions - droppedBefore;
      expect((await stored('burst-')) + dropped).toBe(30 * 4);
    } finally {
      await app.stop();
    }
  });
});

describe('shutdown', () => {
  it('stores queued and buffered impressions before the database connection closes', async () => {
    // A long group-commit interval: without the drain at shutdown these events would be lost.
    const app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', TRACKING_FLUSH_INTERVAL_MS: '10000' } });
    const items = await insertDemoItems(app, 6);
    for (let i = 0; i < 5; i++) expect((await searchAs(app, `shutdown-${i}`, 6)).errors).toBeUndefined();
    const view = await execute(
      app,
      AuctionItemDocument,
      { id: items[0]! },
      { ...BROWSER, 'x-session-id': 'shutdown-view' },
    );
    expect(view.errors).toBeUndefined();
    await app.stop();

    const connection = await mongoose
      .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: app.databaseName })
      .asPromise();
    try {
      const stored = connection.collection('tracking_events');
      expect(await stored.countDocuments({ source: 'SEARCH', outcome: 'ACCEPTED' })).toBe(5 * 6);
      expect(await stored.countDocuments({ source: 'ITEM_PAGE', outcome: 'ACCEPTED' })).toBe(1);
      // Drained before the disconnect, increments included: no journal entry left for the recovery.
      expect(await connection.collection('rollup_journal').countDocuments()).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
