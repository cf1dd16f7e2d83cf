/**
 * `npm run bench:sharding` — issue 20's side-by-side benchmark: the single-node DocumentDB
 * (`scripts/documentdb.sh`, Gavel with MONGODB_SHARDING=off) and the sharded DocumentDB on Citus
 * with 2 workers (`scripts/documentdb-cluster.sh`, MONGODB_SHARDING=on: `tracking_events` and
 * `item_days` hashed on `itemId`), each with its own in-process Gavel app, measured in one run with
 * the phases interleaved so that the machine's noise hits both alike:
 *
 * (a) ingest through the API: `trackImpressions` batches of 100 (a fresh session per event) from 8
 *     clients over 1,000 items, as bench:ingest; BENCH_ROUNDS alternating rounds of BENCH_SECONDS;
 * (b) a 50-item search page with analytics (bench:analytics' fields, 30 days) after BENCH_EVENTS
 *     counted events (default 1,000,000) over 1,000 items and 30 days (written straight into the
 *     events and the rollups, as bench:analytics does); p50/p95 and database round trips, and the
 *     figures checked against recounts of the raw events;
 * (c) the first search page through the API at BENCH_ITEMS items (default 100,000), each order;
 * (d) balance on the cluster: rows of both collections per worker (psql on the coordinator); then
 *     a hot item given 30 % of all events: which worker holds it, the resulting shares, and the
 *     ingest rate of a batch stream on that item alone vs spread items (on both engines);
 * (e) routing: `explain` on the cluster of one item's analytics read, the page's read, the write
 *     path's dedup, claim and rollup queries, and a query without the shard key.
 *
 * Engines: BENCH_SINGLE_URI / BENCH_CLUSTER_URI, or started here on ports 27195 and 27210
 * (BENCH_SINGLE_PORT, BENCH_CLUSTER_PORT) and stopped at the end; the coordinator's PostgreSQL port
 * is the cluster's port + 4100 (BENCH_CLUSTER_PG_PORT). Smaller runs: BENCH_EVENTS, BENCH_ITEMS,
 * BENCH_SECONDS (default 20), BENCH_ROUNDS (2), BENCH_RUNS (50), BENCH_HOT_SECONDS (180).
 */
import { print } from 'graphql';
import { Types, type Connection, type mongo } from 'mongoose';
import { itemDayId } from '../src/analytics/rollups.model';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { DAY_MS } from '../src/shared/clock';
import { EventType, TrackingOutcome, trackingEventModel } from '../src/tracking/trackingEvent.model';
import {
  SearchItemsDocument,
  SearchWithAnalyticsDocument,
  type SearchWithAnalyticsQuery,
} from '../test/generated/graphql';
import {
  benchCatalog,
  cpuBetween,
  engineCpu,
  engineCrashes,
  commandCounter,
  coordinatorPort,
  graphqlRequest,
  loadAverage,
  loadCatalogInBulk,
  loadCountedEvents,
  ms,
  planSummary,
  printTable,
  rowsPerWorker,
  runConcurrentClients,
  scriptEngine,
  sendTrackingBatch,
  shardRows,
  startBenchApp,
  summarize,
  TRACKING_SOURCES,
  type BenchApp,
  type ScriptEngine,
  type ShardRows,
  type Timing,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const SINGLE_PORT = Number(process.env.BENCH_SINGLE_PORT ?? 27195);
const CLUSTER_PORT = Number(process.env.BENCH_CLUSTER_PORT ?? 27210);
/** Items that get events (the analytics page's 50 among them). */
const EVENT_ITEMS = 1_000;
const PAGE = 50;
const DAYS = 30;
const CLIENTS = 8;
const API_BATCH = 100;
/** The hot item's share of all events in (d). */
const HOT_SHARE = 0.3;
/** At most this long loading the hot item's events (BENCH_HOT_SECONDS). */
const HOT_SECONDS = Number(process.env.BENCH_HOT_SECONDS ?? 180);
/** Issue 20's targets. */
const TARGETS = { ingest: 0.7, analytics: 2, searchMs: 25, balance: 0.1 };

const pct = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %`;
const ratio = (value: number) => `${value.toFixed(2)}×`;
const count = (value: number) => value.toLocaleString('en');
const met = (ok: boolean) => (ok ? 'met' : '**missed**');

/** One engine with its app, and the items the run works on. */
interface Target {
  readonly name: 'single-node' | 'cluster';
  readonly engine: ScriptEngine;
  readonly bench: BenchApp;
  readonly connection: Connection;
  readonly url: string;
  /** Where the engine's scripts keep it (its processes' CPU is read from there). */
  readonly dataDir: string;
  /** The 1,000 items with events: the analytics page's 50 first, in page order. */
  items: Array<{ _id: Types.ObjectId; category: string }>;
}

/** Times each target's operation in turn, run after run (warm-up first); one timing per target. */
async function timeInTurn(operations: ReadonlyArray<() => Promise<unknown>>, runs: number): Promise<Timing[]> {
  for (let i = 0; i < 3; i++) for (const operation of operations) await operation();
  const durations = operations.map((): number[] => []);
  for (let i = 0; i < runs; i++)
    for (const [index, operation] of operations.entries()) {
      const start = process.hrtime.bigint();
      await operation();
      durations[index]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  return durations.map(summarize);
}

/** API ingest on `target` for `seconds`: CLIENTS clients, batches of 100 on `items` (fresh sessions). */
async function ingest(target: Target, seconds: number, items: readonly Types.ObjectId[], tag: string) {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let session = 0;
  const {
    result: { result: run, cpu },
    times,
  } = await commandTimes(target, () =>
    cpuOf(target, () =>
      runConcurrentClients(CLIENTS, seconds, async (client, deadline) => {
        let accepted = 0;
        while (Date.now() < deadline) {
          const result = await sendTrackingBatch(
            target.url,
            'impressions',
            Array.from({ length: API_BATCH }, (_, position) => ({
              itemId: items[Math.floor(Math.random() * items.length)]!.toHexString(),
              sessionId: `${tag}-c${client}-s${++session}`,
              source: TRACKING_SOURCES[position % TRACKING_SOURCES.length]!,
              position,
            })),
          );
          accepted += result.accepted;
          latencies.push(result.latency);
          if (result.error) failures.set(result.error, (failures.get(result.error) ?? 0) + 1);
        }
        return accepted;
      }),
    ),
  );
  return {
    events: run.events,
    seconds: run.seconds,
    rate: run.events / run.seconds,
    latency: summarize(latencies),
    failures: [...failures].map(([code, n]) => `${n} ${code}`).join(', ') || 'none',
    profile: profileRows(target, run.events / 1000, '1,000 events', times, cpu),
  };
}

/** The stage and shard count at the top of an `explain` (the sharded DocumentDB's SINGLE_SHARD / SHARD_MERGE). */
function routing(explain: unknown): { stage: string; shards: string } {
  const plan = (explain as { queryPlanner?: { winningPlan?: { stage?: string; shardCount?: number } } }).queryPlanner
    ?.winningPlan;
  if (plan?.shardCount !== undefined) return { stage: String(plan.stage), shards: String(plan.shardCount) };
  // Other layouts: the first shardCount anywhere.
  let found: { stage: string; shards: string } | undefined;
  const walk = (node: unknown): void => {
    if (found || node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.shardCount === 'number')
      found = { stage: String(record.stage), shards: String(record.shardCount) };
    Object.values(record).forEach(walk);
  };
  walk(explain);
  return found ?? { stage: plan?.stage ?? 'unsharded plan', shards: '—' };
}

/** Database time by command (`find item_days`, `update item_days`, ...) while `work` runs: count and total ms. */
async function commandTimes<T>(
  target: Target,
  work: () => Promise<T>,
): Promise<{ result: T; times: Map<string, { n: number; ms: number }> }> {
  const client = target.connection.getClient();
  const names = new Map<number, string>();
  const times = new Map<string, { n: number; ms: number }>();
  const started = (event: mongo.CommandStartedEvent) => {
    const collection = event.command[event.commandName];
    names.set(event.requestId, `${event.commandName}${typeof collection === 'string' ? ` ${collection}` : ''}`);
  };
  const ended = (event: mongo.CommandSucceededEvent | mongo.CommandFailedEvent) => {
    const name = names.get(event.requestId) ?? event.commandName;
    names.delete(event.requestId);
    const entry = times.get(name) ?? { n: 0, ms: 0 };
    times.set(name, { n: entry.n + 1, ms: entry.ms + event.duration });
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  try {
    return { result: await work(), times };
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', ended);
    client.off('commandFailed', ended);
  }
}

/** CPU ms of this process (the app and the bench's clients) and of each engine process while `work` runs. */
async function cpuOf<T>(target: Target, work: () => Promise<T>): Promise<{ result: T; cpu: Map<string, number> }> {
  const [engineBefore, ownBefore] = [engineCpu(target.dataDir), process.cpuUsage()];
  const result = await work();
  const own = process.cpuUsage(ownBefore);
  const cpu = new Map([
    ['Gavel + bench clients', (own.user + own.system) / 1000],
    ...cpuBetween(engineBefore, engineCpu(target.dataDir)),
  ]);
  return { result, cpu };
}

/** A "where the time goes" table: database time per command and CPU per process, per `unit` of work. */
function profileRows(
  target: Target,
  units: number,
  unit: string,
  times: ReadonlyMap<string, { n: number; ms: number }>,
  cpu: ReadonlyMap<string, number>,
) {
  const rows: Array<Record<string, string>> = [];
  for (const [name, { n, ms: total }] of [...times].sort((a, b) => b[1].ms - a[1].ms))
    rows.push({
      engine: target.name,
      what: `database: ${name}`,
      [`per ${unit}`]: `${(n / units).toFixed(2)} commands, ${ms(total / units)}`,
      'mean per command': ms(total / n),
    });
  for (const [role, total] of cpu)
    rows.push({
      engine: target.name,
      what: `CPU: ${role}`,
      [`per ${unit}`]: ms(total / units),
      'mean per command': '',
    });
  return rows;
}

/** Per-worker rows of a collection's shards, and each worker's deviation from the mean. */
function balanceRows(collection: string, shards: readonly ShardRows[]) {
  const workers = rowsPerWorker(shards);
  const total = [...workers.values()].reduce((sum, worker) => sum + worker.rows, 0);
  const mean = total / workers.size;
  return [...workers].map(([port, worker]) => ({
    collection,
    worker: `127.0.0.1:${port}`,
    shards: worker.shards,
    rows: count(worker.rows),
    share: `${((100 * worker.rows) / total).toFixed(1)} %`,
    'vs mean': pct(worker.rows / mean - 1),
  }));
}

const worstDeviation = (shards: readonly ShardRows[]) => {
  const workers = [...rowsPerWorker(shards).values()];
  const mean = workers.reduce((sum, worker) => sum + worker.rows, 0) / workers.length;
  return Math.max(...workers.map((worker) => Math.abs(worker.rows / mean - 1)));
};

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  console.log(`\n# bench:sharding — single-node DocumentDB vs 2-worker DocumentDB on Citus`);
  console.log(
    `date: ${new Date().toISOString()}  Node ${process.version}  load average at start: ${loadAtStart}\n` +
      `catalog ${count(ITEMS)} items; ${count(EVENTS)} events over ${EVENT_ITEMS} items, ${DAYS} days; ` +
      `ingest ${CLIENTS} clients × batches of ${API_BATCH}, ${ROUNDS} × ${SECONDS} s per engine\n`,
  );
  const engines: ScriptEngine[] = [];
  const apps: BenchApp[] = [];
  try {
    // The engines, then an app on each: with the retention purge and the popularity refresh held
    // off (their commands would land in the measurements), and the load generator's limits lifted.
    const single = await scriptEngine(process.env.BENCH_SINGLE_URI, 'documentdb.sh', SINGLE_PORT);
    engines.push(single);
    const cluster = await scriptEngine(process.env.BENCH_CLUSTER_URI, 'documentdb-cluster.sh', CLUSTER_PORT, ['2']);
    engines.push(cluster);
    const settings = {
      MAINTENANCE_INTERVAL_MS: '86400000',
      POPULARITY_REFRESH_MS: '86400000',
    };
    const targets: Target[] = [];
    for (const [name, engine, sharding] of [
      ['single-node', single, 'off'],
      ['cluster', cluster, 'on'],
    ] as const) {
      const bench = await startBenchApp(engine.uri, { ...settings, MONGODB_SHARDING: sharding });
      apps.push(bench);
      const port = /@[^:/]+:(\d+)/.exec(engine.uri)?.[1];
      const dataDir = `/tmp/${name === 'cluster' ? 'gavel-ddbd' : 'gavel-ddb'}/${port}`;
      targets.push({
        name,
        engine,
        bench,
        connection: bench.app.database.connection,
        url: bench.app.url,
        dataDir,
        items: [],
      });
    }
    const [singleTarget, clusterTarget] = targets as [Target, Target];
    const crashesBefore = new Map(targets.map((target) => [target, engineCrashes(target.dataDir).length]));
    const newCrashes = (target: Target) => engineCrashes(target.dataDir).slice(crashesBefore.get(target));
    const pgPort = coordinatorPort(cluster.uri);
    const clusterDb = clusterTarget.connection.db!;
    const shardKeys = (await clusterDb.listCollections({}, { nameOnly: false }).toArray())
      .map((entry) => [entry.name, (entry as { info?: { shardKey?: unknown } }).info?.shardKey] as const)
      .filter(([, key]) => key)
      .map(([name, key]) => `${name} ${JSON.stringify(key)}`);
    console.log(
      `cluster: sharded collections: ${shardKeys.join(', ') || 'none'}; coordinator PostgreSQL port ${pgPort}`,
    );

    // The catalog, loaded in bulk on each.
    const catalog = benchCatalog(ITEMS);
    const loads = [];
    for (const target of targets) {
      const seconds = await loadCatalogInBulk(target.connection, catalog);
      await target.bench.app.services.search.refreshSortWindows();
      loads.push({
        engine: target.name,
        items: count(ITEMS),
        seconds: seconds.toFixed(1),
        'items/s': count(Math.round(ITEMS / seconds)),
      });
    }
    console.log('\nCatalog, bulk load (indexes dropped, insertMany, indexes rebuilt):\n');
    printTable(loads);

    // The items with events: the analytics page's 50 (the default order's first page), then others.
    const to = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
    const from = new Date(to.getTime() - DAYS * DAY_MS);
    const range = { from: from.toISOString(), to: to.toISOString() };
    const analyticsQuery = print(SearchWithAnalyticsDocument);
    const analyticsPage = (target: Target, first = PAGE) =>
      graphqlRequest<SearchWithAnalyticsQuery>(target.url, analyticsQuery, { first, range }).then((data) =>
        data.auctionItems.edges.map((edge) => edge.node),
      );
    for (const target of targets) {
      const pageIds = (await analyticsPage(target)).map((node) => new Types.ObjectId(node.id));
      const model = auctionItemModel(target.connection);
      const page = await model
        .find({ _id: { $in: pageIds } }, { category: 1 })
        .lean<Array<{ _id: Types.ObjectId; category: string }>>()
        .exec();
      const byId = new Map(page.map((item) => [item._id.toHexString(), item]));
      const others = await model
        .find({ _id: { $nin: pageIds } }, { category: 1 })
        .sort({ _id: 1 })
        .limit(EVENT_ITEMS - pageIds.length)
        .lean<Array<{ _id: Types.ObjectId; category: string }>>()
        .exec();
      target.items = [...pageIds.map((id) => byId.get(id.toHexString())!), ...others];
    }
    const idsOf = (target: Target) => target.items.map((item) => item._id);

    // (a) Ingest through the API, rounds alternating between the engines (today's events: outside
    // the analytics range, which ends at today's midnight).
    for (const target of targets) await ingest(target, 2, idsOf(target), 'warm'); // JIT, pools, item cache
    const ingestRuns = new Map<Target, Array<Awaited<ReturnType<typeof ingest>>>>(targets.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++)
      for (const target of targets)
        ingestRuns.get(target)!.push(await ingest(target, SECONDS, idsOf(target), `a${round}`));
    const ingestRate = (target: Target) => {
      const runs = ingestRuns.get(target)!;
      return runs.reduce((sum, r) => sum + r.events, 0) / runs.reduce((sum, r) => sum + r.seconds, 0);
    };
    console.log(`\n(a) Ingest through the API (${ROUNDS} rounds of ${SECONDS} s each, alternating):\n`);
    printTable(
      targets.flatMap((target) =>
        ingestRuns.get(target)!.map((r, round) => ({
          engine: target.name,
          round: round + 1,
          'events/s': count(Math.round(r.rate)),
          events: count(r.events),
          'p50 batch': ms(r.latency.median),
          'p99 batch': ms(r.latency.p99),
          'failed batches': r.failures,
        })),
      ),
    );
    const ingestRatio = ingestRate(clusterTarget) / ingestRate(singleTarget);
    console.log('\nWhere the ingest time goes (last round; database time from command monitoring, CPU from /proc):\n');
    printTable(targets.flatMap((target) => ingestRuns.get(target)!.at(-1)!.profile));
    console.log(
      `\ningest: single-node ${count(Math.round(ingestRate(singleTarget)))}/s, cluster ${count(Math.round(ingestRate(clusterTarget)))}/s: ` +
        `cluster/single = ${ratio(ingestRatio)} (target ≥ ${TARGETS.ingest}: ${met(ingestRatio >= TARGETS.ingest)})`,
    );

    // (b) Events over 30 days, then the analytics page.
    const eventLoads = [];
    for (const target of targets) {
      const started = Date.now();
      await loadCountedEvents(target.connection, target.items, { events: EVENTS, from, days: DAYS });
      const seconds = (Date.now() - started) / 1000;
      eventLoads.push({
        engine: target.name,
        events: count(EVENTS),
        seconds: seconds.toFixed(1),
        'events/s': count(Math.round(EVENTS / seconds)),
      });
    }
    console.log('\n(b) Counted events and their rollups, written directly (insertMany 10,000 + rollup upserts):\n');
    printTable(eventLoads);

    // The figures against recounts of the raw events (5 items), and the two engines against each other.
    const pages = new Map<Target, Awaited<ReturnType<typeof analyticsPage>>>();
    for (const target of targets) {
      const page = await analyticsPage(target);
      pages.set(target, page);
      const five = page.slice(0, 5).map((node) => new Types.ObjectId(node.id));
      const recount = await trackingEventModel(target.connection)
        .aggregate<{ _id: { itemId: Types.ObjectId; type: string }; n: number }>([
          { $match: { itemId: { $in: five }, outcome: TrackingOutcome.ACCEPTED, receivedAt: { $gte: from, $lt: to } } },
          { $group: { _id: { itemId: '$itemId', type: '$type' }, n: { $sum: 1 } } },
        ])
        .exec();
      const counted = (itemId: string, type: EventType) =>
        recount.find((row) => row._id.itemId.toHexString() === itemId && row._id.type === type)?.n ?? 0;
      for (const node of page.slice(0, 5)) {
        const figures = node.analytics!;
        if (
          figures.impressions !== counted(node.id, EventType.IMPRESSION) ||
          figures.clicks !== counted(node.id, EventType.CLICK)
        )
          throw new Error(
            `${target.name}: analytics of ${node.id} (${figures.impressions} impressions, ${figures.clicks} clicks) differ from the raw events ` +
              `(${counted(node.id, EventType.IMPRESSION)}, ${counted(node.id, EventType.CLICK)})`,
          );
      }
    }
    const pageTotal = (target: Target) =>
      pages.get(target)!.reduce((sum, node) => sum + node.analytics!.impressions, 0);
    console.log(
      `check: the first 5 items' impressions and clicks equal recounts of the raw events on both engines; ` +
        `the page's impressions: single-node ${count(pageTotal(singleTarget))}, cluster ${count(pageTotal(clusterTarget))}` +
        (pageTotal(singleTarget) === pageTotal(clusterTarget) ? ' (equal)' : ' (**differ**)'),
    );
    const [singlePage, clusterPage] = await timeInTurn(
      targets.map((target) => () => analyticsPage(target)),
      RUNS,
    );
    // A page of 5 too: its items sit on at most 5 of the 8 shards.
    const [singleFive, clusterFive] = await timeInTurn(
      targets.map((target) => () => analyticsPage(target, 5)),
      RUNS,
    );
    const trips: string[][] = [];
    for (const target of targets)
      trips.push((await commandCounter(target.bench.app).measure(() => analyticsPage(target))).commands);
    // Where a page's time goes: database time per command and CPU per process, over RUNS more pages.
    const pageProfile = [];
    for (const target of targets) {
      const { result, times } = await commandTimes(target, () =>
        cpuOf(target, async () => {
          for (let i = 0; i < RUNS; i++) await analyticsPage(target);
        }),
      );
      pageProfile.push(...profileRows(target, RUNS, 'page', times, result.cpu));
    }
    console.log(
      `\n(b) Search page of ${PAGE} items with analytics over ${DAYS} days (${RUNS} runs each, interleaved):\n`,
    );
    printTable(
      targets.map((target, index) => {
        const timing = [singlePage!, clusterPage!][index]!;
        const five = [singleFive!, clusterFive!][index]!;
        return {
          engine: target.name,
          p50: ms(timing.median),
          p95: ms(timing.p95),
          'round trips': trips[index]!.length,
          commands: trips[index]!.join(', '),
          'page of 5: p50 / p95': `${ms(five.median)} / ${ms(five.p95)}`,
        };
      }),
    );
    console.log(`\nWhere a page's time goes (${RUNS} more pages each):\n`);
    printTable(pageProfile);

    // The page's rollup read in three shapes, at the database: by items and day range (what Gavel
    // sends since 947dc03, on its { itemId, day } index), by the item-day ids with their items (what
    // it sent before), and by the ids alone (every shard asked).
    const dayIdsOf = (items: readonly Types.ObjectId[]) =>
      items.flatMap((item) =>
        Array.from({ length: DAYS }, (_, day) => itemDayId(item, new Date(from.getTime() + day * DAY_MS))),
      );
    const pageItemsOf = (target: Target) => target.items.slice(0, PAGE).map((item) => item._id);
    const shapes: Array<[string, (target: Target) => Record<string, unknown>]> = [
      [
        `_id $in ${PAGE * DAYS} item-day ids + itemId $in ${PAGE} (Gavel's read before 947dc03)`,
        (target) => ({ _id: { $in: dayIdsOf(pageItemsOf(target)) }, itemId: { $in: pageItemsOf(target) } }),
      ],
      [
        `_id $in ${PAGE * DAYS} item-day ids alone (no shard key)`,
        (target) => ({ _id: { $in: dayIdsOf(pageItemsOf(target)) } }),
      ],
      [
        `itemId $in ${PAGE} + day range (Gavel's read since 947dc03)`,
        (target) => ({ itemId: { $in: pageItemsOf(target) }, day: { $gte: from, $lt: to } }),
      ],
    ];
    const shapeRows = [];
    for (const [shape, filter] of shapes) {
      const read = (target: Target) =>
        target.connection
          .db!.collection('item_days')
          .find(filter(target) as mongo.Filter<mongo.Document>, { projection: { itemId: 1, day: 1, hours: 1 } })
          .toArray();
      const found = await Promise.all(targets.map(async (target) => (await read(target)).length));
      const [a, b] = await timeInTurn(
        targets.map((target) => () => read(target)),
        RUNS,
      );
      shapeRows.push({
        'item_days read of the page': shape,
        documents: found.join(' / '),
        'single-node p50': ms(a!.median),
        'cluster p50': ms(b!.median),
        'cluster/single': ratio(b!.median / a!.median),
      });
    }
    console.log("\nThe page's rollup read alone, in three query shapes (documents: single-node / cluster):\n");
    printTable(shapeRows);
    const analyticsRatio = { p50: clusterPage!.median / singlePage!.median, p95: clusterPage!.p95 / singlePage!.p95 };
    console.log(
      `\nanalytics page: cluster/single p50 ${ratio(analyticsRatio.p50)}, p95 ${ratio(analyticsRatio.p95)} ` +
        `(target ≤ ${TARGETS.analytics}×: ${met(analyticsRatio.p50 <= TARGETS.analytics)} at p50, ${met(analyticsRatio.p95 <= TARGETS.analytics)} at p95)`,
    );

    // (c) The first search page of each order (the web app's status ACTIVE filter), through the API.
    const searchQuery = print(SearchItemsDocument);
    const searchRows = [];
    let worstClusterP95 = 0;
    let worstSingleP95 = 0;
    for (const field of ['CREATED_AT', 'PRICE', 'ENDS_AT', 'POPULARITY']) {
      const variables = { filter: { status: ['ACTIVE'] }, orderBy: { field, direction: 'DESC' }, first: 20 };
      // A fresh sort-window sample first, as bench:search does: a stale one (older than a minute) is
      // refreshed in the background by the next page, and that $sample of 2,000 items would land in
      // the timed pages (a few slow pages a minute, not the page's own cost).
      for (const target of targets) await target.bench.app.services.search.refreshSortWindows();
      const [a, b] = await timeInTurn(
        targets.map((target) => () => graphqlRequest(target.url, searchQuery, variables)),
        RUNS,
      );
      worstSingleP95 = Math.max(worstSingleP95, a!.p95);
      worstClusterP95 = Math.max(worstClusterP95, b!.p95);
      searchRows.push({
        'order (status ACTIVE)': field,
        'single-node p50 / p95': `${ms(a!.median)} / ${ms(a!.p95)}`,
        'cluster p50 / p95': `${ms(b!.median)} / ${ms(b!.p95)}`,
        'cluster/single p50': ratio(b!.median / a!.median),
      });
    }
    console.log(`\n(c) First search page (20 items) through the API at ${count(ITEMS)} items (${RUNS} runs each):\n`);
    printTable(searchRows);
    console.log(
      `\nsearch: worst cluster p95 ${ms(worstClusterP95)} (target ≤ ${TARGETS.searchMs} ms: ${met(worstClusterP95 <= TARGETS.searchMs)})`,
    );

    // (e) Routing, from the cluster's explain.
    const hot = clusterTarget.items.at(-1)!._id; // not on the analytics page
    const oneItem = clusterTarget.items[0]!._id;
    const pageItems = clusterTarget.items.slice(0, PAGE).map((item) => item._id);
    const anEvent = await clusterDb
      .collection('tracking_events')
      .findOne({ itemId: oneItem, type: EventType.IMPRESSION }, { projection: { _id: 1, sessionId: 1, dedupKey: 1 } });
    const explained: Array<[string, mongo.Document]> = [
      [
        "one item's analytics (its item-days by item and day range)",
        {
          find: 'item_days',
          filter: { itemId: { $in: [oneItem] }, day: { $gte: from, $lt: to } },
          projection: { itemId: 1, day: 1, hours: 1 },
        },
      ],
      [
        `the ${PAGE}-item page's item-days by items and day range (one query)`,
        {
          find: 'item_days',
          filter: { itemId: { $in: pageItems }, day: { $gte: from, $lt: to } },
          projection: { itemId: 1, day: 1, hours: 1 },
        },
      ],
      [
        `the ${PAGE}-item page's item-days by id and item (before 947dc03)`,
        {
          find: 'item_days',
          filter: { _id: { $in: dayIdsOf(pageItems) }, itemId: { $in: pageItems } },
          projection: { itemId: 1, day: 1, hours: 1 },
        },
      ],
      [
        'dedup: counted keys of one item (the unique {itemId, dedupKey})',
        {
          find: 'tracking_events',
          filter: { itemId: { $in: [oneItem] }, dedupKey: { $in: [anEvent?.dedupKey ?? 'none'] } },
          projection: { dedupKey: 1 },
        },
      ],
      [
        "click claim: the impression to claim (findAndModify's query)",
        {
          find: 'tracking_events',
          filter: {
            sessionId: anEvent?.sessionId ?? 'none',
            itemId: oneItem,
            type: EventType.IMPRESSION,
            outcome: TrackingOutcome.ACCEPTED,
            receivedAt: { $gte: from },
            $or: [{ clicksClaimed: { $exists: false } }, { clicksClaimed: { $lt: 1 } }],
          },
          sort: { receivedAt: 1 },
          limit: 1,
          projection: { _id: 1 },
        },
      ],
      [
        'claim release (update by _id and item)',
        {
          update: 'tracking_events',
          updates: [
            {
              q: { _id: anEvent?._id ?? new Types.ObjectId(), itemId: oneItem, clicksClaimed: { $gt: 0 } },
              u: { $inc: { clicksClaimed: -1 } },
            },
          ],
        },
      ],
      [
        'rollup upsert (by _id and item)',
        {
          update: 'item_days',
          updates: [
            {
              q: { _id: itemDayId(oneItem, from), itemId: oneItem },
              u: { $inc: { 'hours.0.SEARCH.impressions': 0 } },
              upsert: true,
            },
          ],
        },
      ],
      [
        'without the shard key: events by outcome and date (purge, outcomes)',
        {
          find: 'tracking_events',
          filter: { outcome: TrackingOutcome.DUPLICATE, receivedAt: { $lt: from } },
          limit: 10,
        },
      ],
    ];
    const routes = [];
    for (const [label, command] of explained) {
      try {
        const explain = await clusterDb.command({ explain: command, verbosity: 'executionStats' });
        const { stage, shards } = routing(explain);
        routes.push({ query: label, stage, shards, plan: planSummary(explain) });
      } catch (error) {
        routes.push({
          query: label,
          stage: 'explain refused',
          shards: '',
          plan: (error as Error).message.slice(0, 80),
        });
      }
    }
    console.log('\n(e) Routing on the cluster (explain, executionStats):\n');
    printTable(routes);

    // (d) Balance after (b)'s load, then a hot item.
    const database = clusterDb.databaseName;
    const eventShards = await shardRows(pgPort, database, 'tracking_events');
    const dayShards = await shardRows(pgPort, database, 'item_days');
    console.log(
      `\n(d) Rows per worker on the cluster after (a) and (b) (run_command_on_shards count(*) × citus_shards):\n`,
    );
    printTable([...balanceRows('tracking_events', eventShards), ...balanceRows('item_days', dayShards)]);
    const balance = Math.max(worstDeviation(eventShards), worstDeviation(dayShards));
    console.log(
      `\nbalance: worst worker ${pct(balance)} from the mean (target ±${TARGETS.balance * 100} %: ${met(balance <= TARGETS.balance)})`,
    );

    const total = eventShards.reduce((sum, shard) => sum + shard.rows, 0);
    const hotItem = clusterTarget.items.at(-1)!;
    const hotBefore = await clusterDb.collection('tracking_events').countDocuments({ itemId: hot });
    const hotWanted = Math.ceil((HOT_SHARE * total - hotBefore) / (1 - HOT_SHARE));
    // One chunk of 1,000 at a time (concurrent inserts of one item crash the engine, and a chunk of
    // 10,000 outlasted the gateway's command timeout), for at most BENCH_HOT_SECONDS: each insert
    // costs more the more events the item has (bench/README.md), so 30 % may not be reached.
    const hotStarted = Date.now();
    const hotDeadline = hotStarted + HOT_SECONDS * 1000;
    const hotRates: string[] = [];
    let hotWritten = 0;
    while (hotWritten < hotWanted && Date.now() < hotDeadline) {
      const stepStarted = Date.now();
      const written = await loadCountedEvents(clusterTarget.connection, [hotItem], {
        events: Math.min(10_000, hotWanted - hotWritten),
        from,
        days: DAYS,
        label: `hot${hotWritten}-`,
        insertsInFlight: 1,
        chunk: 1_000,
        deadline: hotDeadline,
      });
      hotWritten += written;
      hotRates.push(
        `${count(hotBefore + hotWritten)}: ${count(Math.round(written / ((Date.now() - stepStarted) / 1000)))}/s`,
      );
    }
    const hotSeconds = (Date.now() - hotStarted) / 1000;
    const hotShards = await shardRows(pgPort, database, 'tracking_events');
    const grown = hotShards
      .map((shard) => ({
        shard,
        added: shard.rows - (eventShards.find((s) => s.shardId === shard.shardId)?.rows ?? 0),
      }))
      .sort((a, b) => b.added - a.added)[0]!;
    const hotTotal = hotShards.reduce((sum, shard) => sum + shard.rows, 0);
    const hotNow = hotBefore + hotWritten;
    console.log(
      `\nhot item ${hot.toHexString()}: ${count(hotWritten)} of the ${count(hotWanted)} more events that 30 % takes, in ` +
        `${hotSeconds.toFixed(1)} s (the item's events: insert rate, per 10,000: ${hotRates.join(', ')}); ` +
        `now ${count(hotNow)} of ${count(hotTotal)} (${((100 * hotNow) / hotTotal).toFixed(1)} %). They all went to shard ` +
        `${grown.shard.shardId} on worker 127.0.0.1:${grown.shard.nodePort} (+${count(grown.added)} rows there).\n`,
    );
    const hotWorkerRows = rowsPerWorker(hotShards);
    const beforeWorkerRows = rowsPerWorker(eventShards);
    printTable(
      [...hotWorkerRows].map(([port, worker]) => {
        const projected = (beforeWorkerRows.get(port)?.rows ?? 0) + (port === grown.shard.nodePort ? hotWanted : 0);
        return {
          worker: `127.0.0.1:${port}`,
          'holds the hot item': port === grown.shard.nodePort ? 'yes' : '',
          'tracking_events rows now': count(worker.rows),
          'share now': `${((100 * worker.rows) / hotTotal).toFixed(1)} %`,
          'share with the item at 30 % (projected from the rows before)': `${((100 * projected) / (total + hotWanted)).toFixed(1)} %`,
        };
      }),
    );

    // What a hot item costs: a batch stream on that item alone vs spread items, on both engines.
    const hotRows = [];
    const hotRatios: string[] = [];
    const hotProfile: Array<Record<string, string>> = [];
    // On the single-node engine only with BENCH_HOT_SINGLE=1: there the stream crashes PostgreSQL
    // (a segmentation fault in an insert into the unique { itemId, dedupKey } index; bench/README.md).
    const hotTargets = process.env.BENCH_HOT_SINGLE === '1' ? targets : [clusterTarget];
    for (const target of hotTargets) {
      const hotId = target.items.at(-1)!._id;
      const spread = await ingest(target, SECONDS, idsOf(target), 'spread');
      const alone = await ingest(target, SECONDS, [hotId], 'hot');
      for (const [label, r] of [
        ['spread over 1,000 items', spread],
        ['one hot item', alone],
      ] as const)
        hotRows.push({
          engine: target.name,
          stream: label,
          'events/s': count(Math.round(r.rate)),
          'p50 batch': ms(r.latency.median),
          'p99 batch': ms(r.latency.p99),
          'failed batches': r.failures,
        });
      hotRatios.push(`${target.name} hot/spread ${ratio(alone.rate / spread.rate)}`);
      hotProfile.push(...spread.profile.map((row) => ({ stream: 'spread', ...row })));
      hotProfile.push(...alone.profile.map((row) => ({ stream: 'hot item', ...row })));
    }
    console.log(
      `\nIngest through the API, ${SECONDS} s each: every event on the hot item (${count(hotNow)} events already on the cluster) vs spread:\n`,
    );
    printTable(hotRows);
    console.log(`\n${hotRatios.join('; ')}\n\nWhere the time goes, spread vs hot item:\n`);
    printTable(hotProfile);

    // Summary.
    console.log(`\nSummary (load average at start ${loadAtStart}, at the end ${loadAverage()}):\n`);
    printTable([
      {
        measure: 'ingest through the API, events/s',
        'single-node': count(Math.round(ingestRate(singleTarget))),
        cluster: count(Math.round(ingestRate(clusterTarget))),
        'cluster/single': ratio(ingestRatio),
        target: `≥ ${TARGETS.ingest}×`,
        result: met(ingestRatio >= TARGETS.ingest),
      },
      {
        measure: `analytics page of ${PAGE}, p50 / p95`,
        'single-node': `${ms(singlePage!.median)} / ${ms(singlePage!.p95)}`,
        cluster: `${ms(clusterPage!.median)} / ${ms(clusterPage!.p95)}`,
        'cluster/single': `${ratio(analyticsRatio.p50)} / ${ratio(analyticsRatio.p95)}`,
        target: `≤ ${TARGETS.analytics}×`,
        result: met(analyticsRatio.p50 <= TARGETS.analytics && analyticsRatio.p95 <= TARGETS.analytics),
      },
      {
        measure: 'analytics page round trips',
        'single-node': trips[0]!.length,
        cluster: trips[1]!.length,
        'cluster/single': '',
        target: '≤ 3',
        result: met(trips[1]!.length <= 3),
      },
      {
        measure: `first search page at ${count(ITEMS)} items, worst p95 of 4 orders`,
        'single-node': ms(worstSingleP95),
        cluster: ms(worstClusterP95),
        'cluster/single': '',
        target: `≤ ${TARGETS.searchMs} ms (cluster)`,
        result: met(worstClusterP95 <= TARGETS.searchMs),
      },
      {
        measure: 'rows per worker, worst deviation from the mean',
        'single-node': '',
        cluster: pct(balance),
        'cluster/single': '',
        target: `±${TARGETS.balance * 100} %`,
        result: met(balance <= TARGETS.balance),
      },
      {
        measure: 'engine backends that died of a signal during the run',
        'single-node': newCrashes(singleTarget).length,
        cluster: newCrashes(clusterTarget).length,
        'cluster/single': '',
        target: '0',
        result: met(targets.every((target) => newCrashes(target).length === 0)),
      },
    ]);
    for (const target of targets) for (const line of newCrashes(target)) console.log(`${target.name}: ${line}`);
  } finally {
    for (const app of apps.reverse()) await app.stop().catch((error: unknown) => console.error(error));
    for (const engine of engines.reverse()) await engine.stop().catch((error: unknown) => console.error(error));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
