/**
 * `npm run bench:popularity` — issue 22, item 7: what the popularity refresh costs to store its
 * scores, on a catalog of BENCH_ITEMS (default 100,000) items of which BENCH_RANKED_SHARE (default
 * a fifth) have impressions in the window, skewed (a few items get most of them).
 *
 * The same refreshes are stored two ways, in the same run, each from an unranked catalog:
 * - baseline: the store before this change — every ranked item's exact impression count sent as a
 *   conditional update (`popularity != score`), then every other item that had a score zeroed
 *   (`_id` not among the ranked);
 * - now: `setPopularity` of the scores `refreshPopularity` stores ({@link popularityScore}: exact
 *   below 100, then two significant digits), which reads the stored scores and writes what changed.
 *
 * Refreshes, in order: the first (every ranked item gets a score); a minute of traffic (every item
 * with 100 impressions or more gets 0.1–0.3% more, a tenth of the others 1–5 more, 1% of the ranked
 * items leave the window and as many unranked items enter it); an hour of traffic on the busiest
 * items (each of the top 1% gets 5% more); no change.
 * Reported per refresh: seconds, items written, and now/baseline.
 */
import type { AnyBulkWriteOperation } from 'mongoose';
import { Types } from 'mongoose';
import { popularityScore } from '../src/analytics/popularity';
import { auctionItemModel, type AuctionItemRecord } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { seededRandom } from '../src/catalog/demoCatalog';
import {
  benchCatalog,
  loadAverage,
  loadCatalogInBulk,
  printHeader,
  printTable,
  startBenchEnvironment,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const RANKED_SHARE = Number(process.env.BENCH_RANKED_SHARE ?? 0.2);

/** Impressions per item over the window, for each refresh in turn (see the file's comment). */
function refreshes(ids: readonly string[]): Array<[string, Map<string, number>]> {
  const random = seededRandom(42);
  const rankedCount = Math.round(ids.length * RANKED_SHARE);
  // Skewed: the item of rank r has about 20,000 / r impressions (at least 1).
  const first = new Map(
    ids.slice(0, rankedCount).map((id, rank) => [id, Math.max(1, Math.round(20_000 / (rank + 1)))]),
  );
  const minute = new Map(first);
  const ranked = [...first.keys()];
  for (const id of ranked) {
    const count = minute.get(id)!;
    // A busy item gets impressions every minute (0.1–0.3% of its day's); a tenth of the rest 1–5.
    if (count >= 100) minute.set(id, count + Math.ceil(count * 0.001 * (1 + 2 * random())));
    else if (random() < 0.1) minute.set(id, count + 1 + Math.floor(random() * 5));
  }
  const leaving = ranked.filter(() => random() < 0.01);
  for (const id of leaving) minute.delete(id);
  for (const id of ids.slice(rankedCount, rankedCount + leaving.length)) minute.set(id, 1);
  const hour = new Map(minute);
  for (const id of ranked.slice(0, Math.ceil(rankedCount / 100)))
    if (hour.has(id)) hour.set(id, Math.round(hour.get(id)! * 1.05));
  return [
    ['first refresh', first],
    ['a minute of traffic', minute],
    ['an hour on the busiest 1%', hour],
    ['no change', hour],
  ];
}

async function main(): Promise<void> {
  // No popularity refresh of the app's own during the run.
  const bench = await startBenchEnvironment({ POPULARITY_REFRESH_MS: '86400000' });
  try {
    printHeader(
      `bench:popularity — ${ITEMS.toLocaleString('en')} items, ${Math.round(RANKED_SHARE * 100)}% ranked`,
      bench.engine,
    );
    const connection = bench.app.database.connection;
    const model = auctionItemModel(connection);
    const repository = createAuctionItemRepository(connection);
    const loadSeconds = await loadCatalogInBulk(
      connection,
      benchCatalog(ITEMS).map((item) => ({ ...item, popularity: 0 })),
    );
    console.log(`catalog loaded in ${loadSeconds.toFixed(1)} s; load average ${loadAverage()}`);
    const ids = (await model.find({}, { _id: 1 }).lean().exec()).map((item) => item._id.toHexString());
    const plan = refreshes(ids);

    const storeBaseline = async (impressions: Map<string, number>) => {
      const operations: Array<AnyBulkWriteOperation<AuctionItemRecord>> = [...impressions].map(([id, popularity]) => ({
        updateOne: {
          filter: { _id: new Types.ObjectId(id), popularity: { $ne: popularity } },
          update: { $set: { popularity } },
        },
      }));
      const result = operations.length > 0 ? await model.bulkWrite(operations, { ordered: false }) : undefined;
      const zeroed = await model
        .updateMany(
          { popularity: { $gt: 0 }, _id: { $nin: [...impressions.keys()].map((id) => new Types.ObjectId(id)) } },
          { $set: { popularity: 0 } },
        )
        .exec();
      return (result?.modifiedCount ?? 0) + zeroed.modifiedCount;
    };
    const storeNow = async (impressions: Map<string, number>) => {
      const scores = new Map([...impressions].map(([id, count]) => [id, popularityScore(count)]));
      const { written, zeroed } = await repository.setPopularity(scores);
      return written + zeroed;
    };
    const run = async (store: (impressions: Map<string, number>) => Promise<number>) => {
      await model.updateMany({ popularity: { $gt: 0 } }, { $set: { popularity: 0 } }).exec();
      const results = [];
      for (const [name, impressions] of plan) {
        const started = performance.now();
        const written = await store(impressions);
        results.push({ name, seconds: (performance.now() - started) / 1000, written });
      }
      return results;
    };
    const baseline = await run(storeBaseline);
    const now = await run(storeNow);
    printTable(
      plan.map(([name, impressions], index) => ({
        refresh: name,
        'ranked items': impressions.size,
        'baseline s': baseline[index]!.seconds.toFixed(2),
        'baseline writes': baseline[index]!.written,
        'now s': now[index]!.seconds.toFixed(2),
        'now writes': now[index]!.written,
        'now/baseline': (now[index]!.seconds / baseline[index]!.seconds).toFixed(2),
      })),
    );
    console.log(`\nload average after: ${loadAverage()}`);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
