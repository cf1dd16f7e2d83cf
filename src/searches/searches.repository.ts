import type { Connection, PipelineStage, Types } from 'mongoose';
import { incrementCounters, type CounterIncrement } from '../db/counters';
import { bulkWriteRetryingConflicts, DUPLICATE_KEY } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { DAY_MS } from '../shared/clock';
import type { DayRowCounts } from './dayLists';
import type { SuccessfulQuery } from '../catalog/suggestion.repository';
import {
  searchDayListModel,
  searchDayModel,
  searchEventModel,
  searchDayId,
  searchPositionDayModel,
  DAY_LIST_FORMAT,
  type ListedQuery,
  type SearchDayListRecord,
  type SearchDayLists,
  type SearchDayRecord,
  type SearchEventRecord,
  type SearchPositionDayRecord,
} from './searchEvent.model';

/** A listed query as stored: query, filter key and value, NUL-separated (neither holds a NUL). */
const packListed = ({ query, filterKey, value }: ListedQuery): string => `${query}\u0000${filterKey}\u0000${value}`;

function unpackListed(packed: string): ListedQuery {
  const [query = '', filterKey = '', value = '0'] = packed.split('\u0000');
  return { query, filterKey, value: Number(value) };
}

/** Whole days in [from, to) (the rollups' dates are UTC midnights). */
const daysIn = (from: Date, to: Date): number => Math.ceil((to.getTime() - from.getTime()) / DAY_MS);

/** A query's totals as the aggregation groups them. */
interface GroupedQuery {
  _id: { query: string; filterKey: string };
  searches: number;
  zeroResults: number;
  clicks: number;
  clickedSearches: number;
  latencyMsSum: number;
}

/** What attributing a click needs of its search. */
export type SearchOfClick = Pick<SearchEventRecord, '_id' | 'at' | 'query' | 'filterKey' | 'sessionId' | 'clicked'>;

/** One query under one filter, summed over a range of days. */
export interface QueryTotals {
  readonly query: string;
  readonly filterKey: string;
  readonly searches: number;
  readonly zeroResults: number;
  readonly clicks: number;
  readonly clickedSearches: number;
  readonly latencyMsSum: number;
}

/** A range of days of search rollups, summed, with the queries that stand out. */
export interface SearchSummary {
  readonly searches: number;
  readonly zeroResults: number;
  readonly clicks: number;
  /** Most searched first. */
  readonly top: QueryTotals[];
  /** Most zero-result searches first. */
  readonly zeroResult: QueryTotals[];
  /** Queries with the most searches that found results and got no click. */
  readonly noClick: QueryTotals[];
}

/** One query under one filter on one day: its counts and click maps. */
export type QueryDay = Pick<
  SearchDayRecord,
  | 'day'
  | 'query'
  | 'filterKey'
  | 'searches'
  | 'zeroResults'
  | 'clicks'
  | 'clickedSearches'
  | 'latencyMsSum'
  | 'clicksAt'
  | 'clickedItems'
>;

/** The recorded searches and their rollups: small functions, no policy. */
export interface SearchesRepository {
  /** Stores search events (one unordered insert; one stored before, by a repeated flush, is skipped). */
  insertEvents(events: readonly SearchEventRecord[]): Promise<void>;
  /** The searches with these ids that are stored (one query). */
  findSearches(ids: readonly Types.ObjectId[]): Promise<SearchOfClick[]>;
  /** Marks searches as clicked (one update). */
  markClicked(ids: readonly Types.ObjectId[]): Promise<void>;
  /**
   * The queries that at least `minSearchers` searchers searched and clicked a result of, most
   * searchers first, at most `limit`: searchers are the smaller of the distinct sessions and the
   * distinct (daily) client addresses, so that one client minting sessions counts once a day.
   * Searches that matched only through typo corrections, or were recorded without a session or an
   * address, are left out. One aggregation over the clicked searches.
   */
  successfulQueries(minSearchers: number, limit: number): Promise<SuccessfulQuery[]>;
  /** Moves day rollups, creating the missing ones (see `incrementCounters`). */
  incrementDays(increments: ReadonlyArray<CounterIncrement<SearchDayRecord>>): Promise<void>;
  /** Moves position rollups, creating the missing ones. */
  incrementPositions(increments: ReadonlyArray<CounterIncrement<SearchPositionDayRecord>>): Promise<void>;
  /** The day rollups of days in [from, to) (one query). */
  daysBetween(from: Date, to: Date): Promise<SearchDayRecord[]>;
  /**
   * Sums the day rollups of [from, to) per query and filter (only searches within one of
   * `categories` when given) and picks the `limit` top, zero-result and no-click queries. One
   * aggregation.
   */
  summarize(from: Date, to: Date, categories: readonly string[] | undefined, limit: number): Promise<SearchSummary>;
  /** The day rollups of these queries (with their filters) on the days of [from, to) (one query). */
  daysOf(from: Date, to: Date, queries: ReadonlyArray<Pick<QueryTotals, 'query' | 'filterKey'>>): Promise<QueryDay[]>;
  /** The position rollups of days in [from, to) (one query). */
  positionsBetween(from: Date, to: Date): Promise<SearchPositionDayRecord[]>;
  /** The stored lists of days in [from, to) (one query); lists of an older format are left out. */
  listsBetween(from: Date, to: Date): Promise<SearchDayLists[]>;
  /** Every query's counts on these days, what their lists are built from (one query). */
  countsOfDays(days: readonly Date[]): Promise<Array<DayRowCounts & { day: Date }>>;
  /** Stores day lists, replacing those of the same days (one write). */
  saveLists(lists: readonly SearchDayLists[]): Promise<void>;
  /** Creates the collections and their indexes. */
  ensureIndexes(): Promise<void>;
}

/** Binds the searches' storage to a connection. */
export function createSearchesRepository(connection: Connection): SearchesRepository {
  const events = searchEventModel(connection);
  const days = searchDayModel(connection);
  const positions = searchPositionDayModel(connection);
  const lists = searchDayListModel(connection);
  const dayDocuments = connection.collection<SearchDayRecord>(days.collection.collectionName);
  const positionDocuments = connection.collection<SearchPositionDayRecord>(positions.collection.collectionName);
  const eventDocuments = connection.collection<SearchEventRecord>(events.collection.collectionName);
  return {
    insertEvents: async (records) => {
      if (records.length === 0) return;
      const failed = await bulkWriteRetryingConflicts(
        eventDocuments,
        records.map((document) => ({ insertOne: { document } })),
        { unknownOutcome: 'repeat' },
      );
      const refused = failed.filter((write) => write.code !== DUPLICATE_KEY);
      if (refused.length > 0) throw new Error(`${refused.length} search events could not be stored`);
    },
    findSearches: (ids) =>
      events
        .find({ _id: { $in: ids } }, { at: 1, query: 1, filterKey: 1, sessionId: 1, clicked: 1 })
        .lean<SearchOfClick[]>()
        .exec(),
    markClicked: async (ids) => {
      if (ids.length > 0) await events.updateMany({ _id: { $in: ids } }, { $set: { clicked: true } }).exec();
    },
    successfulQueries: async (minSearchers, limit) => {
      const rows = await events
        .aggregate<{ _id: string; searchers: number }>([
          {
            $match: {
              clicked: true,
              sessionId: { $exists: true },
              address: { $exists: true },
              didYouMean: { $exists: false },
            },
          },
          { $group: { _id: { query: '$query', sessionId: '$sessionId', address: '$address' } } },
          {
            $group: {
              _id: '$_id.query',
              sessions: { $addToSet: '$_id.sessionId' },
              addresses: { $addToSet: '$_id.address' },
            },
          },
          { $project: { searchers: { $min: [{ $size: '$sessions' }, { $size: '$addresses' }] } } },
          { $match: { searchers: { $gte: minSearchers } } },
          { $sort: { searchers: -1, _id: 1 } },
          { $limit: limit },
        ])
        .exec();
      return rows.map((row) => ({ query: row._id, searchers: row.searchers }));
    },
    incrementDays: (increments) => incrementCounters(dayDocuments, increments),
    incrementPositions: (increments) => incrementCounters(positionDocuments, increments),
    daysBetween: (from, to) =>
      days
        .find({ day: { $gte: from, $lt: to } })
        .lean<SearchDayRecord[]>()
        .exec(),
    summarize: async (from, to, categories, limit) => {
      const byQuery = (order: Record<string, 1 | -1>): PipelineStage.FacetPipelineStage[] => [
        { $sort: { ...order, '_id.query': 1, '_id.filterKey': 1 } },
        { $limit: limit },
      ];
      const [result] = await days
        .aggregate<{
          totals: Array<{ searches: number; zeroResults: number; clicks: number }>;
          top: Array<GroupedQuery>;
          zeroResult: Array<GroupedQuery>;
          noClick: Array<GroupedQuery>;
        }>([
          { $match: { day: { $gte: from, $lt: to }, ...(categories ? { categories: { $in: [...categories] } } : {}) } },
          {
            $group: {
              _id: { query: '$query', filterKey: '$filterKey' },
              searches: { $sum: '$searches' },
              zeroResults: { $sum: '$zeroResults' },
              clicks: { $sum: '$clicks' },
              clickedSearches: { $sum: '$clickedSearches' },
              latencyMsSum: { $sum: '$latencyMsSum' },
            },
          },
          {
            $addFields: {
              unclicked: { $subtract: [{ $subtract: ['$searches', '$zeroResults'] }, '$clickedSearches'] },
            },
          },
          {
            $facet: {
              totals: [
                {
                  $group: {
                    _id: null,
                    searches: { $sum: '$searches' },
                    zeroResults: { $sum: '$zeroResults' },
                    clicks: { $sum: '$clicks' },
                  },
                },
              ],
              top: byQuery({ searches: -1 }),
              zeroResult: [{ $match: { zeroResults: { $gt: 0 } } }, ...byQuery({ zeroResults: -1 })],
              noClick: [{ $match: { unclicked: { $gt: 0 } } }, ...byQuery({ unclicked: -1 })],
            },
          },
        ])
        .exec();
      const flat = (rows: GroupedQuery[] = []): QueryTotals[] =>
        rows.map(({ _id, searches, zeroResults, clicks, clickedSearches, latencyMsSum }) => ({
          ..._id,
          searches,
          zeroResults,
          clicks,
          clickedSearches,
          latencyMsSum,
        }));
      const totals = result?.totals[0];
      return {
        searches: totals?.searches ?? 0,
        zeroResults: totals?.zeroResults ?? 0,
        clicks: totals?.clicks ?? 0,
        top: flat(result?.top),
        zeroResult: flat(result?.zeroResult),
        noClick: flat(result?.noClick),
      };
    },
    daysOf: async (from, to, queries) => {
      if (queries.length === 0) return [];
      // By id, each row a primary key lookup: a day range with an `$or` of the queries read every
      // row of the range on DocumentDB (1.4 s for a month of 220,000 rows).
      const ids: string[] = [];
      for (let day = from.getTime(); day < to.getTime(); day += DAY_MS)
        for (const { query, filterKey } of queries) ids.push(searchDayId(new Date(day), query, filterKey));
      return (
        days
          .find(
            { _id: { $in: ids } },
            {
              _id: 0,
              day: 1,
              query: 1,
              filterKey: 1,
              searches: 1,
              zeroResults: 1,
              clicks: 1,
              clickedSearches: 1,
              latencyMsSum: 1,
              clicksAt: 1,
              clickedItems: 1,
            },
          )
          // At most one row per id: all in the first batch, no getMore (a round trip each).
          .batchSize(ids.length + 1)
          .lean<QueryDay[]>()
          .exec()
      );
    },
    positionsBetween: (from, to) =>
      positions
        .find({ day: { $gte: from, $lt: to } })
        .batchSize(daysIn(from, to) + 1)
        .lean<SearchPositionDayRecord[]>()
        .exec(),
    listsBetween: async (from, to) =>
      (
        await lists
          .find({ day: { $gte: from, $lt: to }, format: DAY_LIST_FORMAT })
          .batchSize(daysIn(from, to) + 1)
          .lean<SearchDayListRecord[]>()
          .exec()
      ).map(({ format: _format, ...list }) => ({
        ...list,
        top: list.top.map(unpackListed),
        zeroResult: list.zeroResult.map(unpackListed),
        noClick: list.noClick.map(unpackListed),
      })),
    countsOfDays: async (wanted) => {
      if (wanted.length === 0) return [];
      return days
        .find(
          { day: { $in: [...wanted] } },
          { _id: 0, day: 1, query: 1, filterKey: 1, searches: 1, zeroResults: 1, clicks: 1, clickedSearches: 1 },
        )
        .lean<Array<DayRowCounts & { day: Date }>>()
        .exec();
    },
    saveLists: async (built) => {
      if (built.length === 0) return;
      const stored = built.map((list): SearchDayListRecord => ({
        ...list,
        format: DAY_LIST_FORMAT,
        top: list.top.map(packListed),
        zeroResult: list.zeroResult.map(packListed),
        noClick: list.noClick.map(packListed),
      }));
      await lists.bulkWrite(
        stored.map((list) => ({ replaceOne: { filter: { _id: list._id }, replacement: list, upsert: true } })),
        { ordered: false },
      );
    },
    ensureIndexes: async () => {
      await Promise.all([
        ensureSchemaIndexes(events),
        ensureSchemaIndexes(days),
        ensureSchemaIndexes(positions),
        ensureSchemaIndexes(lists),
      ]);
    },
  };
}
