import { ManualClock } from '../../src/shared/clock';
import type { SearchEventRecord } from '../../src/searches/searchEvent.model';
import type { TrackingEventRecord } from '../../src/tracking/trackingEvent.model';
import {
  RecordedSearchDocument,
  SearchInsightsDocument,
  TrackClicksDocument,
  type AuctionItemFilter,
} from '../generated/graphql';
import { commandCounter } from '../../bench/support';
import { emptySearchDay, type SearchDayRecord } from '../../src/searches/searchEvent.model';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { rollupsWritten } from '../support/rollups';

/**
 * `searchAnalytics` (issue 21): top, zero-result and no-click queries, click-through rates, mean
 * click position and the position-bias-corrected rate, from the rollups, checked against a recount
 * of the raw searches and clicks.
 */

const clock = new ManualClock('2026-03-01T12:00:00.000Z');
let app: TestApp;

async function search(query: string, session: string, filter?: AuctionItemFilter) {
  const response = await execute(
    app,
    RecordedSearchDocument,
    { query, filter },
    { ...BROWSER, 'x-session-id': session },
  );
  expect(response.errors).toBeUndefined();
  return response.data!.auctionItems;
}

async function click(session: string, searched: Awaited<ReturnType<typeof search>>, position?: number) {
  const response = await execute(
    app,
    TrackClicksDocument,
    {
      events: [
        {
          sessionId: session,
          itemId: searched.edges[position ?? 0]!.node.id,
          searchId: searched.searchId,
          position,
          source: 'SEARCH' as const,
        },
      ],
    },
    BROWSER,
  );
  expect(response.data!.trackClicks.accepted).toBe(1);
}

async function insights(variables: Parameters<typeof execute<unknown, object>>[2] = {}) {
  await app.services.searches.flushRecorded();
  const response = await execute(app, SearchInsightsDocument, { range: { last: 'P1D' }, ...variables });
  expect(response.errors).toBeUndefined();
  return response.data!.searchAnalytics;
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    // The round-trip test counts every command a request sends: no background rounds meanwhile.
    monitorCommands: true,
    periodicJobs: false,
    // Today's leading queries listed again at every read: each test reads what it just recorded.
    env: { GAVEL_SEED_DEMO: 'false', SEARCH_EVENTS_FLUSH_MS: '60000', SEARCH_ANALYTICS_REFRESH_MS: '0' },
  });
  await insertDemoItems(app, 60, 4);
  // "watch": three sessions; the first clicks the first result, the second the third, the third
  // clicks without saying where.
  const watched = await Promise.all(['s-1', 's-2', 's-3'].map((session) => search('watch', session)));
  // The pages were the impressions the clicks need (tracked off the request path).
  await app.services.tracking.drainImplicitQueue();
  await click('s-1', watched[0]!, 0);
  await click('s-2', watched[1]!, 2);
  await click('s-3', watched[2]!);
  // Nothing found, twice; found but never clicked, twice; and "watch" again within a category.
  await search('zzzz', 's-4');
  await search('zzzz', 's-5');
  await search('gold', 's-4');
  await search('gold', 's-5');
  await search('watch', 's-6', { category: ['watches'] });
});
afterAll(() => app?.stop());

it('lists top, zero-result and no-click queries with their rates, as a recount of the raw searches finds them', async () => {
  const result = await insights();
  expect(result.range).toEqual({ from: '2026-02-28T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' });
  expect(result).toMatchObject({ searches: 8, zeroResultSearches: 2, clicks: 3, clickThroughRate: 3 / 8 });
  const watch = result.topQueries[0]!;
  expect(watch).toMatchObject({
    query: 'watch',
    filter: null,
    searches: 3,
    zeroResults: 0,
    clicks: 3,
    clickThroughRate: 1,
    meanClickPosition: 1,
  });
  expect(watch.clickedItems.reduce((sum, item) => sum + item.clicks, 0)).toBe(3);
  expect(result.topQueries.map((row) => [row.query, row.filter?.category ?? null, row.searches])).toEqual([
    ['watch', null, 3],
    ['gold', null, 2],
    ['zzzz', null, 2],
    ['watch', ['watches'], 1],
  ]);
  expect(result.zeroResultQueries.map((row) => [row.query, row.zeroResults])).toEqual([['zzzz', 2]]);
  // Day by day: the demand the catalog did not meet, over time.
  expect(result.zeroResultQueries[0]!.daily).toEqual([
    { day: '2026-03-01T00:00:00.000Z', searches: 2, zeroResults: 2, clicks: 0 },
  ]);
  expect(result.noClickQueries.map((row) => [row.query, row.searches])).toEqual([
    ['gold', 2],
    ['watch', 1],
  ]);

  // The recount: the raw searches, and the counted clicks that name a search of their session.
  const events = await app.database.connection.collection<SearchEventRecord>('search_events').find().toArray();
  const clicks = await app.database.connection
    .collection<TrackingEventRecord>('tracking_events')
    .find({ type: 'CLICK', outcome: 'ACCEPTED', searchId: { $exists: true } } as never)
    .toArray();
  const searchOf = new Map(events.map((event) => [event._id.toHexString(), event]));
  const attributed = clicks.filter(
    (event) => searchOf.get(event.searchId!.toHexString())?.sessionId === event.sessionId,
  );
  expect(result.searches).toBe(events.length);
  expect(result.zeroResultSearches).toBe(events.filter((event) => event.resultCount === 0).length);
  expect(result.clicks).toBe(attributed.length);
  const shownAt = (position: number) => events.filter((event) => event.resultCount > position).length;
  expect(result.positions.map((row) => [row.position, row.shown, row.clicks])).toEqual([
    [0, shownAt(0), 1],
    [1, shownAt(1), 0],
    [2, shownAt(2), 1],
  ]);
});

it('corrects the click-through rate for position bias with the positions of the whole range', async () => {
  const result = await insights();
  const [first, , third] = result.positions;
  expect(first!.relativeClickThroughRate).toBe(1);
  const relative = third!.clickThroughRate! / first!.clickThroughRate!;
  expect(third!.relativeClickThroughRate).toBeCloseTo(relative, 10);
  // Position 0 weighs 1, position 2 weighs 1 / its relative rate, the click without a position 1.
  expect(result.topQueries[0]!.correctedClickThroughRate).toBeCloseTo((1 + 1 / relative + 1) / 3, 10);
  // A query without clicks has a corrected rate of 0.
  expect(result.noClickQueries[0]!.correctedClickThroughRate).toBe(0);
});

it('keeps to searches within the categories asked for, and to `first`', async () => {
  const within = await insights({ filter: { category: ['watches'] } });
  expect(within.topQueries.map((row) => [row.query, row.searches])).toEqual([['watch', 1]]);
  expect(within.searches).toBe(1);
  expect((await insights({ first: 1 })).topQueries.map((row) => row.query)).toEqual(['watch']);
});

it('counts a search and its clicks in the day it was made', async () => {
  const before = await insights();
  clock.advance(2 * 86_400_000);
  expect((await insights()).searches).toBe(0);
  const widened = await insights({ range: { last: 'P3D' } });
  expect(widened.searches).toBe(before.searches);
  expect(widened.clicks).toBe(before.clicks);
  clock.advance(-2 * 86_400_000);
});

it.each([
  [{ first: 0 }, 'first'],
  [{ first: 51 }, 'first'],
  [{ filter: { category: [] } }, 'filter.category'],
  [{ range: { last: 'P400D' } }, 'range'],
])('refuses %j with BAD_USER_INPUT on %s', async (variables, field) => {
  const response = await execute(app, SearchInsightsDocument, variables);
  expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  expect(String(response.errors![0]!.extensions!.field)).toContain(field);
});

it('lists a month of 6,000 query days once, then reads it in three commands, without getMore', async () => {
  // 200 queries searched and clicked every day of the last 30 (beside this file's searches), with
  // the day counters a flush writes after the rows.
  const today = Math.floor(clock.now().getTime() / 86_400_000) * 86_400_000;
  const rows: SearchDayRecord[] = [];
  const counters: Array<{ day: Date; searches: number; clicks: number }> = [];
  for (let back = 0; back < 30; back++) {
    const day = new Date(today - back * 86_400_000);
    for (let query = 0; query < 200; query++) {
      const row = emptySearchDay(day, `bulk ${query}`, '');
      // Query n is searched 3 + n % 7 times a day: leaders and ties both.
      rows.push({
        ...row,
        searches: 3 + (query % 7),
        clicks: 1,
        clicksAt: { '0': 1 },
        clickedItems: { [`item${query}`]: 1 },
      });
    }
    counters.push({ day, searches: rows.slice(-200).reduce((sum, row) => sum + row.searches, 0), clicks: 200 });
  }
  await app.services.searches.flushRecorded();
  const { connection } = app.database;
  // The earlier tests' clicks have unique sketches still to write (TRACKING_SKETCH_INTERVAL_MS): not in the count.
  await rollupsWritten(connection);
  await connection.collection<SearchDayRecord>('search_days').insertMany(rows);
  for (const { day, searches, clicks } of counters)
    await connection.collection<{ _id: string }>('search_position_days').updateOne(
      { _id: day.toISOString().slice(0, 10) },
      {
        $setOnInsert: { day, shown: {}, clicks: {} },
        $inc: { 'totals.searches': searches, 'totals.zeroResults': 0, 'totals.clicks': clicks },
      },
      { upsert: true },
    );
  const read = () =>
    commandCounter(app).measure(() => execute(app, SearchInsightsDocument, { range: { last: 'P30D' }, first: 50 }));

  // The first read lists every day: the rows' counts once, and the lists stored.
  const first = await read();
  expect(first.result.errors).toBeUndefined();
  expect(first.commands.filter((name) => name === 'find')).toHaveLength(4);

  const { result, commands } = await read();
  expect(result.errors).toBeUndefined();
  expect(commands).toEqual(['find', 'find', 'find']);
  const top = result.data!.searchAnalytics.topQueries;
  expect(top).toHaveLength(50);
  expect(top[0]).toMatchObject({ query: 'bulk 104', searches: 270, clicks: 30 }); // 6 a day, first by name
  expect(result.data!.searchAnalytics.topQueries).toEqual(first.result.data!.searchAnalytics.topQueries);

  // The same answer as summing every row (the path a category filter takes).
  const recount = await app.database.connection
    .collection<SearchDayRecord>('search_days')
    .aggregate<{ _id: string; searches: number }>([
      { $match: { day: { $gte: new Date(today - 29 * 86_400_000) } } },
      { $group: { _id: '$query', searches: { $sum: '$searches' } } },
      { $sort: { searches: -1, _id: 1 } },
      { $limit: 50 },
    ])
    .toArray();
  expect(top.map((row) => [row.query, row.searches])).toEqual(recount.map((row) => [row._id, row.searches]));

  // As it was: this file's own searches are all from today.
  await connection.collection<SearchDayRecord>('search_days').deleteMany({ _id: { $in: rows.map((row) => row._id) } });
  await connection.collection('search_position_days').deleteMany({ day: { $lt: new Date(today) } });
  await connection
    .collection<{ _id: string }>('search_position_days')
    .updateOne(
      { _id: counters[0]!.day.toISOString().slice(0, 10) },
      { $inc: { 'totals.searches': -counters[0]!.searches, 'totals.clicks': -counters[0]!.clicks } },
    );
  await connection.collection('search_day_lists').deleteMany({});
});

it("ranks queries by their searches that found results and got no click, counting a search's first click once", async () => {
  const before = (await insights()).noClickQueries.find((row) => row.query === 'gold' && !row.filter)!;
  const [clicked] = await Promise.all([search('gold', 's-7'), search('gold', 's-8')]);
  await app.services.tracking.drainImplicitQueue();
  await click('s-7', clicked!, 0);
  await click('s-7', clicked!, 1); // the same search clicked again: still one clicked search
  const gold = (await insights()).noClickQueries.find((row) => row.query === 'gold' && !row.filter)!;
  expect(gold).toMatchObject({
    searches: before.searches + 2,
    clicks: before.clicks + 2,
    unclickedSearches: before.unclickedSearches + 1,
  });
});

describe('searchAnalyticsUpdated (graphql-ws)', () => {
  const live =
    'subscription($first: Int) { searchAnalyticsUpdated(range: { last: "P1D" }, first: $first) { searches } }';

  it('sends the figures on subscribe, then again once new searches are written', async () => {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const received: number[] = [];
    let arrived: (() => void) | undefined;
    const unsubscribe = client.subscribe<{ searchAnalyticsUpdated: { searches: number } }>(
      { query: live },
      {
        next: (result) => {
          received.push(result.data!.searchAnalyticsUpdated.searches);
          arrived?.();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    const next = (count: number) =>
      new Promise<void>((resolve) => {
        arrived = () => received.length >= count && resolve();
        arrived();
      });
    try {
      await next(1);
      await search('amber', 's-9');
      await app.services.searches.flushRecorded();
      await next(2);
      expect(received[1]).toBe(received[0]! + 1);
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });

  it('refuses bad arguments at subscribe with BAD_USER_INPUT', async () => {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const errors = await new Promise<Array<{ extensions?: { code?: string } }>>((resolve) => {
        client.subscribe(
          { query: live, variables: { first: 0 } },
          {
            next: (result) => result.errors && resolve([...result.errors] as never),
            error: (error) => resolve(error as never),
            complete: () => resolve([]),
          },
        );
      });
      expect(errors.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    } finally {
      await client.dispose();
    }
  });
});
