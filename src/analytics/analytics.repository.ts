import { ensureSchemaIndexes } from '../db/indexes';
import { mongo, type Connection, type PipelineStage, type Types } from 'mongoose';
import { DAY_MS, HOUR_MS, startOfDay } from '../shared/clock';
import type { EffectiveTimeRange } from './timeRange';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import { itemDayModel, itemDaySketchModel } from './rollups.model';
import { forEachHourCounter, mergeRawSketch, readItemDay, type RawItemDay } from './itemDayBson';
import { SKETCH_REGISTERS, estimateDistinct, mergeEncodedSketch } from './uniqueSketch';
import { chunks } from '../shared/chunks';

const { BSON } = mongo;

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

/**
 * Reads of the rollups: every function is one command whatever the number of items (per-item
 * reads: one per 10,000 (item, day) ids, so one for a page of 50 items over up to 200 days). Per-item
 * reads fetch the (item, day) documents of the range by `_id` (an index lookup on every engine)
 * and sum the hours inside the range; marketplace-wide reads aggregate in the database.
 */
export interface AnalyticsRepository {
  /** Counters per (item, source) of these items over the range. */
  countersBySource(itemIds: readonly Types.ObjectId[], range: EffectiveTimeRange): Promise<SourceCounters[]>;
  /** Counters per (item, hour) of these items over the range (buckets with events only). */
  countersByHour(itemIds: readonly Types.ObjectId[], range: EffectiveTimeRange): Promise<BucketCounters[]>;
  /**
   * Distinct sessions and users per item over the UTC days [fromDay, toDay), estimated from the
   * merged daily sketches (relative standard error ≈ 1.6 %, see `uniqueSketch.ts`).
   */
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
    options: { category?: string; minImpressions: number; itemIds?: readonly Types.ObjectId[] },
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

/**
 * Items per read of their day documents: a bounded command, and a result the cursor streams
 * (1,000 items × 90 days is 90,000 small documents).
 */
const ITEM_CHUNK = 1_000;

/**
 * Pipeline stages turning the day documents of a range into one row per (item, hour, source) in
 * the range — `{ itemId, category, hourBucket, source, impressions, clicks }` — for marketplace-wide
 * aggregations. The first stage selects days with the `{ day }` index, or `{ category, day }` when a
 * category is given.
 */
function hourlyRows(
  range: EffectiveTimeRange,
  category?: string,
  itemIds?: readonly Types.ObjectId[],
): PipelineStage[] {
  return [
    {
      $match: {
        day: { $gte: startOfDay(range.from), $lt: range.to },
        ...(category !== undefined ? { category } : {}),
        ...(itemIds !== undefined ? { itemId: { $in: [...itemIds] } } : {}),
      },
    },
    { $project: { itemId: 1, category: 1, day: 1, hours: { $objectToArray: { $ifNull: ['$hours', {}] } } } },
    { $unwind: '$hours' },
    {
      $project: {
        itemId: 1,
        category: 1,
        hourBucket: { $add: ['$day', { $multiply: [{ $toInt: '$hours.k' }, HOUR_MS] }] },
        sources: { $objectToArray: '$hours.v' },
      },
    },
    { $match: { hourBucket: inRange(range) } },
    { $unwind: '$sources' },
    {
      $project: {
        itemId: 1,
        category: 1,
        hourBucket: 1,
        source: '$sources.k',
        impressions: { $ifNull: ['$sources.v.impressions', 0] },
        clicks: { $ifNull: ['$sources.v.clicks', 0] },
      },
    },
  ];
}

/** What the analytics repository needs to know beyond its connection. */
export interface AnalyticsRepositoryOptions {
  /**
   * Whether rollup rows may still carry unique sketches of an older Gavel (`LegacySketches` in
   * `legacySketches.ts`): unique figures then read them too. Never, when not given.
   */
  readonly legacySketches?: () => boolean;
}

/** Binds the analytics repository to a connection. */
export function createAnalyticsRepository(
  connection: Connection,
  { legacySketches = () => false }: AnalyticsRepositoryOptions = {},
): AnalyticsRepository {
  const itemDays = itemDayModel(connection);
  const sketches = itemDaySketchModel(connection);
  const events = trackingEventModel(connection);

  // Per-item reads go through the driver and take the documents as BSON bytes (`raw`): see
  // `itemDayBson.ts` for why.
  const itemDayDocuments = connection.collection(itemDays.collection.collectionName);
  const sketchDocuments = connection.collection(sketches.collection.collectionName);

  /**
   * Visits the documents of `collection` (item-days or their sketches) of these items touching
   * [from, to), with only the fields asked for, as BSON bytes as the cursor delivers them (a busy
   * range's sketches are MiBs: never all in memory at once). Ids go in chunks so that no command
   * nears the 16 MiB limit, whatever the range.
   */
  const forEachDocument = async (
    collection: mongo.Collection,
    itemIds: readonly Types.ObjectId[],
    from: Date,
    to: Date,
    fields: readonly string[],
    visit: (bytes: Uint8Array) => void,
  ): Promise<void> => {
    const projection = Object.fromEntries(['itemId', 'day', ...fields].map((field) => [field, 1]));
    const days = { $gte: startOfDay(from), $lt: to };
    const daysInRange = Math.max(1, Math.ceil((to.getTime() - days.$gte.getTime()) / DAY_MS));
    for (const chunk of chunks(itemIds, ITEM_CHUNK)) {
      const cursor = collection.find(
        // By item (the shard key: a sharded engine asks only the shards holding them) and day range,
        // on `{ itemId, day }`. Listing every item-day `_id` instead cost a sharded engine 3.5× as
        // much (bench:sharding): each shard matched the whole id list.
        { itemId: { $in: chunk }, day: days },
        // Every document the chunk can match in the first reply (the server still cuts a batch at
        // 16 MiB): a 50-item page over 30 days is one command, not one plus getMores.
        { projection, batchSize: chunk.length * daysInRange, raw: true },
      );
      // With `raw`, the driver yields each document's bytes; its typings still name the schema.
      for await (const bytes of cursor) visit(bytes as unknown as Uint8Array);
    }
  };

  /** {@link forEachDocument} of the rollup rows, read by `readItemDay`. */
  const forEachDayDocument = (
    itemIds: readonly Types.ObjectId[],
    from: Date,
    to: Date,
    fields: ReadonlyArray<'hours' | 'sessions' | 'users' | 'sessionSketch' | 'userSketch'>,
    visit: (document: RawItemDay) => void,
  ) => forEachDocument(itemDayDocuments, itemIds, from, to, fields, (bytes) => visit(readItemDay(bytes)));

  /**
   * Sums the counters of these items' hours in the range into rows: `keyOf` names the row a
   * counter goes to, `newRow` makes that row the first time.
   */
  const sumCounters = async <Row extends { impressions: number; clicks: number }>(
    itemIds: readonly Types.ObjectId[],
    range: EffectiveTimeRange,
    keyOf: (itemId: string, hourBucket: number, source: string) => string,
    newRow: (itemId: string, hourBucket: Date, source: string) => Row,
  ): Promise<Row[]> => {
    const totals = new Map<string, Row>();
    const [from, to] = [range.from.getTime(), range.to.getTime()];
    await forEachDayDocument(itemIds, range.from, range.to, ['hours'], (document) => {
      const { itemId } = document;
      const day = document.day.getTime();
      forEachHourCounter(document, (hour, source, impressions, clicks) => {
        const hourBucket = day + hour * HOUR_MS;
        if (hourBucket < from || hourBucket >= to) return;
        const key = keyOf(itemId, hourBucket, source);
        let total = totals.get(key);
        if (!total) {
          total = newRow(itemId, new Date(hourBucket), source);
          totals.set(key, total);
        }
        total.impressions += impressions;
        total.clicks += clicks;
      });
    });
    return [...totals.values()];
  };

  return {
    countersBySource: (itemIds, range) =>
      sumCounters(
        itemIds,
        range,
        (itemId, _, source) => `${itemId}|${source}`,
        (itemId, _, source) => ({ itemId, source, impressions: 0, clicks: 0 }),
      ),
    countersByHour: (itemIds, range) =>
      sumCounters(
        itemIds,
        range,
        (itemId, hourBucket) => `${itemId}|${hourBucket}`,
        (itemId, hourBucket) => ({ itemId, hourBucket, impressions: 0, clicks: 0 }),
      ),
    uniques: async (itemIds, fromDay, toDay) => {
      const merged = new Map<string, { sessions: Uint8Array; users: Uint8Array }>();
      const registersOf = (itemId: string) => {
        let registers = merged.get(itemId);
        if (!registers) {
          registers = { sessions: new Uint8Array(SKETCH_REGISTERS), users: new Uint8Array(SKETCH_REGISTERS) };
          merged.set(itemId, registers);
        }
        return registers;
      };
      // Rows of an older Gavel first: the move merges a row's sketch into its document before
      // taking it off the row, so read in this order a moving sketch is found in one or the other.
      if (legacySketches())
        await forEachDayDocument(
          itemIds,
          fromDay,
          toDay,
          ['sessionSketch', 'userSketch', 'sessions', 'users'],
          (row) => {
            const registers = registersOf(row.itemId);
            mergeRawSketch(registers.sessions, row, 'sessions');
            mergeRawSketch(registers.users, row, 'users');
          },
        );
      await forEachDocument(sketchDocuments, itemIds, fromDay, toDay, ['sessions', 'users'], (bytes) => {
        const document = BSON.deserialize(bytes, { promoteBuffers: true }) as {
          itemId: mongo.ObjectId;
          sessions?: Uint8Array;
          users?: Uint8Array;
        };
        const registers = registersOf(document.itemId.toHexString());
        if (document.sessions) mergeEncodedSketch(registers.sessions, document.sessions);
        if (document.users) mergeEncodedSketch(registers.users, document.users);
      });
      return new Map(
        [...merged].map(([itemId, { sessions, users }]) => [
          itemId,
          { sessions: estimateDistinct(sessions), users: estimateDistinct(users) },
        ]),
      );
    },
    topItems: async (range, metric, limit, options) => {
      const pipeline: PipelineStage[] = [
        ...hourlyRows(range, options.category, options.itemIds),
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
      const rows = await itemDays
        .aggregate<{ _id: Types.ObjectId; impressions: number; clicks: number }>(pipeline)
        .exec();
      return rows.map(({ _id, impressions, clicks }) => ({ itemId: _id.toHexString(), impressions, clicks }));
    },
    totals: async (range) => {
      const [result] = await itemDays
        .aggregate<{
          bySource: Array<{ _id: string; impressions: number; clicks: number }>;
          byCategory: Array<{ _id: string; impressions: number; clicks: number }>;
        }>([
          ...hourlyRows(range),
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
      const rows = await itemDays
        .aggregate<{ _id: Types.ObjectId; impressions: number }>([
          ...hourlyRows(range),
          { $group: { _id: '$itemId', impressions: { $sum: '$impressions' } } },
        ])
        .exec();
      return new Map(rows.map(({ _id, impressions }) => [_id.toHexString(), impressions]));
    },
    userActivity: async (userId, range) => {
      const rows = await events
        .aggregate<{ _id: string; count: number; items: Types.ObjectId[] }>([
          // Not events whose session was started for another user or none (see TrackingEventRecord).
          {
            $match: {
              userId,
              outcome: TrackingOutcome.ACCEPTED,
              receivedAt: inRange(range),
              userNotCounted: { $ne: true },
            },
          },
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
      await Promise.all([ensureSchemaIndexes(itemDays), ensureSchemaIndexes(sketches)]);
    },
  };
}
