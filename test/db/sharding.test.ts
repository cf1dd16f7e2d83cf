import { mongo } from 'mongoose';
import { ManualClock } from '../../src/shared/clock';
import { ShardingError, shardKeysOf } from '../../src/db/sharding';
import {
  ItemAnalyticsDocument,
  SearchWithAnalyticsDocument,
  TrackClicksDocument,
  TrackImpressionsDocument,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { appStartsTimeout, execute, startTestApp, testEngineSharding, type TestApp } from '../support/testApp';
import { rollupsWritten } from '../support/rollups';

/**
 * Sharding (docs/scaling.md) on whichever engine the run uses: the embedded engine cannot shard
 * (MONGODB_SHARDING=on must refuse to start there), the single-node DocumentDB shards without
 * distributing (the query shapes a sharded collection demands are checked there too), and the
 * distributed DocumentDB spreads shards over its workers, where `explain` shows the routing.
 */
// Every test starts one to four apps on fresh databases: on DocumentDB under the other worker's
// load one start took past jest's 60 s (CI, and 2 runs in 4 beside bulkWrites.test.ts).
jest.setTimeout(appStartsTimeout(4));

type Db = mongo.Db;
type Document = mongo.Document;
const capability = testEngineSharding();
const canShard = capability !== 'none';
/** Tests that need shards on several workers: skipped (and reported so) on the other engines. */
const itDistributed = capability === 'distributed' ? it : it.skip;
/** Tests that need `shardCollection`. */
const itSharding = canShard ? it : it.skip;

let client: mongo.MongoClient;
beforeAll(async () => {
  client = await mongo.MongoClient.connect(process.env.GAVEL_TEST_MONGODB_URI!);
});
afterAll(() => client.close());

const databaseOf = (app: TestApp): Db => client.db(app.databaseName);
// Still: a retry after a restart stays in its dedup window (30 s for impressions).
const clock = new ManualClock('2026-03-01T12:00:10.000Z');
const startSharded = (mode: string, databaseName?: string, monitorCommands = false) =>
  startTestApp({ env: { MONGODB_SHARDING: mode, GAVEL_SEED_DEMO: 'false' }, databaseName, monitorCommands, clock });

/** Tracks one impression per (item, session) through the API; returns how many were accepted. */
async function trackImpressions(app: TestApp, itemIds: readonly string[], sessions: readonly string[]) {
  const events = itemIds.flatMap((itemId) =>
    sessions.map((sessionId) => ({ itemId, sessionId, source: 'SEARCH' as const })),
  );
  const response = await execute(app, TrackImpressionsDocument, { events }, BROWSER);
  expect(response.errors).toBeUndefined();
  return response.data!.trackImpressions;
}

/** The keys of the unique indexes (besides `_id`) of an app's tracking events. */
const uniqueIndexKeys = async (app: TestApp) =>
  (await databaseOf(app).collection('tracking_events').listIndexes().toArray())
    .filter((index: Document) => index.unique && index.name !== '_id_')
    .map((index: Document) => index.key as Document);

const impressionsOf = async (app: TestApp, itemId: string) =>
  (await execute(app, ItemAnalyticsDocument, { id: itemId })).data!.auctionItem!.analytics!.impressions;

describe('MONGODB_SHARDING', () => {
  it('on: shards the events and the rollups on the item and nothing else, or refuses to start where it cannot', async () => {
    if (!canShard) {
      const failure = await startSharded('on').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ShardingError);
      expect((failure as Error).message).toMatch(/MONGODB_SHARDING: the server refused to shard tracking_events/);
      expect((failure as Error).message).toMatch(/MONGODB_SHARDING=off/);
      return;
    }
    const app = await startSharded('on');
    try {
      const keys = await shardKeysOf(databaseOf(app));
      expect(Object.fromEntries(keys)).toEqual({
        tracking_events: { itemId: 'hashed' },
        item_days: { itemId: 'hashed' },
        item_day_sketches: { itemId: 'hashed' },
        conversion_events: { itemId: 'hashed' },
        funnel_journeys: { itemId: 'hashed' },
      });
      // Every unique index of a sharded collection begins with the shard key.
      expect(await uniqueIndexKeys(app)).toEqual([{ itemId: 1, dedupKey: 1 }]);
    } finally {
      await app.stop();
    }
  });

  it('auto: shards behind a shard router only, and a second start changes nothing', async () => {
    // mongo-java-server lacks `hello`; drivers fall back to `isMaster`, as Gavel does.
    const hello = await client.db('admin').command({ isMaster: 1 });
    const app = await startSharded('auto');
    const databaseName = app.databaseName;
    await app.stop();
    const again = await startSharded('auto', databaseName);
    try {
      const keys = await shardKeysOf(databaseOf(again));
      expect(keys.size).toBe(hello.msg === 'isdbgrid' ? 5 : 0);
    } finally {
      await again.stop();
    }
  });

  it('off: leaves every collection unsharded, with the dedup key alone unique', async () => {
    const app = await startSharded('off');
    try {
      expect((await shardKeysOf(databaseOf(app))).size).toBe(0);
      // Not { itemId, dedupKey }: DocumentDB checks that by reading the whole item's entries.
      expect(await uniqueIndexKeys(app)).toEqual([{ dedupKey: 1 }]);
    } finally {
      await app.stop();
    }
  });

  itSharding('shards a database that ran unsharded in place, and its counts and dedup stay exact', async () => {
    const before = await startSharded('off');
    const databaseName = before.databaseName;
    const items = await insertDemoItems(before, 6);
    const sessions = ['s-1', 's-2', 's-3'];
    expect((await trackImpressions(before, items, sessions)).accepted).toBe(18);
    const counted = await Promise.all(items.map((id) => impressionsOf(before, id)));
    expect(counted).toEqual(items.map(() => sessions.length));
    await before.stop();

    const after = await startSharded('on', databaseName);
    try {
      expect(Object.fromEntries(await shardKeysOf(databaseOf(after)))).toEqual({
        tracking_events: { itemId: 'hashed' },
        item_days: { itemId: 'hashed' },
        item_day_sketches: { itemId: 'hashed' },
        conversion_events: { itemId: 'hashed' },
        funnel_journeys: { itemId: 'hashed' },
      });
      expect(await Promise.all(items.map((id) => impressionsOf(after, id)))).toEqual(counted);
      expect(await uniqueIndexKeys(after)).toEqual([{ itemId: 1, dedupKey: 1 }]);
      // The same batch again (a client retrying after the restart): nothing counted twice.
      const retried = await trackImpressions(after, items, sessions);
      expect(retried).toMatchObject({ accepted: 0, duplicates: 18 });
      expect((await trackImpressions(after, items, ['s-4'])).accepted).toBe(6);
      expect(await Promise.all(items.map((id) => impressionsOf(after, id)))).toEqual(counted.map((n) => n + 1));
    } finally {
      await after.stop();
    }
  });

  itSharding(
    'refuses to start with a unique index that a sharded engine would enforce per shard only, naming it',
    async () => {
      const first = await startSharded('on');
      const databaseName = first.databaseName;
      await first.stop();
      await client
        .db(databaseName)
        .collection('tracking_events')
        .createIndex({ sessionId: 1, receivedAt: 1 }, { unique: true });
      for (const mode of ['on', 'off']) {
        const failure = await startSharded(mode, databaseName).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(ShardingError);
        expect((failure as Error).message).toContain('tracking_events.sessionId_1_receivedAt_1');
        expect((failure as Error).message).toMatch(/enforces it per shard only/);
      }
      await client.db(databaseName).collection('tracking_events').dropIndex('sessionId_1_receivedAt_1');
      const fixed = await startSharded('on', databaseName);
      await fixed.stop();
    },
  );
});

describe('events stored before every event had a dedup key', () => {
  /** A database as an older Gavel left it: a counted impression of `s-1`, and refused events without a key. */
  async function olderDatabase(): Promise<{ databaseName: string; item: string }> {
    const app = await startSharded('off');
    const [item] = await insertDemoItems(app, 1);
    await trackImpressions(app, [item!], ['s-1']);
    await app.stop();
    // Recent: the retention purge that runs at every start must leave them.
    const old = { type: 'IMPRESSION', sessionId: 'bot', source: 'SEARCH', ip: 'x', outcome: 'REJECTED_BOT' };
    await client
      .db(app.databaseName)
      .collection('tracking_events')
      .insertMany([0, 1, 2].map((n) => ({ ...old, itemId: null, receivedAt: new Date(Date.now() - n * 60_000) })));
    return { databaseName: app.databaseName, item: item! };
  }

  it('keep the sparse dedup index while unsharded, and dedup holds', async () => {
    const { databaseName, item } = await olderDatabase();
    const app = await startSharded('off', databaseName);
    try {
      expect(await uniqueIndexKeys(app)).toEqual([{ dedupKey: 1 }]);
      expect(
        await databaseOf(app)
          .collection('tracking_events')
          .countDocuments({ dedupKey: { $exists: false } }),
      ).toBe(3);
      // The counted impression's retry is a duplicate.
      expect(await trackImpressions(app, [item], ['s-1'])).toMatchObject({ accepted: 0, duplicates: 1 });
    } finally {
      await app.stop();
    }
  });

  itSharding('get keys of their own when the events are sharded, and dedup holds', async () => {
    const { databaseName, item } = await olderDatabase();
    const app = await startSharded('on', databaseName);
    try {
      const events = databaseOf(app).collection('tracking_events');
      expect(await events.countDocuments({ dedupKey: { $exists: false } })).toBe(0);
      expect(await events.countDocuments({ dedupKey: /^~[0-9a-f]{24}$/ })).toBe(3);
      expect(await uniqueIndexKeys(app)).toEqual([{ itemId: 1, dedupKey: 1 }]);
      expect(await trackImpressions(app, [item], ['s-1'])).toMatchObject({ accepted: 0, duplicates: 1 });
    } finally {
      await app.stop();
    }
  });
});

/**
 * How many shards an `explain` of `command` says it reads. A query routed to one shard shows that
 * shard's plan alone (or a `SINGLE_SHARD` stage); a fan-out shows `SHARD_MERGE` with `shardCount`.
 */
async function shardCount(db: Db, command: Document): Promise<number> {
  const plan = await db.command({ explain: command, verbosity: 'queryPlanner' });
  return (plan.queryPlanner as { winningPlan: { shardCount?: number } }).winningPlan.shardCount ?? 1;
}

/** The commands an app sends to these collections while `action` runs. */
async function commandsDuring(app: TestApp, action: () => Promise<unknown>): Promise<Document[]> {
  // Earlier tracking's unique sketches are written within TRACKING_SKETCH_INTERVAL_MS: not in the window.
  await rollupsWritten(app.database.connection);
  const seen: Document[] = [];
  const listener = (event: { command: Document; commandName: string }) => seen.push(event.command);
  const mongoClient = app.database.connection.getClient();
  mongoClient.on('commandStarted', listener);
  try {
    await action();
  } finally {
    mongoClient.off('commandStarted', listener);
  }
  return seen;
}

const on = (collection: string, name: string) => (command: Document) => command[name] === collection;

describe('routing on a distributed engine (explain)', () => {
  let app: TestApp;
  let items: string[];

  beforeAll(async () => {
    if (capability !== 'distributed') return;
    app = await startSharded('on', undefined, true);
    items = await insertDemoItems(app, 50);
    await trackImpressions(app, items, ['s-1', 's-2']);
  });
  afterAll(() => app?.stop());

  /** How many shards hold these items' documents: two items share one when a read of both asks one shard. */
  const shardsHolding = async (collection: string, itemIds: readonly string[]) => {
    const representatives: mongo.ObjectId[] = [];
    for (const id of itemIds.map((hex) => new mongo.ObjectId(hex))) {
      let shared = false;
      for (const other of representatives)
        if ((await shardCount(databaseOf(app), { find: collection, filter: { itemId: { $in: [other, id] } } })) === 1) {
          shared = true;
          break;
        }
      if (!shared) representatives.push(id);
    }
    return representatives.length;
  };

  itDistributed("routes the write path's dedup check and click claim to the item's one shard", async () => {
    const [item] = items;
    // A click without an impression in its session: the claim finds none, then the counted-key check runs.
    const commands = await commandsDuring(app, () =>
      execute(
        app,
        TrackClicksDocument,
        { events: [{ itemId: item!, sessionId: 's-9', source: 'SEARCH' as const }] },
        BROWSER,
      ),
    );
    const claim = commands.find(on('tracking_events', 'findAndModify'))!;
    const check = commands.find(on('tracking_events', 'find'))!;
    expect(claim).toBeDefined();
    expect(check).toBeDefined();
    expect(await shardCount(databaseOf(app), { find: 'tracking_events', filter: claim.query })).toBe(1);
    expect(await shardCount(databaseOf(app), { find: 'tracking_events', filter: check.filter })).toBe(1);
    // What routing saves: the same check without the item asks every shard.
    expect(
      await shardCount(databaseOf(app), { find: 'tracking_events', filter: { dedupKey: check.filter.dedupKey } }),
    ).toBeGreaterThan(1);
  });

  itDistributed("reads one item's analytics from its one shard", async () => {
    const [, item] = items;
    const commands = await commandsDuring(app, () => execute(app, ItemAnalyticsDocument, { id: item! }));
    const reads = commands.filter(on('item_days', 'find'));
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads)
      expect(await shardCount(databaseOf(app), { find: 'item_days', filter: read.filter })).toBe(1);
  });

  itDistributed(
    'reads a 50-item analytics page from the shards holding those items only, in at most 3 round trips',
    async () => {
      const commands = await commandsDuring(app, () => execute(app, SearchWithAnalyticsDocument, { first: 50 }));
      expect(commands.length).toBeLessThanOrEqual(3);
      const reads = commands.filter(on('item_days', 'find'));
      expect(reads.length).toBeGreaterThan(0);
      const pageItems = (reads[0]!.filter.itemId.$in as mongo.ObjectId[]).map((id) => id.toHexString());
      expect(pageItems).toHaveLength(50);
      const holding = await shardsHolding('item_days', pageItems);
      for (const read of reads)
        expect(await shardCount(databaseOf(app), { find: 'item_days', filter: read.filter })).toBe(holding);
      // A page of two items asks at most their two shards.
      const two = { ...reads[0]!.filter, itemId: { $in: reads[0]!.filter.itemId.$in.slice(0, 2) } };
      expect(await shardCount(databaseOf(app), { find: 'item_days', filter: two })).toBe(
        await shardsHolding('item_days', pageItems.slice(0, 2)),
      );
    },
  );
});
