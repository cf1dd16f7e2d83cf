import type { Model, Types } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock';
import type { AuctionItemRecord } from './auctionItem.model';

/** Stored fields a search page can be sorted by (relevance is computed per query). */
export type StoredSortKey = 'createdAt' | 'priceAmount' | 'endsAt' | 'popularity';

/** A position in a sort order: the sort key's value and the id that breaks its ties. */
export interface OrderPosition {
  readonly value: number | Date;
  readonly id: Types.ObjectId;
}

/** The fields of a sampled item: the sort keys and what windowed filters test. */
export type SampledItem = Pick<
  AuctionItemRecord,
  '_id' | StoredSortKey | 'status' | 'category' | 'currency' | 'priceAmount' | 'createdAt' | 'endsAt'
>;

/**
 * When sorted search queries are cut into windows of the sort order: `auto` turns them on where the
 * engine sorts after fetching every match (probed once with `explain`), `on` and `off` force it.
 */
export type SortWindowMode = 'auto' | 'on' | 'off';

/** Tuning of {@link createSortWindows}; the defaults suit catalogs from thousands to millions of items. */
export interface SortWindowOptions {
  readonly mode?: SortWindowMode;
  /**
   * Matches a window is expected to hold, in pages (default 3): a page of 21 then reads ~60 matches
   * (~2-3 ms on DocumentDB) and rarely needs a second window.
   */
  readonly pagesPerWindow?: number;
  /** Items sampled (default 2,000). */
  readonly sampleSize?: number;
  /** Age after which a page refreshes the sample in the background (default 60 s). */
  readonly refreshMs?: number;
  readonly clock?: Clock;
  /** Told when sampling fails (pages stay correct; they are then windowed by the last sample, or not). */
  readonly onSampleError?: (error: unknown) => void;
}

/**
 * Windows over the sort orders of the catalog, for engines that cannot walk an index in order.
 *
 * `mongod` answers a page such as `find({status}).sort({createdAt: -1, _id: -1}).limit(21)` by walking
 * the `{status, createdAt, _id}` index in order and stopping after 21 entries, whatever the catalog's
 * size. DocumentDB 0.106 as built for these machines has no ordered index scan (its order-by pushdown
 * needs the optional `documentdb_extended_rum` access method): it collects every match through the
 * index, fetches them all and keeps the top 21, so a page costs as much as the number of matches
 * (~100 ms for the 55,000 ACTIVE items of a 100,000-item catalog, on every page). A window — "up to
 * this position of the order" — is one more range condition on the same index, so the engine only
 * collects the matches inside it; when a window holds fewer matches than the page needs, the next query
 * continues strictly after that window's end, and the last one is unbounded.
 *
 * Window ends come from a sample of the catalog (`$sample`): the next window ends at the sampled item
 * by which the sample predicts `pagesPerWindow` pages of matches, counting only the sampled items the
 * page's filter accepts. So a window holds about the same number of matches whatever the filter, the
 * distribution of the key, or how matches cluster along the order (by ENDS_AT, the first ACTIVE item
 * of the demo catalog comes after 6,500 SCHEDULED ones that end later: a window counted in items
 * either takes several empty queries to get there or overshoots into thousands of matches).
 * Results never depend on the sample: a window's matches come first in the order whatever its bounds,
 * and a window that is too narrow only costs another query. A stale sample costs time, never
 * correctness.
 */
export interface SortWindows {
  /**
   * Whether pages are cut into windows: the engine sorts after fetching and a sample exists.
   * Refreshes a stale sample in the background.
   */
  active(): boolean;
  /**
   * The end of the next window after `from` (or from the start of the order): the sampled item by
   * which the sample predicts `matches` items accepted by `accepts`, or undefined when it predicts
   * fewer in the rest of the order, which is then the last window.
   */
  endAfter(
    key: StoredSortKey,
    direction: 1 | -1,
    from: OrderPosition | undefined,
    matches: number,
    accepts: (item: SampledItem) => boolean,
  ): OrderPosition | undefined;
  /** Matches a window should hold for a page of `limit` items. */
  matchesPerWindow(limit: number): number;
  /** Probes the engine (first call only) and samples the catalog now; failures leave windows off. */
  refresh(): Promise<void>;
  /** Whether the engine sorts after fetching (as probed, or as `mode` forces); false until known. */
  sortsAfterFetching(): boolean;
}

const sortKeys: readonly StoredSortKey[] = ['createdAt', 'priceAmount', 'endsAt', 'popularity'];

interface Sample {
  readonly takenAt: number;
  /** Items in the collection per sampled item. */
  readonly itemsPerSampled: number;
  /** The sampled items that have each key, ascending by (key, _id). */
  readonly ordered: Readonly<Record<StoredSortKey, readonly SampledItem[]>>;
}

function compareValues(a: number | Date, b: number | Date): number {
  return (a instanceof Date ? a.getTime() : a) - (b instanceof Date ? b.getTime() : b);
}

/** Ascending order of positions: by value, then by id (ObjectIds compare as their hex strings). */
function comparePositions(a: OrderPosition, b: OrderPosition): number {
  const byValue = compareValues(a.value, b.value);
  if (byValue !== 0) return byValue;
  const [x, y] = [a.id.toHexString(), b.id.toHexString()];
  return x < y ? -1 : x > y ? 1 : 0;
}

const positionOf = (item: SampledItem, key: StoredSortKey): OrderPosition => ({
  value: item[key] as number | Date,
  id: item._id,
});

/**
 * Whether the engine sorts a page after fetching its matches instead of walking the index in order:
 * the plan of a sort-only page has a blocking SORT above an index scan. Engines without `explain`
 * (mongo-java-server, which ignores secondary indexes, so a window would not bound anything) answer no.
 */
async function engineSortsAfterFetching(model: Model<AuctionItemRecord>): Promise<boolean> {
  try {
    const plan = JSON.stringify(await model.find({}).sort({ createdAt: -1, _id: -1 }).limit(1).explain());
    return plan.includes('"stage":"IXSCAN"') && plan.includes('"stage":"SORT"');
  } catch {
    return false;
  }
}

/** Windows over `model`'s collection; see {@link SortWindows}. */
export function createSortWindows(model: Model<AuctionItemRecord>, options: SortWindowOptions = {}): SortWindows {
  const mode = options.mode ?? 'auto';
  const pagesPerWindow = options.pagesPerWindow ?? 3;
  const sampleSize = options.sampleSize ?? 2_000;
  const refreshMs = options.refreshMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  let enabled: Promise<boolean> | undefined;
  /** Known once the engine was probed: false keeps pages from ever sampling. */
  let off = mode === 'off';
  let on = mode === 'on';
  let sample: Sample | undefined;
  let refreshing: Promise<void> | undefined;

  async function takeSample(): Promise<Sample> {
    const takenAt = clock.now().getTime();
    const fields: ReadonlyArray<keyof SampledItem> = [...sortKeys, 'status', 'category', 'currency'];
    const items = await model.estimatedDocumentCount().exec();
    // A catalog no larger than the sample is read whole: exact positions, and no `$sample` (which
    // mongo-java-server 1.47 sometimes fails, sorting by a random comparator: "Comparison method
    // violates its general contract!"). The limit only matters when the estimate is stale.
    const rows = await model
      .aggregate<SampledItem>([
        items <= sampleSize ? { $limit: sampleSize } : { $sample: { size: sampleSize } },
        { $project: Object.fromEntries(fields.map((field) => [field, 1])) },
      ])
      .exec();
    const orderedBy = (key: StoredSortKey) =>
      rows
        .filter((row) => typeof row[key] === 'number' || row[key] instanceof Date)
        .sort((a, b) => comparePositions(positionOf(a, key), positionOf(b, key)));
    return {
      takenAt,
      itemsPerSampled: rows.length === 0 ? 1 : Math.max(1, items) / rows.length,
      ordered: {
        createdAt: orderedBy('createdAt'),
        priceAmount: orderedBy('priceAmount'),
        endsAt: orderedBy('endsAt'),
        popularity: orderedBy('popularity'),
      },
    };
  }

  function refresh(): Promise<void> {
    refreshing ??= (async () => {
      enabled ??= mode === 'auto' ? engineSortsAfterFetching(model) : Promise.resolve(mode === 'on');
      if (!(await enabled)) {
        off = true;
        return;
      }
      on = true;
      try {
        sample = await takeSample();
      } catch (error) {
        options.onSampleError?.(error);
        // Keep the previous sample (or none: unbounded queries) and retry after `refreshMs`.
        sample = sample && { ...sample, takenAt: clock.now().getTime() };
      }
    })().finally(() => (refreshing = undefined));
    return refreshing;
  }

  return {
    refresh,
    sortsAfterFetching: () => on,
    matchesPerWindow: (limit) => Math.ceil(pagesPerWindow * limit),
    active() {
      if (off) return false;
      // A stale sample still bounds correctly; a fresh one is taken in the background.
      if (!sample || clock.now().getTime() - sample.takenAt >= refreshMs) void refresh();
      return sample !== undefined;
    },
    endAfter(key, direction, from, matches, accepts) {
      if (!sample) return undefined;
      const ordered = sample.ordered[key];
      // Sampled items in the page's order: index i of the order is ordered[at(i)].
      const at = (i: number) => (direction === 1 ? i : ordered.length - 1 - i);
      const before = (a: OrderPosition, b: OrderPosition) => direction * comparePositions(a, b) < 0;
      // The first sampled item strictly after `from` (binary search over the page's order).
      let start = 0;
      if (from) {
        let end = ordered.length;
        while (start < end) {
          const middle = (start + end) >> 1;
          if (before(from, positionOf(ordered[at(middle)]!, key))) end = middle;
          else start = middle + 1;
        }
      }
      // Each accepted sampled item stands for `itemsPerSampled` matches of the catalog.
      let wanted = Math.max(1, Math.ceil(matches / sample.itemsPerSampled));
      for (let i = start; i < ordered.length; i++) {
        const item = ordered[at(i)]!;
        if (accepts(item) && --wanted === 0) return positionOf(item, key);
      }
      return undefined;
    },
  };
}
