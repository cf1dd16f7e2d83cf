/**
 * `npm run bench:analytics` — issue 5's benchmark. A catalog of 200 items; BENCH_EVENTS (default
 * 1,000,000) counted events across the first 50 items of the search page, 7 days, several sources,
 * sessions and users, written straight into `tracking_events` together with the rollups the
 * tracking flush would write for them (`item_days`), so both designs read the same data. A search page with
 * analytics through the API (rollups, DataLoader) vs the reference design (4 aggregates of raw
 * events per item); median latency and database round trips for pages of 5 and 50 items.
 */
import { print } from 'graphql';
import { Types } from 'mongoose';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog, seededRandom } from '../src/catalog/demoCatalog';
import { createTrackingRepository } from '../src/tracking/tracking.repository';
import {
  EventType,
  TrackingOutcome,
  trackingEventModel,
  type TrackingEventRecord,
} from '../src/tracking/trackingEvent.model';
import { itemDayIncrements } from '../src/tracking/trackingWriter';
import { SearchWithAnalyticsDocument, type SearchWithAnalyticsQuery } from '../test/generated/graphql';
import { commandCounter, ms, printHeader, printTable, startBenchEnvironment, time } from './support';

const CATALOG = 200;
const ITEMS_WITH_EVENTS = 50;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE_RUNS ?? 3);
const DAYS = 7;
const SESSIONS = 1_000;
const USERS = 300;
const SOURCES = ['SEARCH', 'ITEM_PAGE', 'RECOMMENDATION', 'HOME', 'EXTERNAL', 'OTHER'] as const;
const DAY_MS = 86_400_000;
const CHUNK = 10_000;

async function main(): Promise<void> {
  // No retention purge or popularity refresh in the middle of a measurement (their commands would
  // be counted and timed).
  const bench = await startBenchEnvironment({
    MAINTENANCE_INTERVAL_MS: '86400000',
    POPULARITY_REFRESH_MS: '86400000',
  });
  try {
    printHeader(
      `bench:analytics — ${EVENTS.toLocaleString('en')} events over ${ITEMS_WITH_EVENTS} items, ${DAYS} days; catalog of ${CATALOG}`,
      bench.engine,
    );
    const connection = bench.app.database.connection;
    await createAuctionItemRepository(connection).insertMany(generateDemoCatalog(CATALOG, new Date()));

    // Whole UTC days, so that the hour counters and the day sketches cover exactly the same events.
    const to = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
    const from = new Date(to.getTime() - DAYS * DAY_MS);
    const range = { from: from.toISOString(), to: to.toISOString() };
    const url = bench.app.url;
    const query = print(SearchWithAnalyticsDocument);
    const searchPage = async (first: number) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { first, range } }),
      });
      const body = (await response.json()) as { data?: SearchWithAnalyticsQuery; errors?: unknown };
      if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
      return body.data.auctionItems.edges.map((edge) => edge.node);
    };

    // The events go to the items of the first search page, so the page shows non-zero figures.
    const pageIds = (await searchPage(ITEMS_WITH_EVENTS)).map((node) => node.id);
    const items = await auctionItemModel(connection)
      .find({ _id: { $in: pageIds } }, { category: 1 })
      .lean<Array<{ _id: Types.ObjectId; category: string }>>()
      .exec();
    const loadStart = Date.now();
    await loadEvents(bench.app.database.connection, items, from);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    console.log(`loaded ${EVENTS.toLocaleString('en')} events and their rollups in ${loadSeconds.toFixed(1)} s`);

    // The reference design: the page query, then 4 aggregates over every raw event of each item.
    const events = trackingEventModel(connection);
    const catalog = auctionItemModel(connection);
    const rangeMatch = { $gte: from, $lt: to };
    const baselinePage = async (first: number) => {
      const page = await catalog
        .find({}, { _id: 1 })
        .sort({ createdAt: -1, _id: -1 })
        .limit(first)
        .lean<Array<{ _id: Types.ObjectId }>>()
        .exec();
      return Promise.all(
        page.map(async ({ _id: itemId }) => {
          const match = { itemId, outcome: TrackingOutcome.ACCEPTED, receivedAt: rangeMatch };
          const [impressions, clicks, sessions, bySource] = await Promise.all([
            events.aggregate<{ n: number }>([
              { $match: { ...match, type: EventType.IMPRESSION } },
              { $group: { _id: null, n: { $sum: 1 } } },
            ]),
            events.aggregate<{ n: number }>([
              { $match: { ...match, type: EventType.CLICK } },
              { $group: { _id: null, n: { $sum: 1 } } },
            ]),
            events.aggregate<{ n: number }>([
              { $match: match },
              { $group: { _id: null, sessions: { $addToSet: '$sessionId' } } },
              { $project: { n: { $size: '$sessions' } } },
            ]),
            events.aggregate<{ _id: string; clicks: number }>([
              { $match: match },
              {
                $group: {
                  _id: '$source',
                  impressions: { $sum: { $cond: [{ $eq: ['$type', EventType.IMPRESSION] }, 1, 0] } },
                  clicks: { $sum: { $cond: [{ $eq: ['$type', EventType.CLICK] }, 1, 0] } },
                },
              },
            ]),
          ]);
          return {
            id: itemId.toHexString(),
            impressions: impressions[0]?.n ?? 0,
            clicks: clicks[0]?.n ?? 0,
            uniqueSessions: sessions[0]?.n ?? 0,
            bySource,
          };
        }),
      );
    };

    // Both designs must give the same counts on the same data; unique sessions within the sketch's error.
    const [apiFive, baselineFive] = [await searchPage(5), await baselinePage(5)];
    let worstUniqueError = 0;
    for (const item of apiFive) {
      const other = baselineFive.find((row) => row.id === item.id);
      const a = item.analytics!;
      if (!other || other.impressions !== a.impressions || other.clicks !== a.clicks)
        throw new Error(`designs disagree on ${item.id}: ${JSON.stringify({ api: a, baseline: other })}`);
      const uniqueError = Math.abs(a.uniqueSessions - other.uniqueSessions) / Math.max(1, other.uniqueSessions);
      if (uniqueError > 0.05)
        throw new Error(`unique sessions of ${item.id}: API ${a.uniqueSessions}, exact ${other.uniqueSessions}`);
      worstUniqueError = Math.max(worstUniqueError, uniqueError);
    }
    const sample = apiFive[0]!.analytics!;
    console.log(
      `check: the first 5 items agree (e.g. ${sample.impressions} impressions, ${sample.clicks} clicks, ${sample.uniqueSessions} sessions);` +
        ` unique sessions within ${(worstUniqueError * 100).toFixed(2)} % of the exact count\n`,
    );

    const counter = commandCounter(bench.app);
    const rows = [];
    for (const size of [5, ITEMS_WITH_EVENTS]) {
      const apiTiming = await time(() => searchPage(size), RUNS);
      const baselineTiming = await time(() => baselinePage(size), BASELINE_RUNS, 0);
      const apiTrips = (await counter.measure(() => searchPage(size))).commands;
      const baselineTrips = (await counter.measure(() => baselinePage(size))).commands;
      rows.push({
        'page size': size,
        'API (rollups) median': ms(apiTiming.median),
        'baseline (raw events) median': ms(baselineTiming.median),
        speedup: `${(baselineTiming.median / apiTiming.median).toFixed(1)}×`,
        'API round trips': apiTrips.length,
        'baseline round trips': baselineTrips.length,
        runs: `${apiTiming.samples} / ${baselineTiming.samples}`,
      });
      if (size === ITEMS_WITH_EVENTS) console.log(`API commands (page of ${size}): ${apiTrips.join(', ')}\n`);
    }
    printTable(rows);
  } finally {
    await bench.stop();
  }
}

/**
 * Writes EVENTS counted events in chunks with insertMany, and the rollups the tracking flush
 * would have written for them (hour × source counters, session and user sketches per item-day).
 */
async function loadEvents(
  connection: Parameters<typeof trackingEventModel>[0],
  items: ReadonlyArray<{ _id: Types.ObjectId; category: string }>,
  from: Date,
): Promise<void> {
  const random = seededRandom(5);
  const events = trackingEventModel(connection).collection;
  const repository = createTrackingRepository(connection);
  const categories = new Map(items.map((item) => [item._id, item.category]));
  let itemDays = 0;
  const span = DAYS * DAY_MS;
  for (let offset = 0; offset < EVENTS; offset += CHUNK) {
    const docs: TrackingEventRecord[] = [];
    for (let i = offset; i < Math.min(EVENTS, offset + CHUNK); i++) {
      const item = items[Math.floor(random() * items.length)]!;
      const type = random() < 0.9 ? EventType.IMPRESSION : EventType.CLICK;
      const source = SOURCES[Math.floor(random() * SOURCES.length)]!;
      const sessionId = `session-${Math.floor(random() * SESSIONS)}`;
      const userId = random() < 0.3 ? `user-${Math.floor(random() * USERS)}` : undefined;
      const receivedAt = new Date(from.getTime() + Math.floor(random() * span));
      docs.push({
        _id: new Types.ObjectId(),
        type,
        itemId: item._id,
        sessionId,
        ...(userId ? { userId } : {}),
        source,
        position: i % 50,
        receivedAt,
        ip: '127.0.0.1',
        userAgent: 'Mozilla/5.0 (bench)',
        outcome: TrackingOutcome.ACCEPTED,
        dedupKey: `${type}:${sessionId}:${item._id.toHexString()}:${i}`,
      });
    }
    await events.insertMany(docs, { ordered: false });
    // The rollups exactly as the tracking flush writes them.
    const increments = itemDayIncrements(docs.map((event) => ({ event, category: categories.get(event.itemId!) })));
    await repository.incrementItemDays(increments);
    itemDays += increments.length;
  }
  console.log(`rollups: ${itemDays.toLocaleString('en')} (item, day) upserts`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
