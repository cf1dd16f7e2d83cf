import type { Connection, PipelineStage, Types } from 'mongoose';
import type { EffectiveTimeRange } from './timeRange';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import { itemDailyUniqueModel, itemRollupModel } from './rollups.model';

/** Counters of one (item, source) over a range. */
export interface SourceCounters {
  readonly itemId: string;
  readonly source: string;
  readonly impressions: number;
  readonly clicks: number;
}

/** Counters of one (item, hour bucket). */
export interface BucketCounters {
  readonly itemId: string;
  readonly hourBucket: Date;
  readonly impressions: number;
  readonly clicks: number;
}

/** Ranked item totals. */
export interface ItemTotals {
  readonly itemId: string;
  readonly impressions: number;
  readonly clicks: number;
}

/** What a ranking sorts by. */
export type RankingMetric = 'impressions' | 'clicks' | 'ctr';

/** Reads of the rollups: every function is one aggregate, whatever the number of items. */
export interface AnalyticsRepository {
  /** Counters per (item, source) of these items over the range. */
  countersBySource(itemIds: readonly Types.ObjectId[], range: EffectiveTimeRange): Promise<SourceCounters[]>;
  /** Counters per (item, hour) of these items over the range (buckets with events only). */
  countersByHour(itemIds: readonly Types.ObjectId[], range: EffectiveTimeRange): Promise<BucketCounters[]>;
  /** Exact distinct sessions and users per item over the UTC days [fromDay, toDay). */
  uniques(
    itemIds: readonly Types.ObjectId[],
    fromDay: Date,
    toDay: Date,
  ): Promise<Map<string, { sessions: number; users: number }>>;
  /** The top items over the range by a metric (`ctr` among items with at least `minImpressions`). */
  topItems(
    range: EffectiveTimeRange,
    metric: RankingMetric,
    limit: number,
    options: { category?: string; minImpressions: number },
  ): Promise<ItemTotals[]>;
  /** Marketplace totals over the range, per source and per category. */
  totals(range: EffectiveTimeRange): Promise<{
    bySource: Array<{ source: string; impressions: number; clicks: number }>;
    byCategory: Array<{ category: string; impressions: number; clicks: number }>;
  }>;
  /** Impressions per item over the range, for the search popularity order. */
  impressionsPerItem(range: EffectiveTimeRange): Promise<Map<string, number>>;
  /**
   * One user's counted events over the range, from the raw events (bounded per user by the rate
   * limits): impressions, clicks, and distinct items viewed and — from clicks — clicked.
   */
  userActivity(
    userId: string,
    range: EffectiveTimeRange,
  ): Promise<{ impressions: number; clicks: number; itemsViewed: number; itemsClicked: number }>;
  /** Creates the rollup collections' indexes. */
  ensureIndexes(): Promise<void>;
}

const inRange = (range: EffectiveTimeRange) => ({ $gte: range.from, $lt: range.to });

/** Binds the analytics repository to a connection. */
export function createAnalyticsRepository(connection: Connection): AnalyticsRepository {
  const rollups = itemRollupModel(connection);
  const uniques = itemDailyUniqueModel(connection);
  const events = trackingEventModel(connection);

  return {
    countersBySource: async (itemIds, range) => {
      const rows = await rollups
        .aggregate<{ _id: { itemId: Types.ObjectId; source: string }; impressions: number; clicks: number }>([
          { $match: { itemId: { $in: itemIds }, hourBucket: inRange(range) } },
          {
            $group: {
              _id: { itemId: '$itemId', source: '$source' },
              impressions: { $sum: '$impressions' },
              clicks: { $sum: '$clicks' },
            },
          },
        ])
        .exec();
      return rows.map(({ _id, impressions, clicks }) => ({
        itemId: _id.itemId.toHexString(),
        source: _id.source,
        impressions,
        clicks,
      }));
    },
    countersByHour: async (itemIds, range) => {
      const rows = await rollups
        .aggregate<{ _id: { itemId: Types.ObjectId; hourBucket: Date }; impressions: number; clicks: number }>([
          { $match: { itemId: { $in: itemIds }, hourBucket: inRange(range) } },
          {
            $group: {
              _id: { itemId: '$itemId', hourBucket: '$hourBucket' },
              impressions: { $sum: '$impressions' },
              clicks: { $sum: '$clicks' },
            },
          },
        ])
        .exec();
      return rows.map(({ _id, impressions, clicks }) => ({
        itemId: _id.itemId.toHexString(),
        hourBucket: _id.hourBucket,
        impressions,
        clicks,
      }));
    },
    uniques: async (itemIds, fromDay, toDay) => {
      const rows = await uniques
        .aggregate<{ _id: { itemId: Types.ObjectId; kind: 'session' | 'user' }; count: number }>([
          { $match: { itemId: { $in: itemIds }, day: { $gte: fromDay, $lt: toDay } } },
          // Distinct values across the days first, so a session active on two days counts once.
          { $group: { _id: { itemId: '$itemId', kind: '$kind', value: '$value' } } },
          { $group: { _id: { itemId: '$_id.itemId', kind: '$_id.kind' }, count: { $sum: 1 } } },
        ])
        .exec();
      const result = new Map<string, { sessions: number; users: number }>();
      for (const { _id, count } of rows) {
        const key = _id.itemId.toHexString();
        const entry = result.get(key) ?? { sessions: 0, users: 0 };
        if (_id.kind === 'session') entry.sessions = count;
        else entry.users = count;
        result.set(key, entry);
      }
      return result;
    },
    topItems: async (range, metric, limit, options) => {
      const pipeline: PipelineStage[] = [
        {
          $match: {
            hourBucket: inRange(range),
            ...(options.category !== undefined ? { category: options.category } : {}),
          },
        },
        { $group: { _id: '$itemId', impressions: { $sum: '$impressions' }, clicks: { $sum: '$clicks' } } },
      ];
      if (metric === 'ctr') {
        pipeline.push(
          { $match: { impressions: { $gte: Math.max(1, options.minImpressions) } } },
          { $addFields: { ctr: { $divide: ['$clicks', '$impressions'] } } },
          { $sort: { ctr: -1, impressions: -1, _id: 1 } },
        );
      } else {
        pipeline.push({ $sort: { [metric]: -1, _id: 1 } });
      }
      pipeline.push({ $limit: limit });
      const rows = await rollups
        .aggregate<{ _id: Types.ObjectId; impressions: number; clicks: number }>(pipeline)
        .exec();
      return rows.map(({ _id, impressions, clicks }) => ({ itemId: _id.toHexString(), impressions, clicks }));
    },
    totals: async (range) => {
      const [result] = await rollups
        .aggregate<{
          bySource: Array<{ _id: string; impressions: number; clicks: number }>;
          byCategory: Array<{ _id: string; impressions: number; clicks: number }>;
        }>([
          { $match: { hourBucket: inRange(range) } },
          {
            $facet: {
              bySource: [
                { $group: { _id: '$source', impressions: { $sum: '$impressions' }, clicks: { $sum: '$clicks' } } },
              ],
              byCategory: [
                { $group: { _id: '$category', impressions: { $sum: '$impressions' }, clicks: { $sum: '$clicks' } } },
              ],
            },
          },
        ])
        .exec();
      return {
        bySource: (result?.bySource ?? []).map(({ _id, ...counts }) => ({ source: _id, ...counts })),
        byCategory: (result?.byCategory ?? []).map(({ _id, ...counts }) => ({ category: _id, ...counts })),
      };
    },
    impressionsPerItem: async (range) => {
      const rows = await rollups
        .aggregate<{ _id: Types.ObjectId; impressions: number }>([
          { $match: { hourBucket: inRange(range) } },
          { $group: { _id: '$itemId', impressions: { $sum: '$impressions' } } },
        ])
        .exec();
      return new Map(rows.map(({ _id, impressions }) => [_id.toHexString(), impressions]));
    },
    userActivity: async (userId, range) => {
      const rows = await events
        .aggregate<{ _id: string; count: number; items: Types.ObjectId[] }>([
          { $match: { userId, outcome: TrackingOutcome.ACCEPTED, receivedAt: inRange(range) } },
          { $group: { _id: '$type', count: { $sum: 1 }, items: { $addToSet: '$itemId' } } },
        ])
        .exec();
      const of = (type: EventType) => rows.find((row) => row._id === type);
      return {
        impressions: of(EventType.IMPRESSION)?.count ?? 0,
        clicks: of(EventType.CLICK)?.count ?? 0,
        itemsViewed: of(EventType.IMPRESSION)?.items.length ?? 0,
        itemsClicked: of(EventType.CLICK)?.items.length ?? 0,
      };
    },
    ensureIndexes: async () => {
      for (const model of [rollups, uniques]) {
        await model.createCollection().catch(() => undefined);
        await model.createIndexes();
      }
    },
  };
}
