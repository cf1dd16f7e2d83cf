import { commandCounter } from '../../bench/support';
import { Types } from 'mongoose';
import { itemDayId } from '../../src/analytics/rollups.model';
import { addToSketch, estimateDistinct, mergeSketches } from '../../src/analytics/uniqueSketch';
import { seededRandom } from '../../src/catalog/demoCatalog';
import { ManualClock } from '../../src/shared/clock';
import {
  AnalyticsOverviewDocument,
  ItemAnalyticsDocument,
  PopularItemsDocument,
  PopularSearchDocument,
  SearchWithAnalyticsDocument,
  TrackClicksDocument,
  TrackImpressionsDocument,
  UserAnalyticsDocument,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { rollupsWritten } from '../support/rollups';
import { withinSketchError } from '../support/sketchBound';
import { execute, startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = new Date('2026-05-10T21:17:00.000Z');
const clock = new ManualClock(START);
let app: TestApp;
let items: string[];

interface CountedEvent {
  type: 'IMPRESSION' | 'CLICK';
  itemId: string;
  sessionId: string;
  userId?: string;
  source: string;
  receivedAt: Date;
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    monitorCommands: true,
    // No popularity refresh or maintenance rounds in the background: the round-trip test counts
    // every command the driver sends while a request runs (the popularity test refreshes by hand).
    periodicJobs: false,
    env: { GAVEL_SEED_DEMO: 'false', ANALYTICS_CTR_MIN_IMPRESSIONS: '3' },
  });
  items = (await insertDemoItems(app, 60, 5)).slice(0, 60);

  // A randomized workload over ~30 hours (crossing midnight): repeats (duplicates), bots,
  // clicks with and without impressions, several sources, sessions and users.
  const random = seededRandom(99);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const sources = ['SEARCH', 'ITEM_PAGE', 'RECOMMENDATION', 'HOME'] as const;
  const hot = items.slice(0, 8);
  for (let step = 0; step < 120; step++) {
    clock.advance(Math.floor(random() * 20 * 60_000));
    const sessionId = `s${Math.floor(random() * 25)}`;
    const userId = random() < 0.5 ? `u${Math.floor(random() * 10)}` : undefined;
    const headers = random() < 0.08 ? { 'user-agent': 'curl/8.0 (bot)' } : BROWSER;
    const viewed = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(hot));
    const source = pick(sources);
    const impressions = viewed.map((itemId, position) => ({ itemId, sessionId, userId, source, position }));
    await execute(app, TrackImpressionsDocument, { events: impressions }, headers);
    const clicked = viewed.filter(() => random() < 0.4).concat(random() < 0.2 ? [pick(hot)] : []);
    if (clicked.length > 0) {
      await execute(
        app,
        TrackClicksDocument,
        { events: clicked.map((itemId) => ({ itemId, sessionId, userId, source })) },
        headers,
      );
    }
  }
  // Unique sketches are written after the mutations answer; the round-trip test must not see them.
  await rollupsWritten(app.database.connection);
});
afterAll(() => app.stop());

async function countedEvents(): Promise<CountedEvent[]> {
  const rows = await app.database.connection.collection('tracking_events').find({ outcome: 'ACCEPTED' }).toArray();
  return rows.map((row) => ({
    type: row.type,
    itemId: (row.itemId as Types.ObjectId).toHexString(),
    sessionId: row.sessionId,
    userId: row.userId,
    source: row.source,
    receivedAt: row.receivedAt,
  }));
}

const range = () => ({ from: new Date(START.getTime() - HOUR).toISOString(), to: clock.now().toISOString() });

/** The unique count a sketch of exactly these values gives: what the stored daily sketches, merged, must give. */
const sketched = (values: Iterable<string>) =>
  estimateDistinct(mergeSketches([Object.fromEntries(addToSketch(new Map(), values))]));

describe('item analytics (rollups) equal a recount of the raw counted events', () => {
  it.each([
    ['the whole workload', () => range()],
    // Starts and ends inside UTC days and off the hour: counters clip to the aligned hours,
    // unique counts cover the whole days touched.
    [
      'a range inside the workload',
      () => ({
        from: new Date(START.getTime() + 3 * HOUR + 25 * 60_000).toISOString(),
        to: new Date(START.getTime() + 12 * HOUR + 50 * 60_000).toISOString(),
      }),
    ],
  ])('for every figure of every item, over %s', async (_, rangeOf) => {
    const requested = rangeOf();
    const effectiveFrom = Math.floor(Date.parse(requested.from) / HOUR) * HOUR;
    const effectiveTo = Math.ceil(Date.parse(requested.to) / HOUR) * HOUR;
    const all = await countedEvents();
    expect(all.length).toBeGreaterThan(100);
    const inRange = all.filter(
      (event) => event.receivedAt.getTime() >= effectiveFrom && event.receivedAt.getTime() < effectiveTo,
    );
    expect(inRange.length).toBeGreaterThan(20);
    const inDays = all.filter(
      (event) =>
        event.receivedAt.getTime() >= Math.floor(effectiveFrom / DAY) * DAY &&
        event.receivedAt.getTime() < Math.ceil(effectiveTo / DAY) * DAY,
    );
    for (const itemId of items.slice(0, 10)) {
      const response = await execute(app, ItemAnalyticsDocument, { id: itemId, range: requested });
      expect(response.errors).toBeUndefined();
      const analytics = response.data!.auctionItem!.analytics!;
      const mine = inRange.filter((event) => event.itemId === itemId);
      const impressions = mine.filter((event) => event.type === 'IMPRESSION').length;
      const clicks = mine.filter((event) => event.type === 'CLICK').length;
      expect(analytics.range.from).toBe(new Date(effectiveFrom).toISOString());
      expect(analytics.range.to).toBe(new Date(effectiveTo).toISOString());
      expect([analytics.impressions, analytics.clicks]).toEqual([impressions, clicks]);
      expect(analytics.ctr).toBeCloseTo(impressions ? clicks / impressions : 0, 10);
      // Unique counts: exactly what a sketch of the exact sets gives (merging days loses nothing),
      // and so within the documented error of the exact count.
      const mineInDays = inDays.filter((event) => event.itemId === itemId);
      const sessions = new Set(mineInDays.map((event) => event.sessionId));
      const users = new Set(mineInDays.flatMap((event) => (event.userId ? [event.userId] : [])));
      expect([analytics.uniqueSessions, analytics.uniqueUsers]).toEqual([sketched(sessions), sketched(users)]);
      for (const [exact, estimate] of [
        [sessions.size, analytics.uniqueSessions],
        [users.size, analytics.uniqueUsers],
      ] as const)
        expect({ exact, estimate, within: withinSketchError(estimate, exact) }).toMatchObject({ within: true });
      const sources = [...new Set(mine.map((event) => event.source))];
      expect(analytics.bySource.map((row) => row.source).sort()).toEqual(sources.sort());
      for (const row of analytics.bySource) {
        expect([row.impressions, row.clicks]).toEqual([
          mine.filter((event) => event.source === row.source && event.type === 'IMPRESSION').length,
          mine.filter((event) => event.source === row.source && event.type === 'CLICK').length,
        ]);
      }
      for (const point of analytics.timeSeries) {
        const start = Date.parse(point.bucketStart);
        const inBucket = mine.filter(
          (event) => event.receivedAt.getTime() >= start && event.receivedAt.getTime() < start + HOUR,
        );
        expect([point.impressions, point.clicks]).toEqual([
          inBucket.filter((event) => event.type === 'IMPRESSION').length,
          inBucket.filter((event) => event.type === 'CLICK').length,
        ]);
      }
    }
  });

  it('for rankings and the overview', async () => {
    const events = await countedEvents();
    const per = new Map<string, { impressions: number; clicks: number }>();
    for (const event of events) {
      const entry = per.get(event.itemId) ?? { impressions: 0, clicks: 0 };
      if (event.type === 'IMPRESSION') entry.impressions++;
      else entry.clicks++;
      per.set(event.itemId, entry);
    }
    const popular = await execute(app, PopularItemsDocument, { range: range(), by: 'IMPRESSIONS', first: 5 });
    const expectedTop = [...per]
      .sort((a, b) => b[1].impressions - a[1].impressions || a[0].localeCompare(b[0]))
      .slice(0, 5);
    expect(popular.data!.popularItems.map((row) => [row.item.id, row.impressions])).toEqual(
      expectedTop.map(([id, c]) => [id, c.impressions]),
    );
    const byCtr = await execute(app, PopularItemsDocument, { range: range(), by: 'CTR', first: 3 });
    for (const row of byCtr.data!.popularItems) expect(row.impressions).toBeGreaterThanOrEqual(3);
    const overview = await execute(app, AnalyticsOverviewDocument, { range: range() });
    const { impressions, clicks, bySource } = overview.data!.analyticsOverview;
    expect([impressions, clicks]).toEqual([
      events.filter((event) => event.type === 'IMPRESSION').length,
      events.filter((event) => event.type === 'CLICK').length,
    ]);
    expect(bySource.reduce((sum, row) => sum + row.impressions, 0)).toBe(impressions);
  });

  it('gives zeros and a ctr of 0 for an item without events', async () => {
    const quiet = items[50]!;
    const response = await execute(app, ItemAnalyticsDocument, { id: quiet, range: range() });
    expect(response.data!.auctionItem!.analytics).toMatchObject({
      impressions: 0,
      clicks: 0,
      ctr: 0,
      uniqueSessions: 0,
      bySource: [],
    });
    expect(response.data!.auctionItem!.analytics!.timeSeries.every((point) => point.impressions === 0)).toBe(true);
  });
});

describe('user analytics and popularity', () => {
  it('counts a user’s impressions, clicks and distinct items viewed and clicked (from clicks)', async () => {
    const events = await countedEvents();
    for (const userId of ['u1', 'u2', 'u3']) {
      const mine = events.filter((event) => event.userId === userId);
      const response = await execute(app, UserAnalyticsDocument, { userId, range: range() });
      expect(response.errors).toBeUndefined();
      const impressions = mine.filter((event) => event.type === 'IMPRESSION');
      const clicks = mine.filter((event) => event.type === 'CLICK');
      expect(response.data!.userAnalytics).toEqual({
        userId,
        impressions: impressions.length,
        clicks: clicks.length,
        itemsViewed: new Set(impressions.map((event) => event.itemId)).size,
        itemsClicked: new Set(clicks.map((event) => event.itemId)).size,
        ctr: impressions.length ? clicks.length / impressions.length : 0,
      });
    }
    const hostile = await execute(app, UserAnalyticsDocument, { userId: '{"$gt":""}' });
    expect(hostile.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
  });

  it('orders search by popularity: impressions over the last 24 hours, from the rollups', async () => {
    await app.services.analytics.refreshPopularity();
    const since = clock.now().getTime() - 24 * HOUR;
    const score = new Map<string, number>();
    for (const event of await countedEvents()) {
      if (event.type === 'IMPRESSION' && event.receivedAt.getTime() >= since)
        score.set(event.itemId, (score.get(event.itemId) ?? 0) + 1);
    }
    const expected = [...score].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0])).map(([id]) => id);
    const response = await execute(app, PopularSearchDocument, { first: expected.length });
    expect(response.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(expected);
  });
});

describe('analytics round trips', () => {
  async function commandsFor(first: number): Promise<string[]> {
    const { result: response, commands } = await commandCounter(app).measure(() =>
      execute(app, SearchWithAnalyticsDocument, { first, range: range() }),
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.auctionItems.edges).toHaveLength(first);
    return commands;
  }

  it('are the same small number for a page of 5 and of 50 items with analytics', async () => {
    const five = await commandsFor(5);
    const fifty = await commandsFor(50);
    expect(fifty).toEqual(five);
    // The page, the day documents' counters, the day documents' sketches.
    expect(fifty.sort()).toEqual(['find', 'find', 'find']);
  });
});

describe('analytics ranges', () => {
  it.each([
    ['from after to', { from: '2026-05-11T00:00:00Z', to: '2026-05-10T00:00:00Z' }, 'range'],
    ['both forms', { from: '2026-05-10T00:00:00Z', last: 'P1D' }, 'range'],
    ['no start', { to: '2026-05-10T00:00:00Z' }, 'range.from'],
    ['beyond retention', { from: '2025-01-01T00:00:00Z' }, 'range'],
    ['longer than the maximum', { last: 'P120D' }, 'range'],
    ['a month duration', { last: 'P1M' }, 'range.last'],
  ])('rejects %s with BAD_USER_INPUT', async (_name, badRange, field) => {
    const response = await execute(app, ItemAnalyticsDocument, { id: items[0]!, range: badRange });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('defaults to the last 7 days, aligned to whole hours', async () => {
    const response = await execute(app, ItemAnalyticsDocument, { id: items[0]! });
    const { from, to } = response.data!.auctionItem!.analytics!.range;
    expect(Date.parse(to) - Date.parse(from)).toBe(7 * 24 * HOUR + HOUR);
    expect(Date.parse(from) % HOUR).toBe(0);
  });
});

describe('a month of analytics on a page of 50', () => {
  it('is read in the same three commands, without getMore, although it is 1,500 day documents', async () => {
    const page = await execute(app, SearchWithAnalyticsDocument, { first: 50 });
    const pageItems = page.data!.auctionItems.edges.map((edge) => new Types.ObjectId(edge.node.id));
    const today = Math.floor(clock.now().getTime() / DAY) * DAY;
    // One impression more on each of the 30 days before today for every item of the page.
    const days = pageItems.flatMap((itemId) =>
      Array.from({ length: 30 }, (_, back) => {
        const day = new Date(today - (back + 1) * DAY);
        return {
          updateOne: {
            filter: { _id: itemDayId(itemId, day), itemId },
            update: { $setOnInsert: { day, category: 'test' }, $inc: { 'hours.12.HOME.impressions': 1 } },
            upsert: true,
          },
        };
      }),
    );
    await app.database.connection.collection<{ _id: string }>('item_days').bulkWrite(days);
    const month = { from: new Date(today - 30 * DAY).toISOString(), to: clock.now().toISOString() };
    const { result, commands } = await commandCounter(app).measure(() =>
      execute(app, SearchWithAnalyticsDocument, { first: 50, range: month }),
    );
    expect(result.errors).toBeUndefined();
    // At least the 30 added (besides what the earlier tests tracked).
    for (const edge of result.data!.auctionItems.edges)
      expect(edge.node.analytics!.impressions).toBeGreaterThanOrEqual(30);
    expect(commands.sort()).toEqual(['find', 'find', 'find']);
  });
});
