import { resolveTimeRange, type TimeRangeInput, type TimeRangeLimits } from '../analytics/timeRange';
import { pollChanges } from '../live/polling';
import { badUserInput } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { DAY_MS, startOfDay, type Clock } from '../shared/clock';
import {
  buildDayLists,
  byValueThenQuery,
  isCurrent,
  queryKey,
  RANKINGS,
  rangeCandidates,
  rankValue,
  settles,
  type Ranking,
} from './dayLists';
import { filterOfKey } from './filterKey';
import { COUNTED_POSITIONS, type SearchDayLists, type SearchPositionDayRecord } from './searchEvent.model';
import type { QueryDay, QueryTotals, SearchesRepository, SearchSummary } from './searches.repository';
import type { SearchRecorder } from './searchRecorder';
import type {
  SearchAnalytics,
  SearchAnalyticsFilter,
  SearchedFilter,
  SearchPositionStats,
  SearchQueryStats,
} from './searchAnalytics.types';

/** How many queries each list of `searchAnalytics` holds: `first`'s default and maximum. */
export const SearchAnalyticsLimits = { defaultFirst: 10, maxFirst: 50, maxCategories: 20 } as const;
/** Clicked items listed per query. */
const CLICKED_ITEMS = 5;
/** Queries whose rows a read takes at most from the day lists; more, and the range is summed instead. */
const MAX_CONTENDERS = 300;

/** How `searchAnalytics` reads: its range limits, how old today's lists may be, how often it is pushed. */
export interface SearchAnalyticsLimitsConfig extends TimeRangeLimits {
  /** `SEARCH_ANALYTICS_REFRESH_MS`. */
  readonly listsMaxAgeMs: number;
  /** `LIVE_INTERVAL_MS`: a `searchAnalyticsUpdated` stream reads again this often. */
  readonly liveIntervalMs: number;
}

/** The arguments of `searchAnalytics` and `searchAnalyticsUpdated`. */
export interface SearchAnalyticsArgs {
  readonly range?: TimeRangeInput | null;
  readonly filter?: SearchAnalyticsFilter | null;
  readonly first?: number | null;
}

/** What the rollups hold per position, summed over a range. */
type PositionTotals = { shown: number[]; clicks: number[] };

const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** The filter a query was searched with, from its canonical key. */
function searchedFilter(filterKey: string): SearchedFilter | null {
  const stored = filterOfKey(filterKey);
  if (!stored) return null;
  return {
    category: stored.category ?? null,
    status: stored.status ?? null,
    tags: stored.tags ?? null,
    sellerId: stored.sellerId ?? null,
    currency: stored.currency ?? null,
    price: stored.price ? { min: stored.price.min ?? null, max: stored.price.max ?? null } : null,
  };
}

/** Search analytics: what the recorded searches and their attributed clicks say. */
export class SearchAnalyticsService {
  constructor(
    private readonly repository: SearchesRepository,
    private readonly recorder: Pick<SearchRecorder, 'flush'>,
    private readonly clock: Clock,
    /** Ranges: at most ANALYTICS_MAX_RANGE_DAYS, not before RETENTION_DAYS (the rollups go then). */
    private readonly limits: SearchAnalyticsLimitsConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * Throws `BAD_USER_INPUT` for arguments `analytics` refuses (`first` out of 1–50, an empty or
   * oversized category list, a bad range), without reading anything.
   * @returns the range resolved against the clock
   */
  checkArguments({ range, filter, first }: SearchAnalyticsArgs): { from: Date; to: Date } {
    const limit = first ?? SearchAnalyticsLimits.defaultFirst;
    if (!Number.isInteger(limit) || limit < 1 || limit > SearchAnalyticsLimits.maxFirst)
      throw badUserInput('first', `first must be between 1 and ${SearchAnalyticsLimits.maxFirst}.`);
    const categories = filter?.category;
    if (categories && (categories.length === 0 || categories.length > SearchAnalyticsLimits.maxCategories))
      throw badUserInput(
        'filter.category',
        `filter.category must hold 1 to ${SearchAnalyticsLimits.maxCategories} categories.`,
      );
    return resolveTimeRange(range, this.clock.now(), this.limits);
  }

  /**
   * `analytics` as a stream: the figures at once, then again whenever they changed, read at most
   * once per `LIVE_INTERVAL_MS` (a relative range moves with the clock). Check the arguments with
   * {@link checkArguments} first: a read that fails here is logged and tried again.
   */
  watch(args: SearchAnalyticsArgs): AsyncIterableIterator<SearchAnalytics> {
    return pollChanges(
      () => this.analytics(args.range, args.filter, args.first),
      this.limits.liveIntervalMs,
      (err) => this.logger.warn({ err }, 'live search analytics: read failed; retrying next interval'),
    );
  }

  /** Writes the searches and clicks recorded so far (every SEARCH_EVENTS_FLUSH_MS anyway). */
  flushRecorded(): Promise<void> {
    return this.recorder.flush();
  }

  /**
   * Top, zero-result and no-click queries with their click-through rates, over whole UTC days of
   * `range` (default: the last 7 days). Over the whole catalog the leaders are found from each
   * day's stored lists (see `dayLists.ts`) and only their rows are read: three round trips whatever
   * the range (positions and lists, then the contenders' rows), plus the rows of days whose lists
   * are missing or behind (a day is listed again once; today at most every
   * `SEARCH_ANALYTICS_REFRESH_MS`). Per category, and when the lists cannot settle the leaders, the
   * range's rows are summed in one aggregation instead.
   */
  async analytics(
    range: TimeRangeInput | null | undefined,
    filter: SearchAnalyticsFilter | null | undefined,
    first: number | null | undefined,
  ): Promise<SearchAnalytics> {
    const resolved = this.checkArguments({ range, filter, first });
    const limit = first ?? SearchAnalyticsLimits.defaultFirst;
    const categories = filter?.category ?? undefined;
    // The rollups count whole days: the range is widened to them.
    const from = startOfDay(resolved.from);
    const to = new Date(Math.ceil(resolved.to.getTime() / DAY_MS) * DAY_MS);
    const [positionDays, storedLists] = await Promise.all([
      this.repository.positionsBetween(from, to),
      categories ? Promise.resolve([]) : this.repository.listsBetween(from, to),
    ]);
    const positions = this.positionTotals(positionDays);
    // Estimated once for the range: every query's corrected rate and the position table use it.
    const relative = this.relativeRates(positions);
    const listed = categories ? undefined : await this.fromLists(from, to, limit, positionDays, storedLists);
    const { summary, days } = listed ?? (await this.summed(from, to, categories, limit));
    const daysByQuery = Map.groupBy(days, queryKey);
    const stats = (rows: readonly QueryTotals[]) =>
      rows.map((row) => this.queryStats(row, daysByQuery.get(queryKey(row)) ?? [], relative));
    return {
      range: { from, to },
      searches: summary.searches,
      zeroResultSearches: summary.zeroResults,
      clicks: summary.clicks,
      clickThroughRate: rate(summary.clicks, summary.searches),
      topQueries: stats(summary.top),
      zeroResultQueries: stats(summary.zeroResult),
      noClickQueries: stats(summary.noClick),
      positions: this.positionStats(positions, relative),
    };
  }

  /** The range's leaders by summing all of its rows (one aggregation), then their rows. */
  private async summed(
    from: Date,
    to: Date,
    categories: readonly string[] | undefined,
    limit: number,
  ): Promise<{ summary: SearchSummary; days: QueryDay[] }> {
    const summary = await this.repository.summarize(from, to, categories, limit);
    const listed = [...summary.top, ...summary.zeroResult, ...summary.noClick];
    const days = await this.repository.daysOf(from, to, [
      ...new Map(listed.map((row) => [queryKey(row), row])).values(),
    ]);
    return { summary, days };
  }

  /**
   * The range's leaders from the days' lists: the contenders' rows give their exact figures, and
   * the leaders are settled when the `limit`-th of each ranking exceeds what a query listed on no
   * day could reach. Undefined when that does not hold (or too many contend): then the range is summed.
   */
  private async fromLists(
    from: Date,
    to: Date,
    limit: number,
    positionDays: readonly SearchPositionDayRecord[],
    storedLists: readonly SearchDayLists[],
  ): Promise<{ summary: SearchSummary; days: QueryDay[] } | undefined> {
    const lists = await this.currentLists(positionDays, storedLists);
    const candidates = RANKINGS.map((ranking) => rangeCandidates(lists, ranking, limit));
    const contenders = [
      ...new Map(candidates.flatMap(({ contenders }) => contenders).map((row) => [queryKey(row), row])).values(),
    ];
    if (contenders.length > MAX_CONTENDERS) return undefined;
    const days = await this.repository.daysOf(from, to, contenders);
    const totals = new Map<string, QueryTotals>();
    for (const day of days) {
      const key = queryKey(day);
      const sum = totals.get(key) ?? {
        query: day.query,
        filterKey: day.filterKey,
        searches: 0,
        zeroResults: 0,
        clicks: 0,
        clickedSearches: 0,
        latencyMsSum: 0,
      };
      totals.set(key, {
        ...sum,
        searches: sum.searches + day.searches,
        zeroResults: sum.zeroResults + day.zeroResults,
        clicks: sum.clicks + day.clicks,
        clickedSearches: sum.clickedSearches + (day.clickedSearches ?? 0),
        latencyMsSum: sum.latencyMsSum + (day.latencyMsSum ?? 0),
      });
    }
    const leaders = {} as Record<Ranking, QueryTotals[]>;
    for (const [index, ranking] of RANKINGS.entries()) {
      const ranked = [...totals.values()]
        .map((row) => ({ row, entry: { ...row, value: rankValue(ranking, row) } }))
        .filter(({ entry }) => entry.value > 0)
        .sort((a, b) => byValueThenQuery(a.entry, b.entry));
      const values = ranked.map(({ entry }) => entry.value);
      if (!settles(values, limit, candidates[index]!.ceiling)) return undefined;
      leaders[ranking] = ranked.slice(0, limit).map(({ row }) => row);
    }
    const sum = (field: 'searches' | 'zeroResults' | 'clicks') =>
      lists.reduce((total, list) => total + list.totals[field], 0);
    return {
      summary: {
        searches: sum('searches'),
        zeroResults: sum('zeroResults'),
        clicks: sum('clicks'),
        top: leaders.top,
        zeroResult: leaders.zeroResult,
        noClick: leaders.noClick,
      },
      days,
    };
  }

  /**
   * The lists of every day with searches, as stored where they are current (see
   * `dayLists.isCurrent`), built again from the rows where not; today's are used while younger
   * than `listsMaxAgeMs` even if behind. The lists built are stored for the next read.
   */
  private async currentLists(
    positionDays: readonly SearchPositionDayRecord[],
    storedLists: readonly SearchDayLists[],
  ): Promise<SearchDayLists[]> {
    const now = this.clock.now();
    const today = startOfDay(now).getTime();
    const stored = new Map(storedLists.map((list) => [list.day.getTime(), list]));
    const usable: SearchDayLists[] = [];
    const stale: SearchPositionDayRecord[] = [];
    for (const positionDay of positionDays) {
      const list = stored.get(positionDay.day.getTime());
      const fresh =
        isCurrent(list, positionDay.totals ?? null) ||
        (list !== undefined &&
          positionDay.day.getTime() === today &&
          now.getTime() - list.builtAt.getTime() < this.limits.listsMaxAgeMs);
      if (fresh) usable.push(list!);
      else stale.push(positionDay);
    }
    if (stale.length === 0) return usable;
    const rowsByDay = Map.groupBy(
      await this.repository.countsOfDays(stale.map((positionDay) => positionDay.day)),
      (row) => row.day.getTime(),
    );
    const built = stale.map((positionDay) =>
      buildDayLists(positionDay.day, rowsByDay.get(positionDay.day.getTime()) ?? [], positionDay.totals ?? null, now),
    );
    // A cache: a list not stored is built again by the next read.
    await this.repository.saveLists(built).catch(() => undefined);
    return [...usable, ...built];
  }

  private positionTotals(days: readonly SearchPositionDayRecord[]): PositionTotals {
    const shown = new Array<number>(COUNTED_POSITIONS + 1).fill(0);
    const clicks = new Array<number>(COUNTED_POSITIONS + 1).fill(0);
    for (const day of days)
      for (let position = 0; position <= COUNTED_POSITIONS; position++) {
        shown[position]! += day.shown?.[position] ?? 0;
        clicks[position]! += day.clicks?.[position] ?? 0;
      }
    return { shown, clicks };
  }

  /**
   * Each position's click-through rate relative to the first's: how much less often a result there
   * is looked at (the examination hypothesis), estimated over every search of the range. Null where
   * it cannot be estimated (nothing shown there, or no click at the first position).
   */
  private relativeRates({ shown, clicks }: PositionTotals): Array<number | null> {
    const firstRate = rate(clicks[0]!, shown[0]!);
    return shown.map((count, position) => {
      const here = rate(clicks[position]!, count);
      return firstRate && here !== null ? Math.min(here / firstRate, 1) : null;
    });
  }

  private positionStats(totals: PositionTotals, relative: ReadonlyArray<number | null>): SearchPositionStats[] {
    return totals.shown
      .map((shown, position) => ({
        position,
        shown,
        clicks: totals.clicks[position]!,
        clickThroughRate: rate(totals.clicks[position]!, shown),
        relativeClickThroughRate: relative[position]!,
      }))
      .filter((entry) => entry.shown > 0 || entry.clicks > 0);
  }

  /** One listed query's figures from its day rows and the range's relative rates by position. */
  private queryStats(
    row: QueryTotals,
    days: readonly QueryDay[],
    relative: ReadonlyArray<number | null>,
  ): SearchQueryStats {
    const clicksAt = new Array<number>(COUNTED_POSITIONS + 1).fill(0);
    const items = new Map<string, number>();
    for (const day of days) {
      for (const [position, count] of Object.entries(day.clicksAt ?? {})) clicksAt[Number(position)]! += count;
      for (const [itemId, count] of Object.entries(day.clickedItems ?? {}))
        items.set(itemId, (items.get(itemId) ?? 0) + count);
    }
    const positioned = clicksAt.reduce((sum, count) => sum + count, 0);
    const positionSum = clicksAt.reduce((sum, count, position) => sum + count * position, 0);
    // A click that gave no position is weighed as one at the first position (weight 1).
    let weighted = row.clicks - positioned;
    let estimable = relative[0] !== null;
    clicksAt.forEach((count, position) => {
      if (count === 0) return;
      const examined = relative[position];
      if (!examined) estimable = false;
      else weighted += count / examined;
    });
    return {
      query: row.query,
      filter: searchedFilter(row.filterKey),
      searches: row.searches,
      zeroResults: row.zeroResults,
      clicks: row.clicks,
      unclickedSearches: rankValue('noClick', row),
      clickThroughRate: rate(row.clicks, row.searches),
      meanClickPosition: positioned > 0 ? positionSum / positioned : null,
      correctedClickThroughRate:
        row.clicks === 0 ? rate(0, row.searches) : estimable ? rate(weighted, row.searches) : null,
      averageLatencyMs: rate(row.latencyMsSum, row.searches),
      daily: days
        .map(({ day, searches, zeroResults, clicks }) => ({ day, searches, zeroResults, clicks }))
        .sort((a, b) => a.day.getTime() - b.day.getTime()),
      clickedItems: [...items]
        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
        .slice(0, CLICKED_ITEMS)
        .map(([itemId, count]) => ({ itemId, clicks: count })),
    };
  }
}
