import type { SearchDayLists, ListedQuery, SearchDayTotals } from './searchEvent.model';

/**
 * Queries a day's lists keep per ranking: twice `searchAnalytics`' largest `first`, so that a
 * range's leaders are nearly always among the listed and the bounds below settle them.
 */
export const LISTED_PER_DAY = 100;

/** The three rankings of `searchAnalytics`. */
export const RANKINGS = ['top', 'zeroResult', 'noClick'] as const;
/**
 * One of {@link RANKINGS}: most searches, most zero-result searches, most searches that found
 * results and got no click. Each value is a sum over days, so a range's value is its days' values
 * added up, which the bounds below rely on.
 */
export type Ranking = (typeof RANKINGS)[number];

/** A query's counts that rank it (on a day, or summed over a range). */
export type RankedCounts = SearchDayTotals & { clickedSearches: number };

/** What a day's list is built from: a query's counts on that day under one filter. */
export type DayRowCounts = Pick<ListedQuery, 'query' | 'filterKey'> & RankedCounts;

/** The value a query is ranked by in `ranking` (0: it does not belong there). */
export function rankValue(ranking: Ranking, counts: RankedCounts): number {
  switch (ranking) {
    case 'top':
      return counts.searches;
    case 'zeroResult':
      return counts.zeroResults;
    case 'noClick':
      // Rows written before clickedSearches was counted have none.
      return counts.searches - counts.zeroResults - (counts.clickedSearches ?? 0);
  }
}

/** The order of every list: highest value first, then query and filter (stable across days). */
export function byValueThenQuery(a: ListedQuery, b: ListedQuery): number {
  return b.value - a.value || compareKeys(a, b);
}

function compareKeys(a: Pick<ListedQuery, 'query' | 'filterKey'>, b: Pick<ListedQuery, 'query' | 'filterKey'>) {
  return a.query < b.query
    ? -1
    : a.query > b.query
      ? 1
      : a.filterKey < b.filterKey
        ? -1
        : a.filterKey > b.filterKey
          ? 1
          : 0;
}

/** A query and filter as one map key. */
export const queryKey = (row: Pick<ListedQuery, 'query' | 'filterKey'>): string => `${row.query}\u0000${row.filterKey}`;

/**
 * A day's lists from all of its rows: the day's totals and, per ranking, its `limit` leading
 * queries and the floor, the value no query left out exceeds (0 when none was left out).
 */
export function buildDayLists(
  day: Date,
  rows: readonly DayRowCounts[],
  basis: SearchDayTotals | null,
  builtAt: Date,
  limit = LISTED_PER_DAY,
): SearchDayLists {
  const totals: SearchDayTotals = { searches: 0, zeroResults: 0, clicks: 0 };
  for (const row of rows) {
    totals.searches += row.searches;
    totals.zeroResults += row.zeroResults;
    totals.clicks += row.clicks;
  }
  const lists = {} as Record<Ranking, ListedQuery[]>;
  const floors = {} as Record<Ranking, number>;
  for (const ranking of RANKINGS) {
    const ranked = rows
      .map((row) => ({ query: row.query, filterKey: row.filterKey, value: rankValue(ranking, row) }))
      .filter((entry) => entry.value > 0)
      .sort(byValueThenQuery);
    lists[ranking] = ranked.slice(0, limit);
    floors[ranking] = ranked.length > limit ? ranked[limit - 1]!.value : 0;
  }
  return { _id: day.toISOString().slice(0, 10), day, builtAt, basis, totals, ...lists, floors };
}

/**
 * Whether `list` still describes its day: built from the rows as they were when the day's counters
 * (`current`, incremented after the rows by every flush) read `list.basis`.
 */
export function isCurrent(list: SearchDayLists | undefined, current: SearchDayTotals | null): boolean {
  if (!list) return false;
  if (!current || !list.basis) return list.basis === current;
  return (
    list.basis.searches === current.searches &&
    list.basis.zeroResults === current.zeroResults &&
    list.basis.clicks === current.clicks
  );
}

/** The queries a range's ranking must be read for, and whether reading them settles it. */
export interface RangeCandidates {
  /** Queries that may be among the `first` leaders of the range (each with its filter). */
  readonly contenders: Array<Pick<ListedQuery, 'query' | 'filterKey'>>;
  /**
   * The most a query listed on no day can reach over the range (the sum of the days' floors): the
   * leaders are settled when the `first`-th contender's exact value exceeds it.
   */
  readonly ceiling: number;
}

/**
 * The contenders for the `first` leaders of `ranking` over the days of `lists`: a query's value
 * over the range lies between what its listings add up to and that plus the floors of the days it
 * was not listed; contenders are those whose upper bound reaches the `first`-th best lower bound.
 */
export function rangeCandidates(lists: readonly SearchDayLists[], ranking: Ranking, first: number): RangeCandidates {
  const listed = new Map<string, { query: string; filterKey: string; known: number; unlistedFloors: number }>();
  let ceiling = 0;
  for (const list of lists) ceiling += list.floors[ranking];
  for (const list of lists)
    for (const entry of list[ranking]) {
      const key = queryKey(entry);
      const candidate = listed.get(key) ?? {
        query: entry.query,
        filterKey: entry.filterKey,
        known: 0,
        unlistedFloors: ceiling,
      };
      candidate.known += entry.value;
      candidate.unlistedFloors -= list.floors[ranking];
      listed.set(key, candidate);
    }
  const lowerBounds = [...listed.values()].map((candidate) => candidate.known).sort((a, b) => b - a);
  const threshold = lowerBounds[first - 1] ?? 0;
  const contenders = [...listed.values()]
    .filter((candidate) => candidate.known + candidate.unlistedFloors >= threshold)
    .map(({ query, filterKey }) => ({ query, filterKey }));
  return { contenders, ceiling };
}

/**
 * Whether a range's exact values of its contenders, highest first, settle its `first` leaders: the
 * `first`-th exceeds `ceiling`, or no query was left out of any day's list.
 */
export function settles(exactValues: readonly number[], first: number, ceiling: number): boolean {
  return ceiling === 0 || (exactValues[first - 1] ?? 0) > ceiling;
}
