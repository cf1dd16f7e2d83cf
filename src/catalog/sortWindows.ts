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

/**
 * When sorted search queries are cut into windows of the sort order: `auto` turns them on where the
 * engine sorts after fetching every match (probed once with `explain`), `on` and `off` force it.
 */
export type SortWindowMode = 'auto' | 'on' | 'off';

/** Tuning of {@link createSortWindows}; the defaults suit catalogs from thousands to millions of items. */
export interface SortWindowOptions {
  readonly mode?: SortWindowMode;
  /** Items of the whole catalog the first window holds (default 1,000); each next one is 8× wider. */
  readonly firstWindowItems?: number;
  /** Positions sampled per sort key (default 2,000). */
  readonly sampleSize?: number;
  /** Age after which a query refreshes the sample in the background (default 60 s). */
  readonly refreshMs?: number;
  readonly clock?: Clock;
}

/**
 * Ends of windows over the sort orders of the catalog, for engines that cannot walk an index in order.
 *
 * `mongod` answers a page such as `find({status}).sort({createdAt: -1, _id: -1}).limit(21)` by walking
 * the `{status, createdAt, _id}` index in order and stopping after 21 entries, whatever the catalog's
 * size. DocumentDB 0.106 as built for these machines has no ordered index scan (its order-by pushdown
 * needs the optional `documentdb_extended_rum` access method): it collects every match through the
 * index, fetches them all and keeps the top 21, so a page costs as much as the number of matches
 * (~100 ms for the 55,000 ACTIVE items of a 100,000-item catalog, on every page). A window — "at or
 * before this position of the order" — is one more range condition on the same index, so the engine
 * only collects the matches inside it; when a window holds fewer matches than the page needs, the next
 * query continues strictly after that window's end, in a window eight times wider, and the last one is
 * unbounded.
 *
 * The ends are positions sampled from the collection (`$sample`), so that the first window holds about
 * `firstWindowItems` items of the catalog whatever the distribution of the key. Results never depend on
 * the sample: a window's matches come first in the order whatever its bounds, and a window that is too
 * narrow only costs another query. A stale sample therefore costs time, never correctness.
 */
export interface SortWindows {
  /**
   * The ends of successive windows after `after` (or from the start of the order): each query of a
   * page covers the positions after the previous end (or `after`) up to and including the next end,
   * and the last one everything after the last end. Empty when windows are off: one unbounded query.
   */
  ends(key: StoredSortKey, direction: 1 | -1, after: OrderPosition | undefined): OrderPosition[];
  /** Probes the engine (first call only) and samples positions now; failures leave windows off. */
  refresh(): Promise<void>;
  /** Whether the engine sorts after fetching (as probed, or as `mode` forces); false until known. */
  sortsAfterFetching(): boolean;
}

/** Each window holds this many times the items of the one before. */
const GROWTH = 8;
const sortKeys: readonly StoredSortKey[] = ['createdAt', 'priceAmount', 'endsAt', 'popularity'];

interface Sample {
  readonly takenAt: number;
  /** Items in the collection when sampled. */
  readonly items: number;
  /** Sampled positions of each key, ascending. */
  readonly positions: Readonly<Record<StoredSortKey, readonly OrderPosition[]>>;
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

/** Window ends over `model`'s collection; see {@link SortWindows}. */
export function createSortWindows(model: Model<AuctionItemRecord>, options: SortWindowOptions = {}): SortWindows {
  const mode = options.mode ?? 'auto';
  const firstWindowItems = options.firstWindowItems ?? 1_000;
  const sampleSize = options.sampleSize ?? 2_000;
  const refreshMs = options.refreshMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  let enabled: Promise<boolean> | undefined;
  /** Known once the engine was probed: false keeps `ends` from ever sampling. */
  let off = mode === 'off';
  let on = mode === 'on';
  let sample: Sample | undefined;
  let refreshing: Promise<void> | undefined;

  async function takeSample(): Promise<Sample> {
    const takenAt = clock.now().getTime();
    const projection = Object.fromEntries(sortKeys.map((key) => [key, 1]));
    const [items, rows] = await Promise.all([
      model.estimatedDocumentCount().exec(),
      model
        .aggregate<Pick<AuctionItemRecord, '_id' | StoredSortKey>>([
          { $sample: { size: sampleSize } },
          { $project: projection },
        ])
        .exec(),
    ]);
    const positionsOf = (key: StoredSortKey) =>
      rows
        .filter((row) => typeof row[key] === 'number' || row[key] instanceof Date)
        .map((row): OrderPosition => ({ value: row[key] as number | Date, id: row._id }))
        .sort(comparePositions);
    return {
      takenAt,
      items,
      positions: {
        createdAt: positionsOf('createdAt'),
        priceAmount: positionsOf('priceAmount'),
        endsAt: positionsOf('endsAt'),
        popularity: positionsOf('popularity'),
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
      } catch {
        // Keep the previous sample (or none: unbounded queries) and retry after `refreshMs`.
        sample = sample && { ...sample, takenAt: clock.now().getTime() };
      }
    })().finally(() => (refreshing = undefined));
    return refreshing;
  }

  return {
    refresh,
    sortsAfterFetching: () => on,
    ends(key, direction, after) {
      if (off) return [];
      // A stale sample still bounds correctly; a fresh one is taken in the background.
      if (!sample || clock.now().getTime() - sample.takenAt >= refreshMs) void refresh();
      const ascending = sample?.positions[key] ?? [];
      if (!sample || ascending.length === 0) return [];
      // Positions in the page's order: index i of the order is ascending[at(i)].
      const at = (i: number) => (direction === 1 ? i : ascending.length - 1 - i);
      const before = (a: OrderPosition, b: OrderPosition) => direction * comparePositions(a, b) < 0;
      // The first sampled position strictly after `after` (binary search over the page's order).
      let start = 0;
      if (after) {
        let end = ascending.length;
        while (start < end) {
          const middle = (start + end) >> 1;
          if (before(after, ascending[at(middle)]!)) end = middle;
          else start = middle + 1;
        }
      }
      const itemsPerPosition = Math.max(1, sample.items) / ascending.length;
      const ends: OrderPosition[] = [];
      let previous = start - 1;
      for (let items = firstWindowItems; ; items *= GROWTH) {
        const index = Math.max(previous + 1, start + Math.ceil(items / itemsPerPosition) - 1);
        if (index >= ascending.length) return ends;
        ends.push(ascending[at(index)]!);
        previous = index;
      }
    },
  };
}
