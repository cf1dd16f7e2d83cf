/**
 * `npm run bench:ingest` — issue 4's benchmark. In one run on one engine: events/s through the
 * GraphQL API (`trackImpressions`, batches of 100, CLIENTS concurrent clients) vs (a) the reference
 * design's per-event find-then-insert and (b) raw unordered `insertMany` of equivalent documents
 * into a collection with the events collection's indexes — what storing them costs at the least —
 * and, for comparison with earlier figures, with the dedup index only. Also p50/p99 mutation latency and, with BENCH_SUSTAIN_MINUTES=5,
 * the server's RSS, events/s and p99 latency for every minute of sustained API load. The server
 * runs as its own OS process (`src/main.ts`, as in production), so the clients share no event loop
 * with it and its RSS is its own. (d) issue 12's durability cost: the API load again on engines that differ only
 * in what a write waits for before it is acknowledged — the embedded engine's H2 durability
 * none/commit/fsync, or on an external MongoDB `w=1` vs Gavel's `w: 'majority', j: true`
 * (BENCH_DURABILITY=0 skips it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Types } from 'mongoose';
import {
  EventType,
  TrackingOutcome,
  trackingEventModel,
  type TrackingEventRecord,
} from '../src/tracking/trackingEvent.model';
import type { RunningEngine } from '../src/db/engine';
import { javaServerAvailable, startJavaServer, type EngineDurability } from '../src/db/engines/javaServer';
import {
  BROWSER_USER_AGENT,
  ms,
  printHeader,
  printTable,
  runConcurrentClients,
  sendTrackingBatch,
  rssOf,
  spawnCatalogServer,
  startBenchEngine,
  summarize,
  TRACKING_SOURCES,
  type TrackingBatchResult,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SUSTAIN_MINUTES = Number(process.env.BENCH_SUSTAIN_MINUTES ?? 0);
/** Compare durability settings (section d); BENCH_DURABILITY=0 skips it. */
const DURABILITY = process.env.BENCH_DURABILITY !== '0';
const CLIENTS = 8;
const API_BATCH = 100;
const RAW_BATCH = 1_000;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const rate = (events: number, seconds: number) => Math.round(events / seconds);

/** Runs `client(index, deadline)` on CLIENTS concurrent clients until `seconds` have passed. */
const runClients = (seconds: number, client: (index: number, deadline: number) => Promise<number>) =>
  runConcurrentClients(CLIENTS, seconds, client);

/** The benchmark's server on `uri` (its own process) with ITEMS demo items. */
const startIngestServer = (uri: string, prefix: string) => spawnCatalogServer(uri, prefix, ITEMS);

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  const bench = await startIngestServer(engine.uri, 'bench_ingest');
  try {
    printHeader(
      `bench:ingest — ${ITEMS.toLocaleString('en')} items, ${CLIENTS} clients, ${SECONDS} s per design`,
      engine,
    );
    const { connection, itemIds, url } = bench;
    const randomItem = () => itemIds[Math.floor(Math.random() * itemIds.length)]!;

    let sessionSeq = 0;
    /** One mutation of API_BATCH events, each with a fresh session so that every one is accepted. */
    const trackBatch = (client: number, target = url, items = itemIds): Promise<TrackingBatchResult> =>
      sendTrackingBatch(
        target,
        'impressions',
        Array.from({ length: API_BATCH }, (_, position) => ({
          itemId: items[Math.floor(Math.random() * items.length)]!.toHexString(),
          sessionId: `c${client}-s${++sessionSeq}`,
          source: TRACKING_SOURCES[position % TRACKING_SOURCES.length]!,
          position,
        })),
      );

    // (a) The GraphQL API: group commit, dedup index, rollup journal, one item-day upsert per item per flush.
    const latencies: number[] = [];
    let sent = 0;
    /** Batches refused, by error code, since the last `takeFailures()`. */
    let failures = new Map<string, number>();
    const takeFailures = () => {
      const taken = [...failures].map(([code, count]) => `${count} ${code}`).join(', ') || 'none';
      failures = new Map();
      return taken;
    };
    /** API load; `record` receives each mutation's latency. */
    const apiLoad = (record?: (latency: number) => void) => async (client: number, deadline: number) => {
      let accepted = 0;
      while (Date.now() < deadline) {
        const result = await trackBatch(client);
        accepted += result.accepted;
        if (result.error) failures.set(result.error, (failures.get(result.error) ?? 0) + 1);
        record?.(result.latency);
      }
      return accepted;
    };
    await runClients(2, apiLoad()); // warm-up (JIT, connection pool, item cache)
    takeFailures();
    const api = await runClients(
      SECONDS,
      apiLoad((latency) => {
        latencies.push(latency);
        sent += API_BATCH;
      }),
    );
    const apiLatency = summarize(latencies);
    const apiFailures = takeFailures();

    // (b) The reference design: per event, look for an existing (session, item) event, then insert.
    const baselineCollection = connection.db!.collection<Omit<TrackingEventRecord, '_id'>>('bench_baseline_events');
    await baselineCollection.createIndex({ sessionId: 1, itemId: 1, type: 1 });
    const baselineBefore = await baselineCollection.countDocuments();
    let baselineSeq = 0;
    const baseline = await runClients(SECONDS, async (client, deadline) => {
      let inserted = 0;
      while (Date.now() < deadline) {
        const sessionId = `b${client}-s${++baselineSeq}`;
        const itemId = randomItem();
        const existing = await baselineCollection.findOne({ sessionId, itemId, type: EventType.IMPRESSION });
        if (existing) continue;
        await baselineCollection.insertOne(eventDocument(sessionId, itemId, inserted));
        inserted++;
      }
      return inserted;
    });
    const baselineAfter = await baselineCollection.countDocuments();

    // (c) Raw unordered insertMany of equivalent documents: into a collection with the events
    // collection's indexes (what storing these documents costs at least), and with the dedup index only.
    const rawInsertMany = async (name: string, indexes: ReadonlyArray<[Record<string, 1 | -1>, object]>) => {
      const collection = connection.db!.collection<Omit<TrackingEventRecord, '_id'>>(name);
      for (const [fields, options] of indexes) await collection.createIndex(fields, options);
      let rawSeq = 0;
      const run = await runClients(SECONDS, async (client, deadline) => {
        let inserted = 0;
        while (Date.now() < deadline) {
          const docs = Array.from({ length: RAW_BATCH }, (_, position) =>
            eventDocument(`r${client}-s${++rawSeq}`, randomItem(), position),
          );
          await collection.insertMany(docs, { ordered: false });
          inserted += docs.length;
        }
        return inserted;
      });
      return { collection, run };
    };
    const eventIndexes = trackingEventModel(connection).schema.indexes() as Array<[Record<string, 1 | -1>, object]>;
    const raw = await rawInsertMany('bench_raw_events', eventIndexes);
    const rawDedupOnly = await rawInsertMany('bench_raw_events_dedup_only', [
      [{ dedupKey: 1 }, { unique: true, sparse: true }],
    ]);

    const apiRate = rate(api.events, api.seconds);
    const baselineRate = rate(baseline.events, baseline.seconds);
    const rawRate = rate(raw.run.events, raw.run.seconds);
    const rawDedupOnlyRate = rate(rawDedupOnly.run.events, rawDedupOnly.run.seconds);
    printTable([
      {
        design: 'GraphQL API trackImpressions (batches of 100)',
        'events/s': apiRate,
        events: api.events,
        'p50 latency': ms(apiLatency.median),
        'p99 latency': ms(apiLatency.p99),
      },
      {
        design: `baseline: findOne + insertOne per event (collection ${baselineBefore} → ${baselineAfter} docs)`,
        'events/s': baselineRate,
        events: baseline.events,
        'p50 latency': '',
        'p99 latency': '',
      },
      {
        design: `raw insertMany (batches of ${RAW_BATCH}, unordered), the events collection's ${eventIndexes.length} indexes`,
        'events/s': rawRate,
        events: raw.run.events,
        'p50 latency': '',
        'p99 latency': '',
      },
      {
        design: `raw insertMany (batches of ${RAW_BATCH}, unordered), dedup index only`,
        'events/s': rawDedupOnlyRate,
        events: rawDedupOnly.run.events,
        'p50 latency': '',
        'p99 latency': '',
      },
    ]);
    console.log(
      `\nAPI accepted ${api.events} of ${sent} events sent (batches refused: ${apiFailures}); API/baseline = ${(apiRate / baselineRate).toFixed(1)}×, ` +
        `API/raw insertMany = ${((100 * apiRate) / rawRate).toFixed(0)}% ` +
        `(${((100 * apiRate) / rawDedupOnlyRate).toFixed(0)}% of raw with the dedup index only)`,
    );

    // (d) What durability costs: the same API load on engines that differ only in what a write
    // waits for before it is acknowledged (a fresh app and database per setting, same length).
    if (DURABILITY) {
      const settings = durabilitySettings(engine);
      const rows = [];
      let baselineRate = 0;
      for (const setting of settings) {
        const target = await setting.start();
        try {
          const app = await startIngestServer(target.uri, 'bench_durability');
          try {
            const ids = app.itemIds;
            const durabilityLatencies: number[] = [];
            const load = async (client: number, deadline: number) => {
              let accepted = 0;
              while (Date.now() < deadline) {
                const result = await trackBatch(client, app.url, ids);
                accepted += result.accepted;
                if (result.error) failures.set(result.error, (failures.get(result.error) ?? 0) + 1);
                durabilityLatencies.push(result.latency);
              }
              return accepted;
            };
            await runClients(2, load); // warm-up
            durabilityLatencies.length = 0;
            takeFailures();
            const run = await runClients(SECONDS, load);
            const eventsPerSecond = rate(run.events, run.seconds);
            baselineRate ||= eventsPerSecond;
            const timing = summarize(durabilityLatencies);
            rows.push({
              'acknowledged once': setting.label,
              'events/s': eventsPerSecond,
              'vs first row': `${((100 * eventsPerSecond) / baselineRate).toFixed(0)}%`,
              'p50 latency': ms(timing.median),
              'p99 latency': ms(timing.p99),
              'batches refused': takeFailures(),
            });
          } finally {
            await app.stop();
          }
        } finally {
          await target.stop();
        }
      }
      console.log(`
Durability cost (API load as above, ${SECONDS} s each, a fresh app and database per row):
`);
      printTable(rows);
    }

    // Sustained API load: the server process's RSS.
    if (SUSTAIN_MINUTES > 0) {
      // The comparison's collections are not the app's: drop them so that the in-memory engine's
      // heap (the JVM's default maximum) goes to the sustained run, not to ~1M leftover documents.
      await Promise.all([baselineCollection.drop(), raw.collection.drop(), rawDedupOnly.collection.drop()]);
      // What storing costs as the events collection grows: after each minute, raw insertMany of as many
      // documents as the API accepted in it, into a collection with the events' indexes that grows alike.
      const sameSize = connection.db!.collection<Omit<TrackingEventRecord, '_id'>>('bench_raw_sustained');
      for (const [fields, options] of eventIndexes) await sameSize.createIndex(fields, options);
      let sameSizeSeq = 0;
      const rawAtSameSize = async (count: number): Promise<number> => {
        let left = count;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, client) => {
            while (left > 0) {
              const size = Math.min(RAW_BATCH, left);
              left -= size;
              const docs = Array.from({ length: size }, (_, position) =>
                eventDocument(`w${client}-s${++sameSizeSeq}`, randomItem(), position),
              );
              await sameSize.insertMany(docs, { ordered: false });
            }
          }),
        );
        return rate(count, (performance.now() - started) / 1_000);
      };
      const rows: Array<Record<string, string | number> & Record<RateColumn, number>> = [];
      let total = 0;
      const startRss = rssOf(bench.server.child.pid!);
      for (let minute = 1; minute <= SUSTAIN_MINUTES; minute++) {
        const minuteLatencies: number[] = [];
        const run = await runClients(
          60,
          apiLoad((latency) => minuteLatencies.push(latency)),
        );
        total += run.events;
        const apiPerSecond = rate(run.events, run.seconds);
        const rssNow = rssOf(bench.server.child.pid!);
        const rawPerSecond = await rawAtSameSize(run.events);
        rows.push({
          after: `${minute} min`,
          RSS: mib(rssNow),
          'events/s in that minute': apiPerSecond,
          'raw insertMany at the same size, docs/s': rawPerSecond,
          'API/raw': `${((100 * apiPerSecond) / rawPerSecond).toFixed(0)}%`,
          'p99 latency in that minute': ms(summarize(minuteLatencies).p99),
          'events accepted so far': total,
          'batches refused': takeFailures(),
        });
      }
      console.log(`\nServer RSS under sustained API load (start: ${mib(startRss)}):\n`);
      printTable(rows);
      const ratio = (key: RateColumn) =>
        `${rows.at(-1)![key]} vs ${rows[0]![key]} = ${((100 * rows.at(-1)![key]) / rows[0]![key]).toFixed(0)}%`;
      console.log(
        `\nLast minute vs first: API ${ratio('events/s in that minute')} (issue 22's target: ≥ 85% after 15 minutes); ` +
          `raw insertMany at the same size ${ratio('raw insertMany at the same size, docs/s')}`,
      );
    } else {
      console.log('\nServer RSS after 1 and 5 minutes of sustained load: not measured (set BENCH_SUSTAIN_MINUTES=5).');
    }
  } finally {
    await bench.stop();
    await engine.stop();
  }
}

/** The sustained table's columns of rates. */
type RateColumn = 'events/s in that minute' | 'raw insertMany at the same size, docs/s';

/** One row of the durability comparison: how to start (or name) the database it runs on. */
interface DurabilitySetting {
  readonly label: string;
  start(): Promise<{ uri: string; stop(): Promise<void> }>;
}

/**
 * The settings compared: on an external MongoDB, the write concern (Gavel's default against
 * `w=1` in the URI); otherwise the embedded engine's H2 store with each `durability`, in a
 * throw-away file.
 */
function durabilitySettings(engine: RunningEngine): DurabilitySetting[] {
  if (engine.name === 'uri') {
    const withW1 = `${engine.uri}${engine.uri.includes('?') ? '&' : '?'}w=1`;
    return [
      {
        label: 'w: 1 (primary memory; `w=1` in the URI)',
        start: async () => ({ uri: withW1, stop: async () => undefined }),
      },
      {
        label: "w: 'majority', j: true (Gavel's default)",
        start: async () => ({ uri: engine.uri, stop: async () => undefined }),
      },
    ];
  }
  const available = javaServerAvailable();
  if (!available.ok) {
    console.log(`
Durability cost: not measured (${available.reason}).`);
    return [];
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gavel-bench-durability-'));
  const labels: Record<EngineDurability, string> = {
    none: 'none: H2 background commit ~1 s later (before issue 12)',
    commit: 'commit: H2 store committed to the file (OS cache)',
    fsync: "fsync: committed and forced to disk (Gavel's default)",
  };
  return (['none', 'commit', 'fsync'] as const).map((durability) => ({
    label: labels[durability],
    start: async () => {
      const server = await startJavaServer({ backend: 'h2', dataFile: path.join(dir, `${durability}.mv`), durability });
      return {
        uri: server.uri,
        stop: async () => {
          await server.stop();
          rmSync(path.join(dir, `${durability}.mv`), { force: true });
        },
      };
    },
  }));
}

/** A counted impression shaped as the pipeline stores it. */
function eventDocument(sessionId: string, itemId: Types.ObjectId, position: number): Omit<TrackingEventRecord, '_id'> {
  const receivedAt = new Date();
  return {
    type: EventType.IMPRESSION,
    itemId,
    sessionId,
    source: TRACKING_SOURCES[position % TRACKING_SOURCES.length]!,
    position,
    receivedAt,
    ip: '127.0.0.1',
    userAgent: BROWSER_USER_AGENT,
    outcome: TrackingOutcome.ACCEPTED,
    dedupKey: `IMPRESSION:${sessionId}:${itemId.toHexString()}:${Math.floor(receivedAt.getTime() / 30_000)}`,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
