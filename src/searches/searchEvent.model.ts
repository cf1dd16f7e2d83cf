import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { filterOfKey } from './filterKey';

/**
 * One recorded search (`search_events`): the first page of an `auctionItems` call with query words,
 * sampled by `SEARCH_EVENTS_SAMPLE_RATE`. Its id is the `searchId` the client gets back and sends
 * with the impressions and clicks of its results. Kept `RETENTION_DAYS`, erased with its session.
 */
export interface SearchEventRecord {
  _id: Types.ObjectId;
  at: Date;
  /** The query's normalized words, space-separated ("vintage watch"). */
  query: string;
  /** The filter that was active, canonical (see `filterKeyOf`); `''` for none. */
  filterKey: string;
  /** Results on the first page (0: the search found nothing). */
  resultCount: number;
  /** Whether more pages followed. */
  hasMore: boolean;
  /** Time the page took on the server, milliseconds. */
  latencyMs: number;
  /** The query as corrected, when it matched only through typo corrections. */
  didYouMean?: string;
  /** The searching session (`x-session-id`) as tracking stores it; clicks are attributed only from it. */
  sessionId?: string;
  /**
   * The client's address as tracking stores it (a keyed hash whose key changes every UTC day):
   * past queries are suggested only once enough different addresses succeeded with them.
   */
  address?: string;
  /** Set when a first click is attributed to it (it then counts in its day's `clickedSearches`). */
  clicked?: boolean;
}

const searchEventSchema = new Schema<SearchEventRecord>(
  {
    at: { type: Date, required: true },
    query: { type: String, required: true },
    filterKey: { type: String, default: '' },
    resultCount: { type: Number, required: true },
    hasMore: { type: Boolean, required: true },
    latencyMs: { type: Number, required: true },
    didYouMean: String,
    sessionId: String,
    address: String,
    clicked: Boolean,
  },
  { collection: 'search_events', versionKey: false },
);
// Retention reads and deletes by date; erasure by session.
searchEventSchema.index({ at: 1 });
searchEventSchema.index({ sessionId: 1 }, { sparse: true });
// The past successful queries are rebuilt from the clicked searches only (`clicked` is set on those alone).
searchEventSchema.index({ clicked: 1 }, { sparse: true });

/** Positions counted one by one; clicks further down count in the last (a "20 or lower" bucket). */
export const COUNTED_POSITIONS = 20;

/**
 * The daily rollup of one query under one filter (`search_days`), what `searchAnalytics` reads:
 * searches and zero-result searches counted as they are recorded, attributed clicks as they are
 * counted by tracking. Keyed by day and a hash of query and filter.
 */
export interface SearchDayRecord {
  _id: string;
  /** UTC midnight of the searches' day (clicks count in the day of their search). */
  day: Date;
  query: string;
  filterKey: string;
  /** The categories of the filter (none: the whole catalog), for `searchAnalytics(filter: { category })`. */
  categories: string[];
  searches: number;
  /** Searches whose first page was empty. */
  zeroResults: number;
  latencyMsSum: number;
  /** Counted clicks attributed to these searches. */
  clicks: number;
  /** Searches with at least one attributed click (answered searches less these went unclicked). */
  clickedSearches: number;
  /** Attributed clicks by position (`'0'` … `'20'`, the last for 20 and lower). */
  clicksAt: Record<string, number>;
  /** Attributed clicks by item id. */
  clickedItems: Record<string, number>;
}

/**
 * The id of one query's rollup on one day: the day, then a hash of query and filter. Reads of
 * known queries go by these ids (primary key lookups), not by a scan of the days' rows.
 */
export function searchDayId(day: Date, query: string, filterKey: string): string {
  const hash = createHash('sha256').update(`${query}\u0000${filterKey}`).digest('base64url').slice(0, 22);
  return `${day.toISOString().slice(0, 10)}:${hash}`;
}

/** The day rollup of a query under a filter before anything is counted: what a first increment creates. */
export function emptySearchDay(day: Date, query: string, filterKey: string): SearchDayRecord {
  return {
    _id: searchDayId(day, query, filterKey),
    day,
    query,
    filterKey,
    categories: filterOfKey(filterKey)?.category ?? [],
    searches: 0,
    zeroResults: 0,
    latencyMsSum: 0,
    clicks: 0,
    clickedSearches: 0,
    clicksAt: {},
    clickedItems: {},
  };
}

/**
 * One day of every search's positions (`search_position_days`): how many recorded searches showed
 * a result at each position, and how many attributed clicks each position got. What the position
 * bias is estimated from (`searchAnalytics`' corrected click-through rate).
 */
export interface SearchPositionDayRecord {
  /** The day as `YYYY-MM-DD`. */
  _id: string;
  day: Date;
  shown: Record<string, number>;
  clicks: Record<string, number>;
  /**
   * The day's searches, zero-result searches and attributed clicks, incremented after the day's
   * query rows by every flush: what tells whether the day's lists still describe its rows.
   */
  totals?: SearchDayTotals;
}

/** A day's (or a query's) counts of recorded searches, zero-result searches and attributed clicks. */
export interface SearchDayTotals {
  searches: number;
  zeroResults: number;
  clicks: number;
}

/** A query under a filter in one of a day's lists, with the value it is ranked by. */
export interface ListedQuery {
  query: string;
  filterKey: string;
  value: number;
}

/**
 * A day's leading queries, built from its rows when `searchAnalytics` first reads the day and
 * again whenever the day's counters moved since: most searched, most zero-result searches, most
 * searches that found results and got no click, each with the floor no query left out exceeds.
 * A range's leaders are found from these instead of summing every row of the range.
 */
export interface SearchDayLists {
  /** The day as `YYYY-MM-DD`. */
  _id: string;
  day: Date;
  builtAt: Date;
  /** The day's counters (`SearchPositionDayRecord.totals`) when the rows were read; null: none yet. */
  basis: SearchDayTotals | null;
  /** The rows' sums. */
  totals: SearchDayTotals;
  top: ListedQuery[];
  zeroResult: ListedQuery[];
  noClick: ListedQuery[];
  floors: { top: number; zeroResult: number; noClick: number };
}

/** How {@link SearchDayListRecord} packs its entries; lists stored otherwise are built again. */
export const DAY_LIST_FORMAT = 2;

/**
 * {@link SearchDayLists} as stored (`search_day_lists`): each entry packed into one string
 * (`query NUL filterKey NUL value`, see `searches.repository.ts`), since a read takes a month of
 * lists, 9,000 entries, and one string decodes several times faster than a document of three fields.
 */
export interface SearchDayListRecord extends Omit<SearchDayLists, 'top' | 'zeroResult' | 'noClick'> {
  format: number;
  top: string[];
  zeroResult: string[];
  noClick: string[];
}

const searchDaySchema = new Schema<SearchDayRecord>(
  {
    _id: { type: String, required: true },
    day: { type: Date, required: true },
    query: { type: String, required: true },
    filterKey: { type: String, default: '' },
    categories: { type: [String], default: [] },
    searches: { type: Number, default: 0 },
    zeroResults: { type: Number, default: 0 },
    latencyMsSum: { type: Number, default: 0 },
    clicks: { type: Number, default: 0 },
    clickedSearches: { type: Number, default: 0 },
    clicksAt: { type: Schema.Types.Mixed, default: {} },
    clickedItems: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'search_days', versionKey: false, minimize: false },
);
// searchAnalytics reads a range of days; retention deletes by day. Named apart from item_days'
// TTL index `day_1`: mongo-java-server mixes up same-named indexes of two collections when one is
// dropped and made again (ensureTtlIndex on an older database).
searchDaySchema.index({ day: 1 }, { name: 'search_day' });

const searchPositionDaySchema = new Schema<SearchPositionDayRecord>(
  {
    _id: { type: String, required: true },
    day: { type: Date, required: true },
    shown: { type: Schema.Types.Mixed, default: {} },
    clicks: { type: Schema.Types.Mixed, default: {} },
    totals: Schema.Types.Mixed,
  },
  { collection: 'search_position_days', versionKey: false, minimize: false },
);
searchPositionDaySchema.index({ day: 1 }, { name: 'search_position_day' });

const searchDayListSchema = new Schema<SearchDayListRecord>(
  {
    _id: { type: String, required: true },
    day: { type: Date, required: true },
    builtAt: { type: Date, required: true },
    format: { type: Number, required: true },
    basis: Schema.Types.Mixed,
    totals: Schema.Types.Mixed,
    top: [String],
    zeroResult: [String],
    noClick: [String],
    floors: Schema.Types.Mixed,
  },
  { collection: 'search_day_lists', versionKey: false, minimize: false },
);
searchDayListSchema.index({ day: 1 }, { name: 'search_day_list' });

/** The search event model bound to a connection. */
export function searchEventModel(connection: Connection): Model<SearchEventRecord> {
  return (
    (connection.models.SearchEvent as Model<SearchEventRecord> | undefined) ??
    connection.model<SearchEventRecord>('SearchEvent', searchEventSchema)
  );
}

/** The search day rollup model bound to a connection. */
export function searchDayModel(connection: Connection): Model<SearchDayRecord> {
  return (
    (connection.models.SearchDay as Model<SearchDayRecord> | undefined) ??
    connection.model<SearchDayRecord>('SearchDay', searchDaySchema)
  );
}

/** The search position day model bound to a connection. */
export function searchPositionDayModel(connection: Connection): Model<SearchPositionDayRecord> {
  return (
    (connection.models.SearchPositionDay as Model<SearchPositionDayRecord> | undefined) ??
    connection.model<SearchPositionDayRecord>('SearchPositionDay', searchPositionDaySchema)
  );
}

/** The search day list model bound to a connection. */
export function searchDayListModel(connection: Connection): Model<SearchDayListRecord> {
  return (
    (connection.models.SearchDayList as Model<SearchDayListRecord> | undefined) ??
    connection.model<SearchDayListRecord>('SearchDayList', searchDayListSchema)
  );
}
