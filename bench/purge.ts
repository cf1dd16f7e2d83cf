/**
 * `npm run bench:purge` — issue 13's benchmark: the retention purge of BENCH_EVENTS (default
 * 1,000,000) expired raw events while the API ingests, against ingestion alone in the same run.
 * Reports trackImpressions latency (p50/p99) without and with the purge running and their ratio,
 * the purge's duration and rate, and checks the counts: every expired event deleted, every
 * ingested one kept. BENCH_ARCHIVE=1 archives to a temporary ARCHIVE_DIR first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Types } from 'mongoose';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { ms, printHeader, printTable, sendTrackingBatch, startBenchEnvironment, summarize } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BASELINE_SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ARCHIVE = process.env.BENCH_ARCHIVE === '1';
const ITEMS = 500;
const CLIENTS = 4;
const API_BATCH = 50;
const SEED_BATCH = 10_000;
const DAY = 86_400_000;
const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

async function main(): Promise<void> {
  const archiveDir = ARCHIVE ? mkdtempSync(path.join(tmpdir(), 'gavel-bench-archive-')) : undefined;
  const bench = await startBenchEnvironment({
    // The benchmark starts the purge itself.
    MAINTENANCE_INTERVAL_MS: '86400000',
    ...(archiveDir ? { ARCHIVE_DIR: archiveDir } : {}),
  });
  try {
    printHeader(
      `bench:purge — ${EVENTS.toLocaleString('en')} expired events, ${CLIENTS} clients × ${API_BATCH} events${ARCHIVE ? ', archived first' : ''}`,
      bench.engine,
    );
    const { app } = bench;
    const connection = app.database.connection;
    await createAuctionItemRepository(connection).insertMany(generateDemoCatalog(ITEMS, new Date()));
    const itemIds = (await auctionItemModel(connection).find({}, { _id: 1 }).lean().exec()).map((item) =>
      item._id.toHexString(),
    );

    // Expired events, 100 days old (counted: 90-day retention), a tenth of them audit rows.
    const events = connection.collection('tracking_events');
    const old = Date.now() - 100 * DAY;
    const seedStart = Date.now();
    for (let offset = 0; offset < EVENTS; offset += SEED_BATCH) {
      const count = Math.min(SEED_BATCH, EVENTS - offset);
      await events.insertMany(
        Array.from({ length: count }, (_, i) => ({
          _id: new Types.ObjectId(),
          type: 'IMPRESSION',
          itemId: new Types.ObjectId(itemIds[(offset + i) % ITEMS]),
          sessionId: `old-${offset + i}`,
          source: 'SEARCH',
          receivedAt: new Date(old + offset + i),
          ip: 'pseudonym-of-an-address',
          userAgent: USER_AGENT,
          outcome: (offset + i) % 10 === 0 ? 'FLAGGED' : 'ACCEPTED',
        })),
        { ordered: false },
      );
    }
    console.log(
      `seeded ${EVENTS.toLocaleString('en')} expired events in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`,
    );

    let sequence = 0;
    let accepted = 0;
    /** Runs CLIENTS clients until `done()`; returns the latencies (ms) and the refused mutations. */
    const ingest = async (done: () => boolean) => {
      const latencies: number[] = [];
      let refused = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          while (!done()) {
            const batch = Array.from({ length: API_BATCH }, () => ({
              itemId: itemIds[Math.floor(Math.random() * ITEMS)]!,
              sessionId: `c${client}-s${++sequence}`,
              source: 'SEARCH',
            }));
            const result = await sendTrackingBatch(app.url, 'impressions', batch);
            latencies.push(result.latency);
            // Failed (e.g. SERVICE_UNAVAILABLE: not stored within TRACKING_WRITE_TIMEOUT_MS) is reported, not fatal.
            if (result.error) refused++;
            else accepted += result.accepted;
          }
        }),
      );
      return { latencies, refused };
    };

    const baselineEnd = Date.now() + BASELINE_SECONDS * 1000;
    const alone = await ingest(() => Date.now() > baselineEnd);
    const baseline = summarize(alone.latencies);

    let purgeDone = false;
    const purgeStart = Date.now();
    const purging = app.services.retention.purge().finally(() => (purgeDone = true));
    const [report, concurrent] = await Promise.all([purging, ingest(() => purgeDone)]);
    const purgeSeconds = (Date.now() - purgeStart) / 1000;
    const during = summarize(concurrent.latencies);

    const deleted = report.types
      .filter((entry) => entry.dataType === 'COUNTED_EVENTS' || entry.dataType === 'AUDIT_EVENTS')
      .reduce((sum, entry) => sum + entry.count, 0);
    const left = await events.countDocuments({ receivedAt: { $lt: new Date(Date.now() - 30 * DAY) } });
    const kept = await events.countDocuments({ outcome: 'ACCEPTED', receivedAt: { $gte: new Date(Date.now() - DAY) } });
    printTable([
      {
        phase: 'ingest alone',
        mutations: baseline.samples,
        refused: alone.refused,
        p50: ms(baseline.median),
        p99: ms(baseline.p99),
        max: ms(Math.max(...alone.latencies)),
      },
      {
        phase: 'ingest during purge',
        mutations: during.samples,
        refused: concurrent.refused,
        p50: ms(during.median),
        p99: ms(during.p99),
        max: ms(Math.max(...concurrent.latencies)),
      },
    ]);
    console.log(
      `\npurge: ${deleted.toLocaleString('en')} deleted in ${purgeSeconds.toFixed(1)} s (${Math.round(deleted / purgeSeconds).toLocaleString('en')}/s)` +
        `${ARCHIVE ? `, ${report.types.reduce((sum, entry) => sum + entry.archived, 0).toLocaleString('en')} archived` : ''}; ` +
        `errors: ${report.types.filter((entry) => entry.error).length}`,
    );
    console.log(`ingest p99 during purge / alone = ${(during.p99 / baseline.p99).toFixed(2)}`);
    console.log(
      `check: expired left ${left} (expect 0), deleted ${deleted} (expect ${EVENTS}), ingested kept ${kept} (expect ${accepted})`,
    );
    if (left !== 0 || deleted !== EVENTS || kept !== accepted) process.exitCode = 1;
  } finally {
    await bench.stop();
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
