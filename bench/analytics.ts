/**
 * `npm run bench:analytics` — issue 5's benchmark. A catalog of 200 items; BENCH_EVENTS (default
 * 1,000,000) counted events across the first 50 items of the search page, 7 days, several sources,
 * sessions and users, written straight into `tracking_events` together with the rollups the
 * tracking flush would write for them (`item_days`), so both designs read the same data. A search page with
 * analytics through the API (rollups, DataLoader) vs the reference design (4 aggregates of raw
 * events per item); median latency and database round trips for pages of 5 and 50 items.
 *
 * The app creates its indexes at startup, before the load, as a running Gavel has them when events
 * arrive; the baseline queries `tracking_events` with those indexes, and the run prints the plan the
 * engine chose for each design's queries (where the engine has `explain`).
 */
import { print } from 'graphql';
import { Types, type PipelineStage } from 'mongoose';
import { itemDayId, itemDayModel } from '../src/analytics/rollups.model';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { EventType, TrackingOutcome, trackingEventModel } from '../src/tracking/trackingEvent.model';
import { SearchWithAnalyticsDocument, type SearchWithAnalyticsQuery } from '../test/generated/graphql';
import {
  commandCounter,
  loadCountedEvents,
  ms,
  planSummary,
  printHeader,
  printTable,
  graphqlRequest,
  startBenchEnvironment,
  time,
} from './support';

const CATALOG = 200;
const ITEMS_WITH_EVENTS = 50;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE_RUNS ?? 3);
const DAYS = 7;
const DAY_MS = 86_400_000;
/**
 * Items whose 4 baseline aggregates run at once. Every aggregate is CPU-bound in the engine, so
 * running all of a page's at once (200 for 50 items) does not finish the page sooner; 8 in flight
 * keep two cores busy, so the bound does not slow the baseline. Unbounded, at 1M events each
 * aggregate would take about as long as the whole page (minutes), near the DocumentDB gateway's
 * command timeout (`PostgresCommandTimeoutSecs`, 120 s), and the pool would open up to 100
 * connections at once.
 */
const BASELINE_ITEMS_IN_FLIGHT = Number(process.env.BENCH_BASELINE_ITEMS_IN_FLIGHT ?? 2);
/**
 * `BENCH_BASELINE_INDEX=item`: a sensitivity check, not the target's comparison. The app has no
 * index on `tracking_events` that starts with `itemId` (the rollups answer per-item questions), so
 * the baseline's best plan scans every event of the range once per aggregate. This gives the
 * reference design the index it would have wanted, `{ itemId, outcome, receivedAt }`, created
 * before the load like the app's own, to show the ratio against its best case.
 */
const BASELINE_ITEM_INDEX = process.env.BENCH_BASELINE_INDEX === 'item';

/**
 * `uri` with `maxConnecting=1` unless it sets `maxConnecting`. The gateway of DocumentDB 0.106
 * (`pg_documentdb_gw` at tag v0.106-0, `listen_for_connections`) binds a new listening socket after
 * each connection it accepts (upstream binds once since), so a connection attempted while another
 * is being accepted is reset or refused. A pool growing by several connections at once then fails
 * commands with `ECONNRESET`, and the driver's pool clear that follows makes it worse. One
 * connection at a time avoids it, is harmless on any other server, and costs nothing measured here:
 * the pool has all its connections before the first timed run.
 */
function oneConnectionAtATime(uri: string): string {
  if (/[?&]maxConnecting=/i.test(uri)) return uri;
  const separator = uri.includes('?') ? '&' : /^mongodb(\+srv)?:\/\/[^/]+\//.test(uri) ? '?' : '/?';
  return `${uri}${separator}maxConnecting=1`;
}

async function main(): Promise<void> {
  if (process.env.MONGODB_URI) process.env.MONGODB_URI = oneConnectionAtATime(process.env.MONGODB_URI);
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
    const searchPage = async (first: number) =>
      (await graphqlRequest<SearchWithAnalyticsQuery>(url, query, { first, range })).auctionItems.edges.map(
        (edge) => edge.node,
      );

    // The events go to the items of the first search page, so the page shows non-zero figures.
    const pageIds = (await searchPage(ITEMS_WITH_EVENTS)).map((node) => node.id);
    const items = await auctionItemModel(connection)
      .find({ _id: { $in: pageIds } }, { category: 1 })
      .lean<Array<{ _id: Types.ObjectId; category: string }>>()
      .exec();
    if (BASELINE_ITEM_INDEX) {
      await trackingEventModel(connection).collection.createIndex(
        { itemId: 1, outcome: 1, receivedAt: 1 },
        { name: 'bench_baseline_itemId_outcome_receivedAt' },
      );
      console.log(
        'BENCH_BASELINE_INDEX=item: the baseline gets { itemId, outcome, receivedAt }, an index the app does not have',
      );
    }
    const loadStart = Date.now();
    await loadCountedEvents(bench.app.database.connection, items, { events: EVENTS, from, days: DAYS });
    const loadSeconds = (Date.now() - loadStart) / 1000;
    console.log(`loaded ${EVENTS.toLocaleString('en')} events and their rollups in ${loadSeconds.toFixed(1)} s`);

    // The reference design: the page query, then 4 aggregates over every raw event of each item.
    const events = trackingEventModel(connection);
    const catalog = auctionItemModel(connection);
    const rangeMatch = { $gte: from, $lt: to };
    /**
     * The reference design's 4 aggregates of one item: impressions, clicks, distinct sessions, and
     * counters by source, each over every counted event of the item in the range.
     */
    const baselinePipelines = (itemId: Types.ObjectId): PipelineStage[][] => {
      const match = { itemId, outcome: TrackingOutcome.ACCEPTED, receivedAt: rangeMatch };
      return [
        [{ $match: { ...match, type: EventType.IMPRESSION } }, { $group: { _id: null, n: { $sum: 1 } } }],
        [{ $match: { ...match, type: EventType.CLICK } }, { $group: { _id: null, n: { $sum: 1 } } }],
        [
          { $match: match },
          { $group: { _id: null, sessions: { $addToSet: '$sessionId' } } },
          { $project: { n: { $size: '$sessions' } } },
        ],
        [
          { $match: match },
          {
            $group: {
              _id: '$source',
              impressions: { $sum: { $cond: [{ $eq: ['$type', EventType.IMPRESSION] }, 1, 0] } },
              clicks: { $sum: { $cond: [{ $eq: ['$type', EventType.CLICK] }, 1, 0] } },
            },
          },
        ],
      ];
    };
    const baselinePage = async (first: number) => {
      const page = await catalog
        .find({}, { _id: 1 })
        .sort({ createdAt: -1, _id: -1 })
        .limit(first)
        .lean<Array<{ _id: Types.ObjectId }>>()
        .exec();
      return mapInWaves(page, BASELINE_ITEMS_IN_FLIGHT, async ({ _id: itemId }) => {
        const [impressions, clicks, sessions, bySource] = await Promise.all(
          baselinePipelines(itemId).map((pipeline) => events.aggregate(pipeline).exec()),
        );
        return {
          id: itemId.toHexString(),
          impressions: (impressions as Array<{ n: number }>)[0]?.n ?? 0,
          clicks: (clicks as Array<{ n: number }>)[0]?.n ?? 0,
          uniqueSessions: (sessions as Array<{ n: number }>)[0]?.n ?? 0,
          bySource,
        };
      });
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

    // Which indexes each design's queries use on this engine (the baseline's with the indexes the
    // app creates on tracking_events; the API's by `_id`), from the engine's own explain.
    const db = connection.db!;
    const firstItem = new Types.ObjectId(apiFive[0]!.id);
    const dayIds = Array.from({ length: DAYS }, (_, day) =>
      pageIds.map((id) => itemDayId(id, new Date(from.getTime() + day * DAY_MS))),
    ).flat();
    const explained: Array<[string, Record<string, unknown>]> = [
      ...baselinePipelines(firstItem).map((pipeline, index): [string, Record<string, unknown>] => [
        `baseline ${['impressions', 'clicks', 'sessions', 'bySource'][index]} of one item`,
        { aggregate: events.collection.collectionName, pipeline, cursor: {} },
      ]),
      [
        `API item-days of the page of ${ITEMS_WITH_EVENTS} by _id`,
        {
          find: itemDayModel(connection).collection.collectionName,
          filter: { _id: { $in: dayIds } },
          projection: { itemId: 1, day: 1, hours: 1 },
        },
      ],
    ];
    for (const [label, command] of explained) {
      try {
        console.log(
          `plan, ${label}: ${planSummary(await db.command({ explain: command, verbosity: 'executionStats' }))}`,
        );
      } catch (error) {
        // mongo-java-server has no explain (and no secondary indexes to report on).
        console.log(`plans: explain refused (${error instanceof Error ? error.message : String(error)})`);
        break;
      }
    }
    console.log();

    const counter = commandCounter(bench.app);
    const rows = [];
    for (const size of [5, ITEMS_WITH_EVENTS]) {
      const apiTiming = await time(() => searchPage(size), RUNS);
      const apiTrips = (await counter.measure(() => searchPage(size))).commands;
      // The baseline's commands are counted in its timed runs: one more run at 1M events costs minutes.
      const baseline = await counter.measure(() => time(() => baselinePage(size), BASELINE_RUNS, 0));
      const baselineTiming = baseline.result;
      rows.push({
        'page size': size,
        'API (rollups) median': ms(apiTiming.median),
        'baseline (raw events) median': ms(baselineTiming.median),
        speedup: `${(baselineTiming.median / apiTiming.median).toFixed(1)}×`,
        'API round trips': apiTrips.length,
        'baseline round trips': baseline.commands.length / BASELINE_RUNS,
        runs: `${apiTiming.samples} / ${baselineTiming.samples}`,
      });
      if (size === ITEMS_WITH_EVENTS) console.log(`API commands (page of ${size}): ${apiTrips.join(', ')}\n`);
    }
    printTable(rows);
  } finally {
    await bench.stop();
  }
}

/** `work` over `items`, at most `width` at a time, in order; the results in the items' order. */
async function mapInWaves<Item, Result>(
  items: readonly Item[],
  width: number,
  work: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = [];
  for (let offset = 0; offset < items.length; offset += width)
    results.push(...(await Promise.all(items.slice(offset, offset + width).map(work))));
  return results;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
