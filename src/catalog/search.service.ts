import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { CursorCodec, CursorMinter } from '../graphql/cursor';
import { SortDirection, type PageInfo } from '../graphql/relay';
import { badUserInput } from '../shared/errors';
import { AuctionStatus } from './auctionItem.model';
import { toAuctionItem } from './auctionItem.service';
import {
  PRICE_BAND_BOUNDS,
  type ItemOrder,
  type ItemSearch,
  type Keyset,
  type RankedItem,
  type SearchRepository,
  type SortKey,
} from './search.repository';
import {
  AuctionItemOrderField,
  type AuctionItemEdge,
  type AuctionItemFacets,
  type AuctionItemFilter,
  type AuctionItemOrder,
  type DateTimeRangeInput,
} from './search.types';
import { SearchQueryLimits, tokenize } from './searchTerms';
import type { SearchRecorder } from '../searches/searchRecorder';

/** Page sizes: `first`/`last` default and maximum. */
export const PageSizeLimits = { default: 20, max: 100 } as const;
/** Most values a list filter (categories, statuses, tags) may hold. */
const MAX_FILTER_VALUES = 20;

/**
 * For each query word, the item's word it matched: a title word it begins, else another word it
 * begins, else the correction the item holds (title first). Empty without query words.
 */
function matchedTermsOf(
  record: { titleTerms?: readonly string[]; searchTerms?: readonly string[] },
  search: ItemSearch,
): string[] {
  const titleTerms = record.titleTerms ?? [];
  const searchTerms = record.searchTerms ?? [];
  return search.words.map((word) => {
    const typed = titleTerms.find((term) => term.startsWith(word)) ?? searchTerms.find((term) => term.startsWith(word));
    if (typed) return typed;
    const corrections = search.corrections?.get(word) ?? [];
    return (
      corrections.find((term) => titleTerms.includes(term)) ??
      corrections.find((term) => searchTerms.includes(term)) ??
      word
    );
  });
}

/** Arguments of `Query.auctionItems`, as received. */
export interface SearchArguments {
  query?: string | null;
  filter?: AuctionItemFilter | null;
  orderBy?: AuctionItemOrder | null;
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** One page of a search, as the connection's edges and page info. */
export interface SearchPage {
  readonly edges: AuctionItemEdge[];
  readonly pageInfo: PageInfo;
  /** The query as its first result matched it, when that took a correction (first page only). */
  readonly didYouMean: string | null;
  /** The recorded search this first page belongs to (see `SearchRecorder.record`), or null. */
  readonly searchId: string | null;
}

/**
 * A validated search whose parts run only when asked for: the page, the total and the facets
 * are separate queries, so a client pays only for the fields it selects. Each runs at most once.
 */
export class SearchResult {
  private pageResult?: Promise<SearchPage>;
  private countResult?: Promise<number>;
  private facetsResult?: Promise<AuctionItemFacets>;

  constructor(
    private readonly loadPage: () => Promise<SearchPage>,
    private readonly loadCount: () => Promise<number>,
    private readonly loadFacets: () => Promise<AuctionItemFacets>,
  ) {}

  /** The requested page (one database round trip; see `SearchRepository.findPage`). */
  page(): Promise<SearchPage> {
    return (this.pageResult ??= this.loadPage());
  }

  /** All matching items (one database round trip). */
  totalCount(): Promise<number> {
    return (this.countResult ??= this.loadCount());
  }

  /** Counts by category, status and price band (one database round trip). */
  facets(): Promise<AuctionItemFacets> {
    return (this.facetsResult ??= this.loadFacets());
  }
}

const sortKeyOf: Readonly<Record<AuctionItemOrderField, SortKey>> = {
  [AuctionItemOrderField.CREATED_AT]: 'createdAt',
  [AuctionItemOrderField.PRICE]: 'priceAmount',
  [AuctionItemOrderField.ENDS_AT]: 'endsAt',
  [AuctionItemOrderField.POPULARITY]: 'popularity',
  [AuctionItemOrderField.RELEVANCE]: 'relevance',
};

/** What a cursor carries: the order and search it belongs to, and the position in that order. */
interface CursorPayload {
  /** Order, e.g. "createdAt:-1". */
  o: string;
  /** Fingerprint of the search (query words and filter). */
  s: string;
  /** Sort value: a number, or epoch milliseconds for dates (`t: 1`). */
  v: number;
  t?: 1;
  /** Item id (hex). */
  i: string;
}

function isCursorPayload(value: unknown): value is CursorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const payload = value as Record<string, unknown>;
  return (
    typeof payload.o === 'string' &&
    typeof payload.s === 'string' &&
    typeof payload.v === 'number' &&
    Number.isFinite(payload.v) &&
    (payload.t === undefined || payload.t === 1) &&
    typeof payload.i === 'string' &&
    /^[0-9a-f]{24}$/.test(payload.i)
  );
}

function listFilter<T>(values: readonly T[] | null | undefined, field: string): readonly T[] | undefined {
  if (values == null) return undefined;
  if (values.length === 0 || values.length > MAX_FILTER_VALUES) {
    throw badUserInput(field, `${field} takes 1 to ${MAX_FILTER_VALUES} values; omit it to match all.`);
  }
  return [...new Set(values)];
}

function dateRange(value: DateTimeRangeInput | null | undefined, field: string) {
  if (value == null) return undefined;
  for (const bound of ['from', 'to'] as const) {
    const date = value[bound];
    if (date != null && Number.isNaN(date.getTime()))
      throw badUserInput(`${field}.${bound}`, `${field}.${bound} must be a valid date-time.`);
  }
  if (value.from != null && value.to != null && value.from.getTime() >= value.to.getTime()) {
    throw badUserInput(field, `${field}.from must be before ${field}.to.`);
  }
  return { from: value.from ?? undefined, to: value.to ?? undefined };
}

/**
 * Checks a query and a filter as `auctionItems` receives them and turns them into a search;
 * anything wrong is `BAD_USER_INPUT` naming the argument (`query`, `filter.price.min`, ...).
 */
export function validateSearch(
  query: string | null | undefined,
  filter: AuctionItemFilter | null | undefined,
): ItemSearch {
  let words: string[] = [];
  if (query != null) {
    if (query.length > SearchQueryLimits.maxLength) {
      throw badUserInput('query', `query must be at most ${SearchQueryLimits.maxLength} characters.`);
    }
    words = [...new Set(tokenize(query))];
    if (words.length > SearchQueryLimits.maxWords) {
      throw badUserInput('query', `query may contain at most ${SearchQueryLimits.maxWords} words.`);
    }
  }
  const price = filter?.price;
  if (price != null) {
    for (const bound of ['min', 'max'] as const) {
      const value = price[bound];
      if (value != null && value < 0)
        throw badUserInput(`filter.price.${bound}`, `filter.price.${bound} must not be negative.`);
    }
    if (price.min != null && price.max != null && price.min > price.max) {
      throw badUserInput('filter.price', 'filter.price.min must not exceed filter.price.max.');
    }
  }
  const statuses = listFilter(filter?.status, 'filter.status');
  if (statuses?.some((status) => !Object.values(AuctionStatus).includes(status))) {
    throw badUserInput('filter.status', 'filter.status holds an unknown status.');
  }
  return {
    words,
    categories: listFilter(filter?.category, 'filter.category'),
    statuses,
    sellerId: filter?.sellerId ?? undefined,
    tags: listFilter(filter?.tags, 'filter.tags')?.map((tag) => tag.trim().toLowerCase()),
    currency: filter?.currency ?? undefined,
    price: price == null ? undefined : { min: price.min ?? undefined, max: price.max ?? undefined },
    createdAt: dateRange(filter?.createdAt, 'filter.createdAt'),
    endsAt: dateRange(filter?.endsAt, 'filter.endsAt'),
  };
}

/**
 * The rules of auction search: argument validation, Relay pagination over keyset queries, signed
 * cursors bound to their search, and lazily computed totals and facets.
 */
export class SearchService {
  constructor(
    private readonly repository: SearchRepository,
    private readonly cursors: CursorCodec,
    /** Records first pages of searches (search analytics); none = nothing recorded. */
    private readonly recorder?: Pick<SearchRecorder, 'record'>,
  ) {}

  /**
   * Re-samples the positions that cut sorted pages into windows on engines that sort after fetching
   * (see sortWindows.ts): at startup, and after a bulk load; otherwise pages refresh them every minute.
   */
  refreshSortWindows(): Promise<void> {
    return this.repository.refreshSortWindows();
  }

  /**
   * Validates the arguments and returns the search, whose page, count and facets run on demand.
   * Throws `BAD_USER_INPUT` naming the argument for every invalid input.
   */
  search(args: SearchArguments, sessionId?: string, address?: string): SearchResult {
    const typed = validateSearch(args.query, args.filter);
    const order = this.validateOrder(args.orderBy, typed);
    const { limit, backward, cursor, cursorField } = this.validatePaging(args);
    // The cursor binds to the search as typed; its corrections come from the dictionary.
    const fingerprint = this.fingerprint(typed);
    let withCorrections: Promise<ItemSearch> | undefined;
    const corrected = () =>
      (withCorrections ??= this.repository
        .corrections(typed.words)
        .then((corrections) => (corrections.size > 0 ? { ...typed, corrections } : typed)));
    const orderTag = `${order.key}:${order.direction}`;
    const position =
      cursor === undefined ? undefined : this.decodeCursor(cursor, cursorField, orderTag, fingerprint, order);

    const loadPage = async (): Promise<SearchPage> => {
      const started = performance.now();
      // Paging backward walks the reversed order from `before`, then restores the order.
      const walk: ItemOrder = backward ? { key: order.key, direction: order.direction === 1 ? -1 : 1 } : order;
      const search = await corrected();
      const rows = await this.repository.findPage({ search, order: walk, after: position, limit: limit + 1 });
      const more = rows.length > limit;
      const pageRows = rows.slice(0, limit);
      if (backward) pageRows.reverse();
      // A cursor is made when a client selects it (it is most of what a page costs the API beyond
      // its query), under the page's one key.
      const minter = this.cursors.minter();
      const cursorOf = (row: RankedItem) => this.encodeCursor(minter, row, orderTag, fingerprint);
      const edges = pageRows.map((row) => {
        let cursor: string | undefined;
        return {
          get cursor(): string {
            return (cursor ??= cursorOf(row));
          },
          node: toAuctionItem(row.record),
          matchedTerms: matchedTermsOf(row.record, search),
        };
      });
      const first = edges[0];
      const typo =
        first && position === undefined && first.matchedTerms.some((term, i) => !term.startsWith(search.words[i]!));
      const didYouMean = typo
        ? first.matchedTerms.map((term, i) => (term.startsWith(search.words[i]!) ? search.words[i] : term)).join(' ')
        : null;
      // A search is its first page; later pages (and pages backward) are the same search.
      const searchId =
        position === undefined && !backward && this.recorder
          ? this.recorder.record({
              search,
              resultCount: edges.length,
              hasMore: more,
              latencyMs: performance.now() - started,
              didYouMean,
              sessionId,
              address,
            })
          : null;
      return {
        edges,
        didYouMean,
        searchId,
        pageInfo: {
          // Per the Relay spec, the side we came from only reports that a cursor was given.
          hasNextPage: backward ? position !== undefined : more,
          hasPreviousPage: backward ? more : position !== undefined,
          get startCursor() {
            return edges[0]?.cursor ?? null;
          },
          get endCursor() {
            return edges.at(-1)?.cursor ?? null;
          },
        },
      };
    };
    const loadFacets = async (): Promise<AuctionItemFacets> => {
      const counts = await this.repository.facets(await corrected());
      return {
        category: counts.category,
        status: counts.status,
        priceBands: PRICE_BAND_BOUNDS.map((min, index) => ({
          min,
          max: PRICE_BAND_BOUNDS[index + 1] ?? null,
          count: counts.priceBands.get(min) ?? 0,
        })),
      };
    };
    return new SearchResult(loadPage, async () => this.repository.count(await corrected()), loadFacets);
  }

  private validateOrder(orderBy: AuctionItemOrder | null | undefined, search: ItemSearch): ItemOrder {
    const field = orderBy?.field ?? AuctionItemOrderField.CREATED_AT;
    if (field === AuctionItemOrderField.RELEVANCE && search.words.length === 0) {
      throw badUserInput('orderBy.field', 'RELEVANCE ordering needs a `query` with at least one word.');
    }
    return {
      key: sortKeyOf[field],
      direction: (orderBy?.direction ?? SortDirection.DESC) === SortDirection.ASC ? 1 : -1,
    };
  }

  private validatePaging(args: SearchArguments) {
    const { first, last, after, before } = args;
    if (first != null && last != null)
      throw badUserInput('last', 'Pass either `first` (forward) or `last` (backward), not both.');
    if (first != null && before != null)
      throw badUserInput('before', '`before` pages backward: use it with `last`, not `first`.');
    if (last != null && after != null)
      throw badUserInput('after', '`after` pages forward: use it with `first`, not `last`.');
    if (after != null && before != null) throw badUserInput('before', 'Pass either `after` or `before`, not both.');
    const backward = last != null || before != null;
    const size = (backward ? last : first) ?? PageSizeLimits.default;
    const sizeField = backward ? 'last' : 'first';
    if (!Number.isInteger(size) || size < 1 || size > PageSizeLimits.max) {
      throw badUserInput(sizeField, `${sizeField} must be from 1 to ${PageSizeLimits.max}.`);
    }
    return {
      limit: size,
      backward,
      cursor: (backward ? before : after) ?? undefined,
      cursorField: backward ? 'before' : 'after',
    };
  }

  /** A short digest of the search, so a cursor cannot be replayed against another search. */
  private fingerprint(search: ItemSearch): string {
    return createHash('sha256').update(JSON.stringify(search)).digest('base64url').slice(0, 16);
  }

  private encodeCursor(minter: CursorMinter, row: RankedItem, orderTag: string, fingerprint: string): string {
    const payload: CursorPayload =
      row.sortValue instanceof Date
        ? { o: orderTag, s: fingerprint, v: row.sortValue.getTime(), t: 1, i: row.record._id.toHexString() }
        : { o: orderTag, s: fingerprint, v: row.sortValue, i: row.record._id.toHexString() };
    return minter.encode(payload);
  }

  private decodeCursor(cursor: string, field: string, orderTag: string, fingerprint: string, order: ItemOrder): Keyset {
    const payload = this.cursors.decode(cursor, field);
    if (!isCursorPayload(payload)) {
      throw badUserInput(field, `${field} is not a cursor returned by this API; start again from the first page.`);
    }
    const dateKey = order.key === 'createdAt' || order.key === 'endsAt';
    if (payload.o !== orderTag || payload.s !== fingerprint || (payload.t === 1) !== dateKey) {
      throw badUserInput(field, `${field} belongs to a different search or order; start again from the first page.`);
    }
    return { value: payload.t === 1 ? new Date(payload.v) : payload.v, id: new Types.ObjectId(payload.i) };
  }
}
