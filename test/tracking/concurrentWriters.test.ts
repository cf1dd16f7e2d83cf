import 'reflect-metadata';
import { Types, type mongo } from 'mongoose';
import { seededRandom } from '../../src/catalog/demoCatalog';
import { DAY_MS as DAY, startOfDay } from '../../src/shared/clock';
import { createTrackingRepository, type ItemDayIncrement } from '../../src/tracking/tracking.repository';
import { TrackImpressionsDocument, type TrafficSource } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { countedTotals, rollupsWritten } from '../support/rollups';
import { execute, startTestApp, type TestApp } from '../support/testApp';

/*
 * Writes under real locking. On an engine with row locks (DocumentDB, MongoDB), two writers that
 * upsert the same rollup documents or insert the same dedup keys in different orders deadlock: the
 * engine aborts one (code 112) or, as observed on DocumentDB 0.106, both wait forever. These tests
 * run such writers side by side and require that every write lands exactly once. On the embedded
 * engine, which serialises writes, they check the same outcome without the contention.
 */

let apps: TestApp[];
let items: string[];

beforeAll(async () => {
  const env = {
    GAVEL_SEED_DEMO: 'false',
    TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
    TRACKING_IP_EVENTS_PER_MINUTE: '10000000',
    // Small batches, several in flight: many concurrent flushes over the same item-days.
    TRACKING_FLUSH_MAX_EVENTS: '40',
    TRACKING_FLUSH_CONCURRENCY: '4',
  };
  const first = await startTestApp({ env });
  // A second instance on the same database: its flushes contend with the first one's.
  apps = [first, await startTestApp({ env, databaseName: first.databaseName })];
  items = await insertDemoItems(first, 12, 5);
});
afterAll(() => Promise.all(apps.map((app) => app.stop())));

it('rollup upserts of concurrent writers in opposite orders all land, exactly once', async () => {
  const repository = createTrackingRepository(apps[0]!.database.connection);
  const random = seededRandom(42);
  // Recent days: well inside retention, so the maintenance purge leaves them alone.
  const days = [1, 2, 3].map((offset) => startOfDay(new Date(Date.now() - offset * DAY)));
  // Every writer touches every (item, day), each in its own shuffled order, one impression per hour 0.
  const increments = (): ItemDayIncrement[] =>
    items
      .flatMap((itemId) => days.map((day) => ({ itemId: new Types.ObjectId(itemId), day })))
      .map((key) => ({ key, order: random() }))
      .sort((a, b) => a.order - b.order)
      .map(({ key }) => ({
        ...key,
        category: 'art',
        counters: [{ hour: 0, source: 'HOME', impressions: 1, clicks: 0 }],
      }));
  const WRITERS = 8;
  const ROUNDS = 5;
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(Array.from({ length: WRITERS }, () => repository.incrementItemDays(increments())));
  }
  const totals = await countedTotals(apps[0]!.database.connection, items);
  expect(totals.impressions).toBe(WRITERS * ROUNDS * items.length * days.length);
});

it('concurrent tracking on two instances over shared items: every event accepted and counted once', async () => {
  const CLIENTS = 8;
  const BATCHES = 6;
  const BATCH = 50;
  const sources: TrafficSource[] = ['HOME', 'SEARCH', 'ITEM_PAGE'];
  const before = await countedTotals(apps[0]!.database.connection, items);
  let sent = 0;
  const outcomes = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      const results: string[] = [];
      for (let batch = 0; batch < BATCHES; batch++) {
        const events = Array.from({ length: BATCH }, (_, position) => ({
          itemId: items[(client * 7 + batch * 3 + position) % items.length]!,
          // A fresh session per event: all distinct, so all must be accepted.
          sessionId: `s-${client}-${batch}-${position}`,
          source: sources[position % sources.length]!,
        }));
        sent += events.length;
        const response = await execute(apps[client % apps.length]!, TrackImpressionsDocument, { events }, BROWSER);
        if (response.errors) results.push(...response.errors.map((error) => String(error.extensions?.code)));
        else results.push(...response.data!.trackImpressions.events.map((event) => event.outcome));
      }
      return results;
    }),
  );
  const all = outcomes.flat();
  expect(all.filter((outcome) => outcome !== 'ACCEPTED')).toEqual([]);
  expect(all).toHaveLength(sent);
  const stored = await apps[0]!.database.connection
    .collection('tracking_events')
    .countDocuments({ outcome: 'ACCEPTED', sessionId: /^s-/ });
  expect(stored).toBe(sent);
  const after = await countedTotals(apps[0]!.database.connection, items);
  expect(after.impressions - before.impressions).toBe(sent);
  // Every flush's journal entry is closed once its sketches are written (within TRACKING_SKETCH_INTERVAL_MS):
  // no rollup write fell back to recovery.
  await rollupsWritten(apps[0]!.database.connection);
});

it('sends one of many concurrent identical events to the database; the others wait for it and are duplicates', async () => {
  const app = await startTestApp({ monitorCommands: true, env: { GAVEL_SEED_DEMO: 'false' } });
  try {
    const [itemId] = await insertDemoItems(app, 1, 9);
    const inserted: unknown[] = [];
    const client = app.database.connection.getClient();
    const listener = (event: mongo.CommandStartedEvent) => {
      if (event.commandName === 'insert' && event.command.insert === 'tracking_events')
        inserted.push(...(event.command.documents as unknown[]));
    };
    client.on('commandStarted', listener);
    // Stamped once, as the tracker stamps: the 40 copies cannot straddle a dedup window boundary.
    const event = {
      itemId: itemId!,
      sessionId: 'one-session',
      source: 'HOME' as TrafficSource,
      timestamp: new Date().toISOString(),
    };
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => execute(app, TrackImpressionsDocument, { events: [event] }, BROWSER)),
    );
    client.off('commandStarted', listener);
    const outcomes = responses.map((response) => response.data?.trackImpressions.events[0]?.outcome);
    expect(outcomes.filter((outcome) => outcome === 'ACCEPTED')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'DUPLICATE')).toHaveLength(39);
    expect(inserted).toHaveLength(1);
  } finally {
    await app.stop();
  }
});
