import type { Connection, PipelineStage, QueryFilter } from 'mongoose';
import {
  auctionItemModel,
  selectiveFilterIndexes,
  type AuctionItemRecord,
  type AuctionStatus,
} from './auctionItem.model';
import { escapeRegExp } from './searchTerms';
import { createTypoDictionary, type TypoDictionary } from './typoDictionary';
import {
  createSortWindows,
  type OrderPosition,
  type SampledItem,
  type SortWindowOptions,
  type StoredSortKey,
} from './sortWindows';

/** A validated search: every present condition must hold. */
export interface ItemSearch {
  /** Normalized query words; each must be a prefix of one of the item's words, or one of its corrections. */
  readonly words: readonly string[];
  /**
   * Typo tolerance: catalog words within a query word's allowed edits (see typos.ts), by query
   * word. An item may match a word through one of them; it then ranks below items matching as typed.
   */
  readonly corrections?: ReadonlyMap<string, readonly string[]>;
  readonly categories?: readonly string[];
  readonly statuses?: readonly AuctionStatus[];
  readonly sellerId?: string;
  /** The item carries all of these tags. */
  readonly tags?: readonly string[];
  readonly currency?: string;
  readonly price?: { readonly min?: number; readonly max?: number };
  readonly createdAt?: { readonly from?: Date; readonly to?: Date };
  readonly endsAt?: { readonly from?: Date; readonly to?: Date };
}

/** Stored fields a search can be ordered by; `relevance` is computed from the query words. */
export type SortKey = StoredSortKey | 'relevance';

/** A total order over results: the key, then `_id` in the same direction. */
export interface ItemOrder {
  readonly key: SortKey;
  readonly direction: 1 | -1;
}

/** A position in an order: the sort key's value and the id of the item there. */
export type Keyset = OrderPosition;

/** One page request in storage terms (the service has turned Relay arguments into this). */
export interface PageQuery {
  readonly search: ItemSearch;
  readonly order: ItemOrder;
  /** Items strictly after this position in `order`. */
  readonly after?: Keyset;
  readonly limit: number;
}

/** A result row: the item and its sort key value (for the cursor). */
export interface RankedItem {
  readonly record: AuctionItemRecord;
  readonly sortValue: number | Date;
}

/** Facet counts as stored values. */
export interface FacetCounts {
  readonly category: Array<{ value: string; count: number }>;
  readonly status: Array<{ value: string; count: number }>;
  /** Count per band, keyed by the band's lower bound. */
  readonly priceBands: Map<number, number>;
}

/** Lower bounds of the price bands (minor units): <10, 10–50, 50–100, 100–500, 500–1k, 1k–5k, 5k+. */
export const PRICE_BAND_BOUNDS = [0, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000] as const;

/** Weight of a query word found in the title versus only in the description or tags. */
const TITLE_WEIGHT = 3;
const BODY_WEIGHT = 1;
/**
 * Added for a word that has corrections when the item matches it as typed: more than the title
 * weights of every word together, so that fewer typos always rank first.
 */
const AS_TYPED_BONUS = 100;

function range<T>(bounds: { min?: T; max?: T } | { from?: T; to?: T } | undefined, inclusiveUpper: boolean) {
  if (!bounds) return undefined;
  const lower = 'min' in bounds ? bounds.min : 'from' in bounds ? bounds.from : undefined;
  const upper = 'max' in bounds ? bounds.max : 'to' in bounds ? bounds.to : undefined;
  const condition: Record<string, T> = {};
  if (lower !== undefined) condition.$gte = lower;
  if (upper !== undefined) condition[inclusiveUpper ? '$lte' : '$lt'] = upper;
  return Object.keys(condition).length > 0 ? condition : undefined;
}

/** Builds the MongoDB filter of a search; all values are typed, none is a user-supplied operator. */
export function searchFilter(search: ItemSearch): QueryFilter<AuctionItemRecord> {
  const filter: Record<string, unknown> = {};
  if (search.categories) filter.category = { $in: search.categories };
  if (search.statuses) filter.status = { $in: search.statuses };
  if (search.sellerId !== undefined) filter.sellerId = search.sellerId;
  if (search.tags) filter.tags = { $all: search.tags };
  if (search.currency !== undefined) filter.currency = search.currency;
  const price = range(search.price, true);
  if (price) filter.priceAmount = price;
  const createdAt = range(search.createdAt, false);
  if (createdAt) filter.createdAt = createdAt;
  const endsAt = range(search.endsAt, false);
  if (endsAt) filter.endsAt = endsAt;
  if (search.words.length > 0) {
    filter.$and = search.words.map((word) => {
      const asTyped = { searchTerms: { $regex: `^${escapeRegExp(word)}` } };
      const corrections = search.corrections?.get(word);
      return corrections ? { $or: [asTyped, { searchTerms: { $in: [...corrections] } }] } : asTyped;
    });
  }
  return filter as QueryFilter<AuctionItemRecord>;
}

/** Query operators for "later" and "earlier" in an order of direction `direction`. */
function operators(direction: 1 | -1) {
  return direction === 1
    ? { later: '$gt', laterOrAt: '$gte', earlier: '$lt', earlierOrAt: '$lte' }
    : { later: '$lt', laterOrAt: '$lte', earlier: '$gt', earlierOrAt: '$gte' };
}

const sameValue = (a: Keyset['value'], b: Keyset['value']) =>
  (a instanceof Date ? a.getTime() : a) === (b instanceof Date ? b.getTime() : b);

/**
 * Conditions for the positions strictly after `from` (the keyset seek) and up to and including
 * `end` (a window's end) in the order, written so that every condition or `$or` branch is a
 * conjunction an index on `{field, _id}` bounds by itself:
 * - after `from` only: `field <= v AND (field < v OR _id < id)` (descending): the plain range bounds
 *   the scan, the `$or` only splits the ties at `v` (as `field < v OR (field = v AND _id < id)`,
 *   DocumentDB scanned both branches over every remaining match);
 * - within one value (a window inside a run of ties, e.g. the many items at popularity 0):
 *   `field = v AND _id` after `from`'s id and up to `end`'s, bounded on both columns;
 * - otherwise a branch per part of the window: the rest of `from`'s ties, the values strictly between,
 *   and the ties of `end` up to its id. (A single range over both values would read every tie of
 *   either value, which for popularity 0 is most of the catalog.)
 */
function positionsBetween(
  field: string,
  direction: 1 | -1,
  from: Keyset | undefined,
  end: Keyset | undefined,
): Array<Record<string, unknown>> {
  const { later, laterOrAt, earlier, earlierOrAt } = operators(direction);
  if (!end) {
    if (!from) return [];
    return [
      { [field]: { [laterOrAt]: from.value } },
      { $or: [{ [field]: { [later]: from.value } }, { _id: { [later]: from.id } }] },
    ];
  }
  const endTies = { [field]: end.value, _id: { [earlierOrAt]: end.id } };
  if (!from) return [{ $or: [{ [field]: { [earlier]: end.value } }, endTies] }];
  if (sameValue(from.value, end.value)) {
    return [{ [field]: end.value, _id: { [later]: from.id, [earlierOrAt]: end.id } }];
  }
  return [
    {
      $or: [
        { [field]: from.value, _id: { [later]: from.id } },
        { [field]: { [later]: from.value, [earlier]: end.value } },
        endTies,
      ],
    },
  ];
}

/** `filter` and every one of `conditions` (merged into its `$and`, which may hold the word conditions). */
function allOf(filter: Record<string, unknown>, conditions: Array<Record<string, unknown>>): Record<string, unknown> {
  if (conditions.length === 0) return filter;
  return { ...filter, $and: [...((filter.$and as unknown[] | undefined) ?? []), ...conditions] };
}

/**
 * The index of a search's most selective filter (a seller, tags, words), if it has one. Such a search
 * is never cut into windows: its index has few matches (and not most sort keys), which the engine
 * reads and sorts faster than it would intersect them with a wide window of the order.
 */
function selectiveIndexOf(search: ItemSearch): Record<string, 1 | -1> | undefined {
  if (search.sellerId !== undefined) return selectiveFilterIndexes.sellerId;
  if (search.tags !== undefined) return selectiveFilterIndexes.tags;
  if (search.words.length > 0) return selectiveFilterIndexes.words;
  return undefined;
}

/**
 * Whether a sampled item matches a search that is cut into windows (status, category, currency, price
 * and dates: `searchFilter`'s semantics). It only places window ends (see sortWindows.ts): a mistake
 * here would cost queries, never change a page.
 */
function acceptsSampled(search: ItemSearch): (item: SampledItem) => boolean {
  const within = (value: number, lower?: number, upper?: number, inclusiveUpper = false) =>
    (lower === undefined || value >= lower) &&
    (upper === undefined || (inclusiveUpper ? value <= upper : value < upper));
  const time = (date?: Date) => date?.getTime();
  return (item) =>
    (search.categories === undefined || search.categories.includes(item.category)) &&
    (search.statuses === undefined || search.statuses.includes(item.status)) &&
    (search.currency === undefined || item.currency === search.currency) &&
    within(item.priceAmount, search.price?.min, search.price?.max, true) &&
    within(item.createdAt.getTime(), time(search.createdAt?.from), time(search.createdAt?.to)) &&
    within(item.endsAt.getTime(), time(search.endsAt?.from), time(search.endsAt?.to));
}

/** Aggregation expression: does any word of `arrayField` start with `prefix`? */
function anyWordStartsWith(arrayField: string, prefix: string) {
  return {
    $anyElementTrue: [
      {
        $map: {
          input: arrayField,
          as: 'word',
          in: { $eq: [{ $substrCP: ['$$word', 0, [...prefix].length] }, prefix] },
        },
      },
    ],
  };
}

/**
 * Relevance: per query word, TITLE_WEIGHT if it prefixes a title word, else BODY_WEIGHT (it matched
 * somewhere). A word with corrections adds AS_TYPED_BONUS where it matches as typed, and otherwise
 * TITLE_WEIGHT or BODY_WEIGHT by where its correction is.
 */
function relevanceScore(words: readonly string[], corrections?: ReadonlyMap<string, readonly string[]>) {
  return {
    $add: [
      0,
      ...words.map((word) => {
        const typos = corrections?.get(word);
        if (!typos) return { $cond: [anyWordStartsWith('$titleTerms', word), TITLE_WEIGHT, BODY_WEIGHT] };
        const inTitle = { $gt: [{ $size: { $setIntersection: ['$titleTerms', [...typos]] } }, 0] };
        return {
          $cond: [
            anyWordStartsWith('$titleTerms', word),
            AS_TYPED_BONUS + TITLE_WEIGHT,
            {
              $cond: [
                anyWordStartsWith('$searchTerms', word),
                AS_TYPED_BONUS + BODY_WEIGHT,
                { $cond: [inTitle, TITLE_WEIGHT, BODY_WEIGHT] },
              ],
            },
          ],
        };
      }),
    ],
  };
}

/** Search queries over the catalog: keyset pages, counts and facets. No policy here. */
export interface SearchRepository {
  /**
   * Up to `limit` items after the position, in order, each with its sort value. One round trip; on
   * engines that sort after fetching, one per window of the order the page spans (usually one).
   */
  findPage(query: PageQuery): Promise<RankedItem[]>;
  /** Number of items matching the search. One round trip. */
  count(search: ItemSearch): Promise<number>;
  /**
   * Typo tolerance: the catalog words each of these query words may have been meant as (see
   * `TypoDictionary.corrections`). One round trip, none when no word is long enough for a typo.
   */
  corrections(words: readonly string[]): Promise<Map<string, string[]>>;
  /** Counts by category, status and price band of the items matching the search. One round trip. */
  facets(search: ItemSearch): Promise<FacetCounts>;
  /**
   * Samples the positions that cut sorted pages into windows on engines that sort after fetching
   * (see sortWindows.ts); probes the engine the first time. Pages stay correct without it.
   */
  refreshSortWindows(): Promise<void>;
}

/** Options of {@link createSearchRepository}. */
export interface SearchRepositoryOptions {
  /** Windows of the sort order for engines without ordered index scans (default: probed). */
  readonly sortWindows?: SortWindowOptions;
  /** The process's typo dictionary (default: one of this repository's own). */
  readonly typoDictionary?: TypoDictionary;
}

/** Binds the search repository to a connection. */
export function createSearchRepository(
  connection: Connection,
  options: SearchRepositoryOptions = {},
): SearchRepository {
  const model = auctionItemModel(connection);
  const windows = createSortWindows(model, options.sortWindows);
  const dictionary = options.typoDictionary ?? createTypoDictionary(connection);

  async function findByStoredKey(query: PageQuery, key: StoredSortKey): Promise<RankedItem[]> {
    const filter = searchFilter(query.search) as Record<string, unknown>;
    const { direction } = query.order;
    const selectiveIndex = selectiveIndexOf(query.search);
    // An engine that sorts after fetching also costs every usable index alike (DocumentDB: 0) and,
    // given the seek's range on the sort key, intersects the sort key's index with the filter's,
    // reading both (~10x the filter's matches for a tag or a seller): it is told which index to read.
    const hint = selectiveIndex && windows.sortsAfterFetching() ? selectiveIndex : undefined;
    // One query per window of the order until the page is full: one in all where the engine walks
    // the index in order (no windows), and usually one where it does not.
    const accepts = !selectiveIndex && windows.active() ? acceptsSampled(query.search) : undefined;
    const records: AuctionItemRecord[] = [];
    let from = query.after;
    for (;;) {
      const missing = query.limit - records.length;
      const end = accepts && windows.endAfter(key, direction, from, windows.matchesPerWindow(missing), accepts);
      const find = model
        .find(allOf(filter, positionsBetween(key, direction, from, end)) as QueryFilter<AuctionItemRecord>)
        .sort({ [key]: direction, _id: direction })
        .limit(missing);
      if (hint) find.hint(hint);
      records.push(...(await find.lean<AuctionItemRecord[]>().exec()));
      if (records.length >= query.limit || !end) break;
      // The window held all its matches: the next one starts after it.
      from = end;
    }
    // Items never ranked yet have no stored popularity: they sort as 0.
    return records.map((record) => ({ record, sortValue: record[key] ?? 0 }));
  }

  async function findByRelevance(query: PageQuery): Promise<RankedItem[]> {
    // The score depends on the query, so matches are scored and sorted in the pipeline; the cost
    // grows with the number of matches (as with any relevance ranking), not with the page number.
    const pipeline: PipelineStage[] = [
      { $match: searchFilter(query.search) },
      { $addFields: { _score: relevanceScore(query.search.words, query.search.corrections) } },
    ];
    if (query.after) {
      pipeline.push({ $match: { $and: positionsBetween('_score', query.order.direction, query.after, undefined) } });
    }
    pipeline.push({ $sort: { _score: query.order.direction, _id: query.order.direction } }, { $limit: query.limit });
    const rows = await model.aggregate<AuctionItemRecord & { _score: number }>(pipeline).exec();
    return rows.map(({ _score, ...record }) => ({ record, sortValue: _score }));
  }

  return {
    findPage: (query) =>
      query.order.key === 'relevance' ? findByRelevance(query) : findByStoredKey(query, query.order.key),
    count: (search) => model.countDocuments(searchFilter(search)).exec(),
    corrections: (words) => dictionary.corrections(words),
    refreshSortWindows: () => windows.refresh(),
    facets: async (search) => {
      const [result] = await model
        .aggregate<{
          category: Array<{ _id: string; count: number }>;
          status: Array<{ _id: string; count: number }>;
          priceBands: Array<{ _id: number; count: number }>;
        }>([
          { $match: searchFilter(search) },
          {
            $facet: {
              category: [{ $group: { _id: '$category', count: { $sum: 1 } } }],
              status: [{ $group: { _id: '$status', count: { $sum: 1 } } }],
              priceBands: [
                {
                  $bucket: {
                    groupBy: '$priceAmount',
                    boundaries: [...PRICE_BAND_BOUNDS, Number.MAX_SAFE_INTEGER],
                    default: 'other',
                    output: { count: { $sum: 1 } },
                  },
                },
              ],
            },
          },
        ])
        .exec();
      const byCountThenValue = (a: { value: string; count: number }, b: { value: string; count: number }) =>
        b.count - a.count || a.value.localeCompare(b.value);
      return {
        category: (result?.category ?? []).map(({ _id, count }) => ({ value: _id, count })).sort(byCountThenValue),
        status: (result?.status ?? []).map(({ _id, count }) => ({ value: _id, count })).sort(byCountThenValue),
        priceBands: new Map((result?.priceBands ?? []).map(({ _id, count }) => [_id, count])),
      };
    },
  };
}
