import DataLoader from 'dataloader';
import { Types } from 'mongoose';
import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import { toAuctionItem } from '../catalog/auctionItem.service';
import { DAY_MS, HOUR_MS, startOfDay, type Clock } from '../shared/clock';
import { parseObjectId } from '../shared/ids';
import { ErrorCode } from '../shared/errors';
import { GraphQLError } from 'graphql';
import type { ItemCounters, LiveFiguresSource } from '../live/live.service';
import type { AnalyticsRepository, BucketCounters, ItemTotals } from './analytics.repository';
import {
  Granularity,
  TrafficSource,
  type AnalyticsOverview,
  type PopularItem,
  type SourceFigures,
  type TimeSeriesPoint,
  type UserAnalytics,
} from './analytics.types';
import { resolveTimeRange, type EffectiveTimeRange, type TimeRangeInput, type TimeRangeLimits } from './timeRange';
import { popularityScore } from './popularity';

/** Policy knobs of analytics. */
export interface AnalyticsPolicy extends TimeRangeLimits {
  /** Items below this many impressions are left out of CTR rankings (too noisy to rank). */
  readonly ctrMinImpressions: number;
  /** Search's POPULARITY order ranks by impressions over this trailing window. */
  readonly popularityWindowMs: number;
  /**
   * Raw events are kept this long (`RETENTION_DAYS`); `retentionMs` is the rollups'. Fields that
   * read raw events refuse ranges starting before it instead of answering a silent zero.
   */
  readonly rawRetentionMs: number;
}

/** clicks / impressions, 0 without impressions. */
export const ctr = (clicks: number, impressions: number): number => (impressions > 0 ? clicks / impressions : 0);

/** The (item, range) an analytics field is about; the key of every analytics loader. */
export interface ItemRangeKey {
  readonly itemId: string;
  readonly range: EffectiveTimeRange;
}

/** Per-request loaders: each batches all the items of a request into one read per range. */
export interface AnalyticsLoaders {
  readonly bySource: DataLoader<ItemRangeKey, SourceFigures[], string>;
  readonly uniques: DataLoader<ItemRangeKey, { sessions: number; users: number }, string>;
  readonly hourly: DataLoader<ItemRangeKey, BucketCounters[], string>;
}

const loaderKey = ({ itemId, range }: ItemRangeKey) => `${itemId}|${range.from.getTime()}|${range.to.getTime()}`;

/** Groups loader keys by range, so each range costs one read for all its items. */
function byRange(keys: readonly ItemRangeKey[]): Map<string, { range: EffectiveTimeRange; itemIds: Types.ObjectId[] }> {
  const groups = new Map<string, { range: EffectiveTimeRange; itemIds: Types.ObjectId[] }>();
  for (const { itemId, range } of keys) {
    const rangeKey = `${range.from.getTime()}|${range.to.getTime()}`;
    const group = groups.get(rangeKey) ?? { range, itemIds: [] };
    group.itemIds.push(new Types.ObjectId(itemId));
    groups.set(rangeKey, group);
  }
  return groups;
}

function sourceFigures(source: string, impressions: number, clicks: number): SourceFigures {
  return { source: source as TrafficSource, impressions, clicks, ctr: ctr(clicks, impressions) };
}

const sourceOrder = Object.values(TrafficSource) as string[];
const bySourceOrder = (a: SourceFigures, b: SourceFigures) =>
  sourceOrder.indexOf(a.source) - sourceOrder.indexOf(b.source);

/**
 * Engagement analytics read from the rollups the tracking pipeline maintains: per-item figures
 * batched per request with DataLoader, rankings, the marketplace overview, and the live figures.
 */
export class AnalyticsService implements LiveFiguresSource {
  constructor(
    private readonly analytics: AnalyticsRepository,
    private readonly items: AuctionItemRepository,
    private readonly clock: Clock,
    private readonly policy: AnalyticsPolicy,
  ) {}

  /** Validates a requested range (default: the last 7 days) and aligns it to hour buckets. */
  resolveRange(
    input: TimeRangeInput | null | undefined,
    field = 'range',
    fallback?: TimeRangeInput,
  ): EffectiveTimeRange {
    return resolveTimeRange(input, this.clock.now(), this.policy, field, fallback);
  }

  /** The current UTC day, for live subscriptions without a range. */
  today(now: Date = this.clock.now()): EffectiveTimeRange {
    const from = startOfDay(now);
    return { from, to: new Date(from.getTime() + DAY_MS) };
  }

  /** Fresh loaders for one GraphQL request (results are cached for that request only). */
  createLoaders(): AnalyticsLoaders {
    return {
      bySource: new DataLoader(
        async (keys) => {
          const figures = new Map<string, SourceFigures[]>();
          for (const { range, itemIds } of byRange(keys).values()) {
            for (const row of await this.analytics.countersBySource(itemIds, range)) {
              const key = loaderKey({ itemId: row.itemId, range });
              figures.set(key, [...(figures.get(key) ?? []), sourceFigures(row.source, row.impressions, row.clicks)]);
            }
          }
          return keys.map((key) => (figures.get(loaderKey(key)) ?? []).sort(bySourceOrder));
        },
        { cacheKeyFn: loaderKey },
      ),
      uniques: new DataLoader(
        async (keys) => {
          const counts = new Map<string, { sessions: number; users: number }>();
          for (const { range, itemIds } of byRange(keys).values()) {
            const fromDay = startOfDay(range.from);
            const toDay = new Date(Math.ceil(range.to.getTime() / DAY_MS) * DAY_MS);
            for (const [itemId, value] of await this.analytics.uniques(itemIds, fromDay, toDay))
              counts.set(loaderKey({ itemId, range }), value);
          }
          return keys.map((key) => counts.get(loaderKey(key)) ?? { sessions: 0, users: 0 });
        },
        { cacheKeyFn: loaderKey },
      ),
      hourly: new DataLoader(
        async (keys) => {
          const buckets = new Map<string, BucketCounters[]>();
          for (const { range, itemIds } of byRange(keys).values()) {
            for (const row of await this.analytics.countersByHour(itemIds, range)) {
              const key = loaderKey({ itemId: row.itemId, range });
              buckets.set(key, [...(buckets.get(key) ?? []), row]);
            }
          }
          return keys.map((key) => buckets.get(loaderKey(key)) ?? []);
        },
        { cacheKeyFn: loaderKey },
      ),
    };
  }

  /** Every bucket of the range at the granularity, zeros included (days sum their hours). */
  timeSeries(hours: readonly BucketCounters[], range: EffectiveTimeRange, granularity: Granularity): TimeSeriesPoint[] {
    const width = granularity === Granularity.DAY ? DAY_MS : HOUR_MS;
    const first = Math.floor(range.from.getTime() / width) * width;
    const points: TimeSeriesPoint[] = [];
    for (let start = first; start < range.to.getTime(); start += width)
      points.push({ bucketStart: new Date(start), impressions: 0, clicks: 0 });
    for (const hour of hours) {
      const point = points[Math.floor((hour.hourBucket.getTime() - first) / width)];
      if (point) {
        point.impressions += hour.impressions;
        point.clicks += hour.clicks;
      }
    }
    return points;
  }

  /** Live figures: counters of these items over the range, in one read. */
  async itemCounters(itemIds: readonly string[], range: EffectiveTimeRange): Promise<Map<string, ItemCounters>> {
    const rows = await this.analytics.countersBySource(
      itemIds.map((id) => new Types.ObjectId(id)),
      range,
    );
    const totals = new Map<string, { impressions: number; clicks: number }>();
    for (const row of rows) {
      const entry = totals.get(row.itemId) ?? { impressions: 0, clicks: 0 };
      entry.impressions += row.impressions;
      entry.clicks += row.clicks;
      totals.set(row.itemId, entry);
    }
    return totals;
  }

  /**
   * The top `first` items over the range by a metric, optionally within a category, and among one
   * seller's items when `sellerId` is given.
   */
  async popularItems(
    range: EffectiveTimeRange,
    metric: 'impressions' | 'clicks' | 'ctr',
    first: number,
    category?: string,
    sellerId?: string,
  ): Promise<PopularItem[]> {
    // A seller's ranking is filtered before it is sorted and cut, so it is a full top-N of its items.
    const itemIds = sellerId === undefined ? undefined : await this.items.idsOfSeller(sellerId);
    if (itemIds?.length === 0) return [];
    const ranked = await this.analytics.topItems(range, metric, first, {
      category,
      minImpressions: this.policy.ctrMinImpressions,
      itemIds,
    });
    return this.withItems(ranked);
  }

  /** Marketplace totals over the range: by source, by category, and the top 10 items. */
  async overview(range: EffectiveTimeRange): Promise<AnalyticsOverview> {
    const [totals, top] = await Promise.all([
      this.analytics.totals(range),
      this.popularItems(range, 'impressions', 10),
    ]);
    const impressions = totals.bySource.reduce((sum, row) => sum + row.impressions, 0);
    const clicks = totals.bySource.reduce((sum, row) => sum + row.clicks, 0);
    return {
      range,
      impressions,
      clicks,
      ctr: ctr(clicks, impressions),
      bySource: totals.bySource
        .map((row) => sourceFigures(row.source, row.impressions, row.clicks))
        .sort(bySourceOrder),
      byCategory: totals.byCategory
        .map((row) => ({ ...row, ctr: ctr(row.clicks, row.impressions) }))
        .sort((a, b) => b.impressions - a.impressions || a.category.localeCompare(b.category)),
      topItems: top,
    };
  }

  /**
   * Recomputes every item's popularity (impressions over the trailing window, as a
   * {@link popularityScore}) from the rollups and stores what changed on the items, where search
   * sorts by it with an index. Returns the number of items with a non-zero score and how many
   * items it wrote and zeroed.
   */
  async refreshPopularity(): Promise<{ ranked: number; written: number; zeroed: number }> {
    const to = this.clock.now().getTime();
    const impressions = await this.analytics.impressionsPerItem({
      from: new Date(to - this.policy.popularityWindowMs),
      to: new Date(to + 1),
    });
    const scores = new Map<string, number>();
    for (const [id, count] of impressions) {
      const score = popularityScore(count);
      if (score > 0) scores.set(id, score);
    }
    return { ranked: scores.size, ...(await this.items.setPopularity(scores)) };
  }

  /**
   * A user's counted impressions and clicks, and the distinct items they viewed and clicked. Read
   * from raw events (rollups carry no users), so a range starting before the raw retention is
   * refused with `BAD_USER_INPUT` on `range` and `extensions.reason: RAW_EVENTS_EXPIRED`.
   */
  async userAnalytics(userId: string, range: EffectiveTimeRange): Promise<UserAnalytics> {
    const rawFrom = Math.floor((this.clock.now().getTime() - this.policy.rawRetentionMs) / HOUR_MS) * HOUR_MS;
    if (range.from.getTime() < rawFrom)
      throw new GraphQLError(
        `userAnalytics reads raw events, which are kept ${Math.round(this.policy.rawRetentionMs / DAY_MS)} days (RETENTION_DAYS): the range must start at ${new Date(rawFrom).toISOString()} or later. Per-item and marketplace analytics (from rollups) reach further back.`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'range', reason: 'RAW_EVENTS_EXPIRED' } },
      );
    const activity = await this.analytics.userActivity(userId, range);
    return {
      userId,
      range,
      impressions: activity.impressions,
      clicks: activity.clicks,
      itemsViewed: activity.itemsViewed,
      itemsClicked: activity.itemsClicked,
      ctr: ctr(activity.clicks, activity.impressions),
    };
  }

  /** Parses an item id argument (`BAD_USER_INPUT` when malformed). */
  parseItemId(id: string, field: string): Types.ObjectId {
    return parseObjectId(id, field);
  }

  private async withItems(ranked: readonly ItemTotals[]): Promise<PopularItem[]> {
    const records = await this.items.findByIds(ranked.map((row) => new Types.ObjectId(row.itemId)));
    const byId = new Map(records.map((record) => [record._id.toHexString(), record]));
    // An item deleted since it was counted drops out of the ranking.
    return ranked.flatMap((row) => {
      const record = byId.get(row.itemId);
      return record
        ? [
            {
              item: toAuctionItem(record),
              impressions: row.impressions,
              clicks: row.clicks,
              ctr: ctr(row.clicks, row.impressions),
            },
          ]
        : [];
    });
  }
}
