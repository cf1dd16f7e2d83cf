import { LRUCache } from 'lru-cache';
import type { Connection, PipelineStage } from 'mongoose';
import { ensureSchemaIndexes } from '../db/indexes';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { incrementCounters } from '../db/counters';
import { auctionItemModel, AuctionStatus, type AuctionItemRecord } from './auctionItem.model';
import { PRICE_BAND_BOUNDS, searchFilter, type ItemSearch } from './search.repository';
import { escapeRegExp } from './searchTerms';
import {
  querySuggestionModel,
  SuggestionKind,
  suggestionCounterModel,
  type SuggestionCounterRecord,
} from './suggestion.model';
import { chunks } from '../shared/chunks';

/** The fields of an item its suggestion counters depend on. */
export type CountedItem = Pick<
  AuctionItemRecord,
  'status' | 'category' | 'searchTerms' | 'titleTerms' | 'tags' | 'sellerId' | 'priceAmount'
>;

/** One item written: as it was (null: new) and as it is now (null: gone). */
export interface ItemChange {
  readonly before: CountedItem | null;
  readonly after: CountedItem | null;
}

/** A completion and how many lots it finds. */
export interface CountedTerm {
  readonly term: string;
  readonly openLots: number;
}

/** A counter that differs from a recount of the open lots. */
export interface CounterDifference {
  readonly kind: SuggestionKind;
  readonly scope: string;
  readonly term: string;
  readonly stored: { readonly open: number; readonly shown: number };
  readonly counted: { readonly open: number; readonly shown: number };
}

/** Which terms to read: those beginning with a prefix, or exactly these. */
export type TermMatch = { readonly prefix: string } | { readonly terms: readonly string[] };

/** The scope of the whole catalog (no filter). */
const WHOLE_CATALOG = '';
/** The scope of one seller's lots (a category slug never holds a colon). */
const sellerScope = (sellerId: string) => `seller:${sellerId}`;
/** The scope of the lots priced in one band of {@link PRICE_BAND_BOUNDS}, named by its lower bound. */
const priceBandScope = (lowerBound: number) => `price:${lowerBound}`;
/** The scope of the lots priced exactly at one bound: what an inclusive `price.max` on a bound adds. */
const priceAtScope = (bound: number) => `price=${bound}`;

/** The price scopes an item counts in: its band, and its exact price when that is a band's bound. */
function priceScopesOf(priceAmount: number): string[] {
  const bounds = PRICE_BAND_BOUNDS as readonly number[];
  const band = bounds.filter((bound) => priceAmount >= bound).at(-1) ?? 0;
  const isBound = bounds.includes(priceAmount);
  return isBound ? [priceBandScope(band), priceAtScope(priceAmount)] : [priceBandScope(band)];
}

/**
 * The counter scopes whose sum is the lots a price range selects (`min` inclusive, `max`
 * inclusive, as `auctionItems`' filter): the bands wholly inside it, and the lots priced exactly
 * at `max`. Null when a bound is not a band's bound: the counters cannot tell that range apart.
 */
function priceRangeScopes(price: { readonly min?: number; readonly max?: number }): string[] | null {
  const bounds = PRICE_BAND_BOUNDS as readonly number[];
  const { min = 0, max } = price;
  if (!bounds.includes(min) || (max !== undefined && !bounds.includes(max))) return null;
  const scopes = bounds
    .filter((lower, index) => lower >= min && (max === undefined || (bounds[index + 1] ?? Infinity) <= max))
    .map(priceBandScope);
  if (max !== undefined) scopes.push(priceAtScope(max));
  return scopes;
}

/**
 * The counter scopes whose counters, summed, are what `search` selects among open lots: the
 * whole catalog (undefined), its categories, its seller, or its price range (one of them at a
 * time). Null when the counters do not keep what it selects (query words, tags, dates, currency,
 * another status, several of those filters together, a price range off the bands' bounds).
 */
export function counterScopes(search: ItemSearch): readonly string[] | undefined | null {
  const { words, categories, statuses, sellerId, price, ...others } = search;
  if (words.length > 0 || Object.values(others).some((value) => value !== undefined)) return null;
  if (statuses !== undefined && !(statuses.length === 1 && statuses[0] === AuctionStatus.ACTIVE)) return null;
  const priced = price !== undefined && (price.min !== undefined || price.max !== undefined);
  if ([categories !== undefined, sellerId !== undefined, priced].filter(Boolean).length > 1) return null;
  if (categories) return categories;
  if (sellerId !== undefined) return [sellerScope(sellerId)];
  return priced ? priceRangeScopes(price) : undefined;
}
/** Reads whose last answer is remembered (see `counted`). */
const LOWEST_COUNTS = 50_000;
/** Documents per batch of a recount's reads. */
const BATCH = 1_000;

/** A query and how many searchers succeeded with it (see `SearchesRepository.successfulQueries`). */
export interface SuccessfulQuery {
  readonly query: string;
  readonly searchers: number;
}

/** The suggestion counters' and past successful queries' database access (see suggestion.model.ts). */
export interface SuggestionRepository {
  /**
   * Moves the counters by what the written items contribute now minus what they contributed
   * before: an item counts while it is ACTIVE. Two round trips whatever the number of items.
   */
  itemsChanged(changes: readonly ItemChange[]): Promise<void>;
  /**
   * The terms of `kind` that `match` selects, with their counters over `scopes` (categories; none:
   * the whole catalog), most open lots first. One indexed read.
   */
  counted(
    kind: SuggestionKind,
    match: TermMatch,
    scopes: readonly string[] | undefined,
    limit: number,
  ): Promise<CountedTerm[]>;
  /**
   * The same, counted over the lots that `search` selects (ACTIVE unless it names statuses): for
   * filters the counters do not keep (price, seller, tags, dates, several words). One aggregation,
   * whose cost grows with the lots the filter selects.
   */
  live(kind: SuggestionKind, match: TermMatch, search: ItemSearch, limit: number): Promise<CountedTerm[]>;
  /**
   * Counts every open lot again and compares each counter with its count; with `repair`, sets the
   * differing counters to their counts (the counters of a database written before they existed, or
   * after a write they missed). Writes that land meanwhile may be counted off: repair again when
   * writes are quiet. Returns the counters that differed.
   */
  recount(options: { readonly repair: boolean }): Promise<CounterDifference[]>;
  /**
   * Whether the counters lack a scope of the open lots: none stored at all, or none per seller
   * (a database from before those scopes). A recount fills them.
   */
  lacksScopes(): Promise<boolean>;
  /** The past successful queries that begin with `prefix`, most searchers first. One indexed read. */
  queries(prefix: string, limit: number): Promise<SuccessfulQuery[]>;
  /**
   * Stores `queries` as the past successful queries built at `builtAt`, and removes those an
   * earlier build stored that this one did not find.
   */
  replaceQueries(queries: readonly SuccessfulQuery[], builtAt: Date): Promise<void>;
  /** Creates the collection and its indexes. */
  ensureIndexes(): Promise<void>;
}

/** Every prefix of `term` by letters (not UTF-16 units), shortest first. */
function prefixesOf(term: string): string[] {
  const letters = [...term];
  return letters.map((_, index) => letters.slice(0, index + 1).join(''));
}

/** Counter changes by counter id. */
type Deltas = Map<string, { kind: SuggestionKind; scope: string; term: string; open: number; shown: number }>;

/** Adds `sign` × what `item` contributes (nothing unless ACTIVE) to `deltas`. */
function addContribution(deltas: Deltas, item: CountedItem | null, sign: 1 | -1): void {
  if (!item || item.status !== AuctionStatus.ACTIVE) return;
  const add = (kind: SuggestionKind, scope: string, term: string, shown: boolean) => {
    const id = `${kind}:${scope}:${term}`;
    const delta = deltas.get(id) ?? { kind, scope, term, open: 0, shown: 0 };
    delta.open += sign;
    if (shown) delta.shown += sign;
    deltas.set(id, delta);
  };
  const titleTerms = new Set(item.titleTerms);
  // Besides the whole catalog and its category, the narrower scopes a filter may name alone.
  const narrower = [sellerScope(item.sellerId), ...priceScopesOf(item.priceAmount)];
  for (const scope of [WHOLE_CATALOG, item.category, ...narrower]) {
    for (const term of new Set(item.searchTerms)) add(SuggestionKind.WORD, scope, term, titleTerms.has(term));
    for (const tag of new Set(item.tags)) add(SuggestionKind.TAG, scope, tag, true);
  }
  for (const scope of [WHOLE_CATALOG, ...narrower]) add(SuggestionKind.CATEGORY, scope, item.category, true);
}

/** The condition on a counter's (or a lot's) term field that `match` selects. */
function termCondition(match: TermMatch): Record<string, unknown> {
  return 'prefix' in match ? { $regex: `^${escapeRegExp(match.prefix)}` } : { $in: [...match.terms] };
}

/** Binds the suggestion counters to a connection. */
export function createSuggestionRepository(connection: Connection): SuggestionRepository {
  const counters = suggestionCounterModel(connection);
  const counterDocuments = connection.collection<SuggestionCounterRecord>(counters.collection.collectionName);
  /** Per read (kind, scope, match, limit): the lowest count of its last full answer. */
  const lowestCounts = new LRUCache<string, number>({ max: LOWEST_COUNTS });
  const items = auctionItemModel(connection);
  const pastQueries = querySuggestionModel(connection);

  /** Moves the counters `deltas` name, creating the missing ones. */
  const applyDeltas = (deltas: Deltas): Promise<void> =>
    incrementCounters(
      counterDocuments,
      [...deltas.entries()]
        .filter(([, delta]) => delta.open !== 0 || delta.shown !== 0)
        .map(([_id, { kind, scope, term, open, shown }]) => ({
          _id,
          created: { _id, kind, scope, term, open: 0, shown: 0, prefixes: prefixesOf(term) },
          inc: { open, shown },
        })),
    );

  return {
    itemsChanged: async (changes) => {
      const deltas: Deltas = new Map();
      for (const { before, after } of changes) {
        addContribution(deltas, before, -1);
        addContribution(deltas, after, 1);
      }
      await applyDeltas(deltas);
    },
    counted: async (kind, match, scopes, limit) => {
      const scopeList = scopes ?? [WHOLE_CATALOG];
      const lookup = 'prefix' in match ? { prefixes: match.prefix } : { term: { $in: [...match.terms] } };
      if (scopeList.length === 1) {
        const read = (floor: number | undefined) =>
          counters
            .find(
              { kind, scope: scopeList[0], ...lookup, shown: { $gt: 0 }, ...(floor ? { open: { $gte: floor } } : {}) },
              { term: 1, open: 1 },
            )
            .sort({ open: -1, term: 1 })
            .limit(limit)
            .lean<Array<{ term: string; open: number }>>()
            .exec();
        // An engine that sorts after fetching (DocumentDB) reads every counter of a short prefix
        // ("k": thousands) to keep the first few. The last answer's lowest count bounds the read to
        // the counters at least that high (an index range); when fewer than `limit` are, some
        // counters fell meanwhile and the read is repeated unbounded, so the answer stays exact.
        const key = `${kind}:${scopeList[0]}:${JSON.stringify(match)}:${limit}`;
        const floor = lowestCounts.get(key);
        let rows = floor === undefined ? [] : await read(floor);
        if (rows.length < limit) rows = await read(undefined);
        if (rows.length === limit) lowestCounts.set(key, rows[limit - 1]!.open);
        else lowestCounts.delete(key);
        return rows.map((row) => ({ term: row.term, openLots: row.open }));
      }
      // Several categories: their counters add up (a lot has one category).
      const rows = await counters
        .aggregate<{ _id: string; open: number }>([
          { $match: { kind, scope: { $in: scopeList }, ...lookup } },
          { $group: { _id: '$term', open: { $sum: '$open' }, shown: { $sum: '$shown' } } },
          { $match: { shown: { $gt: 0 } } },
          { $sort: { open: -1, _id: 1 } },
          { $limit: limit },
        ])
        .exec();
      return rows.map((row) => ({ term: row._id, openLots: row.open }));
    },
    live: async (kind, match, search, limit) => {
      // `search.statuses` may be present and undefined (no status filter): open lots then.
      const filter = searchFilter({ ...search, statuses: search.statuses ?? [AuctionStatus.ACTIVE] });
      const condition = termCondition(match);
      const field = kind === SuggestionKind.WORD ? 'searchTerms' : kind === SuggestionKind.TAG ? 'tags' : 'category';
      const stages: PipelineStage[] = [
        { $match: { $and: [filter, { [field]: condition }] } },
        { $project: { _id: 0, term: `$${field}`, titleTerms: 1 } },
      ];
      if (kind !== SuggestionKind.CATEGORY) stages.push({ $unwind: '$term' }, { $match: { term: condition } });
      stages.push(
        {
          $group: {
            _id: '$term',
            open: { $sum: 1 },
            // A word is offered only if some lot has it in the title (as the counters do).
            shown:
              kind === SuggestionKind.WORD
                ? { $sum: { $cond: [{ $in: ['$term', '$titleTerms'] }, 1, 0] } }
                : { $sum: 1 },
          },
        },
        { $match: { shown: { $gt: 0 } } },
        { $sort: { open: -1, _id: 1 } },
        { $limit: limit },
      );
      const rows = await items.aggregate<{ _id: string; open: number }>(stages).exec();
      return rows.map((row) => ({ term: row._id, openLots: row.open }));
    },
    recount: async ({ repair }) => {
      const counted: Deltas = new Map();
      const open = items
        .find(
          { status: AuctionStatus.ACTIVE },
          { status: 1, category: 1, searchTerms: 1, titleTerms: 1, tags: 1, sellerId: 1, priceAmount: 1 },
        )
        .lean<CountedItem[]>()
        .cursor({ batchSize: BATCH });
      for await (const item of open) addContribution(counted, item, 1);
      const differences: CounterDifference[] = [];
      const compare = (
        id: string,
        stored: Pick<SuggestionCounterRecord, 'kind' | 'scope' | 'term' | 'open' | 'shown'>,
      ) => {
        const count = counted.get(id) ?? { open: 0, shown: 0 };
        if (count.open !== stored.open || count.shown !== stored.shown)
          differences.push({
            kind: stored.kind,
            scope: stored.scope,
            term: stored.term,
            stored: { open: stored.open, shown: stored.shown },
            counted: { open: count.open, shown: count.shown },
          });
      };
      const stored = counters
        .find({}, { kind: 1, scope: 1, term: 1, open: 1, shown: 1 })
        .lean<SuggestionCounterRecord[]>()
        .cursor({ batchSize: BATCH });
      const seen = new Set<string>();
      for await (const counter of stored) {
        seen.add(counter._id);
        compare(counter._id, counter);
      }
      for (const [id, count] of counted) if (!seen.has(id)) compare(id, { ...count, open: 0, shown: 0 });
      if (repair) {
        // Each differing counter moved by counted minus stored. A missing one is created with its
        // count in one write rather than created at 0 and then moved: each write of a counter
        // rewrites an index entry per prefix of its term, and after a large catalog import
        // (catalogImport.service.ts) nearly every counter is missing. One that another writer
        // created meanwhile is moved instead.
        const deltas: Deltas = new Map();
        const missing: SuggestionCounterRecord[] = [];
        for (const { kind, scope, term, stored: before, counted: after } of differences) {
          const id = `${kind}:${scope}:${term}`;
          if (!seen.has(id)) missing.push({ _id: id, kind, scope, term, ...after, prefixes: prefixesOf(term) });
          else deltas.set(id, { kind, scope, term, open: after.open - before.open, shown: after.shown - before.shown });
        }
        for (const batch of chunks(missing, BATCH)) {
          for (const index of await insertManyExceptDuplicates(counterDocuments, batch)) {
            const { _id, kind, scope, term, open, shown } = batch[index]!;
            deltas.set(_id, { kind, scope, term, open, shown });
          }
        }
        await applyDeltas(deltas);
      }
      return differences;
    },
    lacksScopes: async () => {
      const [anyCounter, sellerCounter] = await Promise.all([
        counters.findOne({}, { _id: 1 }).lean().exec(),
        counters
          .findOne({ kind: SuggestionKind.CATEGORY, scope: { $regex: '^seller:' } }, { _id: 1 })
          .lean()
          .exec(),
      ]);
      return anyCounter === null || sellerCounter === null;
    },
    queries: async (prefix, limit) => {
      const rows = await pastQueries
        .find({ prefixes: prefix }, { searchers: 1 })
        .sort({ searchers: -1, _id: 1 })
        .limit(limit)
        .lean<Array<{ _id: string; searchers: number }>>()
        .exec();
      return rows.map((row) => ({ query: row._id, searchers: row.searchers }));
    },
    replaceQueries: async (queries, builtAt) => {
      if (queries.length > 0)
        await pastQueries.bulkWrite(
          queries.map(({ query, searchers }) => ({
            replaceOne: {
              filter: { _id: query },
              replacement: { _id: query, searchers, prefixes: prefixesOf(query), builtAt },
              upsert: true,
            },
          })),
          { ordered: false },
        );
      // Older only: of two instances rebuilding at once, neither removes what the other just wrote.
      await pastQueries.deleteMany({ builtAt: { $lt: builtAt } }).exec();
    },
    ensureIndexes: async () => {
      await Promise.all([ensureSchemaIndexes(counters), ensureSchemaIndexes(pastQueries)]);
    },
  };
}
