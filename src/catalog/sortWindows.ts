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
  /**
   * Items of the whole catalog the first window of a page holds (default 500: a page of 21 ACTIVE
   * items then reads ~275 matches, ~3 ms on DocumentDB; filters down to ~4% of the catalog still fill
   * it at once).
   */
  readonly firstWindowItems?: number;
  /** Positions sampled per sort key (default 2,000). */
  readonly sampleSize?: number;
  /** Age after which a query refreshes the sample in the background (default 60 s). */
  readonly refreshMs?: number;
  readonly clock?: Clock;
  /** Told when sampling fails (pages stay correct; they are then windowed by the last sample, or not). */
  readonly onSampleError?: (error: unknown) => void;
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
 * query continues strictly after that window's end, in a wider window (see {@link nextWindowItems}),
 * and the last one is unbounded.
 *
 * The ends are positions sampled from the collection (`$sample`), so that the first window holds about
 * `firstWindowItems` items of the catalog whatever the distribution of the key. Results never depend on
 * the sample: a window's matches come first in the order whatever its bounds, and a window that is too
 * narrow only costs another query. A stale sample therefore costs time, never correctness.
 */
export interface SortWindows {
  /**
   * Items of the catalog the first window of a page holds, or 0 where pages are not cut into windows
   * (then one unbounded query). Refreshes a stale sample in the background.
   */
  firstWindowItems(): number;
  /**
   * The end of a window of about `items` items of the catalog after `from` (or from the start of the
   * order), or undefined when the sample ends sooner: then the rest of the order is the last window.
   */
  endAfter(
    key: StoredSortKey,
    direction: 1 | -1,
    from: OrderPosition | undefined,
    items: number,
  ): OrderPosition | undefined;
  /** Probes the engine (first call only) and samples positions now; failures leave windows off. */
  refresh(): Promise<void>;
  /** Whether the engine sorts after fetching (as probed, or as `mode` forces); false until known. */
  sortsAfterFetching(): boolean;
}

/**
 * Items of the catalog the next window should hold, after one of `items` items held `found` of the
 * page's matches and `missing` are still wanted. After an empty window, twice as many: matches often
 * start abruptly further on (by ENDS_AT, the first ACTIVE auction of the demo catalog comes after
 * 6,500 SCHEDULED ones that end later), and a window that jumps far past where they start reads
 * thousands of them. Otherwise as many as the density seen promises, with a margin, between two and
 * four times the last window.
 */
export function nextWindowItems(items: number, found: number, missing: number): number {
  if (found === 0) return items * 2;
  const promised = Math.ceil(((missing * items) / found) * 1.25);
  return Math.min(items * 4, Math.max(items * 2, promised));
}

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
  const firstWindowItems = options.firstWindowItems ?? 500;
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
    firstWindowItems() {
      if (off) return 0;
      // A stale sample still bounds correctly; a fresh one is taken in the background.
      if (!sample || clock.now().getTime() - sample.takenAt >= refreshMs) void refresh();
      return sample ? firstWindowItems : 0;
    },
    endAfter(key, direction, from, items) {
      const ascending = sample?.positions[key] ?? [];
      if (!sample || ascending.length === 0) return undefined;
      // Positions in the page's order: index i of the order is ascending[at(i)].
      const at = (i: number) => (direction === 1 ? i : ascending.length - 1 - i);
      const before = (a: OrderPosition, b: OrderPosition) => direction * comparePositions(a, b) < 0;
      // The first sampled position strictly after `from` (binary search over the page's order).
      let start = 0;
      if (from) {
        let end = ascending.length;
        while (start < end) {
          const middle = (start + end) >> 1;
          if (before(from, ascending[at(middle)]!)) end = middle;
          else start = middle + 1;
        }
      }
      const itemsPerPosition = Math.max(1, sample.items) / ascending.length;
      const index = start + Math.max(1, Math.round(items / itemsPerPosition)) - 1;
      return index < ascending.length ? ascending[at(index)] : undefined;
    },
  };
}
