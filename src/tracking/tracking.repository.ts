import { mongo, type AnyBulkWriteOperation, type Connection, type Types } from 'mongoose';
import {
  itemDailyUniqueModel,
  itemRollupModel,
  type ItemDailyUniqueRecord,
  type ItemRollupRecord,
} from '../analytics/rollups.model';
import { HOUR_MS } from '../analytics/timeRange';
import { EventType, TrackingOutcome, trackingEventModel, type TrackingEventRecord } from './trackingEvent.model';

/** An event to store; `_id` is assigned by the caller so results map back to requests. */
export type NewTrackingEvent = TrackingEventRecord;

/** Outcome of one bulk insert. */
export interface InsertResult {
  /** Ids refused by the dedup index (another instance or request counted the same key first). */
  readonly duplicates: Set<string>;
}

/** Increment of one rollup bucket. */
export interface RollupIncrement {
  readonly itemId: Types.ObjectId;
  readonly hourBucket: Date;
  readonly source: string;
  readonly category: string;
  readonly impressions: number;
  readonly clicks: number;
}

const DUPLICATE_KEY = 11000;

/** Storage of tracked events and of the counters derived from them. No policy here. */
export interface TrackingRepository {
  /** Unordered bulk insert; duplicate dedup keys are reported, any other failure throws. */
  insertEvents(events: readonly NewTrackingEvent[]): Promise<InsertResult>;
  /** `$inc` upserts of rollup buckets, one unordered bulk write. */
  incrementRollups(increments: readonly RollupIncrement[]): Promise<void>;
  /** Records (item, day, session/user) presence; already-known values are ignored. */
  recordUniques(uniques: ReadonlyArray<Omit<ItemDailyUniqueRecord, '_id'>>): Promise<void>;
  /** Clears the pending-rollup mark of events whose increments are confirmed. */
  confirmRollups(eventIds: readonly Types.ObjectId[]): Promise<void>;
  /** Session/item pairs (as `session|item`) with a counted impression since `since`. */
  recentImpressions(
    pairs: ReadonlyArray<{ sessionId: string; itemId: Types.ObjectId }>,
    since: Date,
  ): Promise<Set<string>>;
  /** Counted events still marked pending whose hour closed before `before`, grouped by (item, hour). */
  pendingRollupBuckets(before: Date, limit: number): Promise<Array<{ itemId: Types.ObjectId; hourBucket: Date }>>;
  /**
   * Recomputes one closed (item, hour) bucket from its counted events with `$set` (idempotent),
   * restores its daily uniques, and clears the pending marks.
   */
  rebuildBucket(itemId: Types.ObjectId, hourBucket: Date, category: string): Promise<void>;
  /** Deletes events, rollups and uniques older than `before`. */
  purgeBefore(before: Date): Promise<void>;
  /** Creates the indexes. */
  ensureIndexes(): Promise<void>;
}

/** Binds the tracking repository to a connection. */
export function createTrackingRepository(connection: Connection): TrackingRepository {
  const events = trackingEventModel(connection);
  const rollups = itemRollupModel(connection);
  const uniques = itemDailyUniqueModel(connection);

  const insertIgnoringDuplicates = async (model: typeof uniques, docs: readonly object[]) => {
    if (docs.length === 0) return;
    try {
      await model.collection.insertMany(docs as never[], { ordered: false });
    } catch (error) {
      const writeErrors = error instanceof mongo.MongoBulkWriteError ? [error.writeErrors].flat() : undefined;
      if (!writeErrors || writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    }
  };

  return {
    insertEvents: async (docs) => {
      const duplicates = new Set<string>();
      if (docs.length === 0) return { duplicates };
      try {
        await events.collection.insertMany(docs as TrackingEventRecord[], { ordered: false });
      } catch (error) {
        if (!(error instanceof mongo.MongoBulkWriteError)) throw error;
        const writeErrors = [error.writeErrors].flat();
        if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
        for (const writeError of writeErrors) duplicates.add(docs[writeError.index]!._id.toHexString());
      }
      return { duplicates };
    },
    incrementRollups: async (increments) => {
      if (increments.length === 0) return;
      const operations: AnyBulkWriteOperation<ItemRollupRecord>[] = increments.map((inc) => ({
        updateOne: {
          filter: { itemId: inc.itemId, hourBucket: inc.hourBucket, source: inc.source },
          update: {
            $inc: { impressions: inc.impressions, clicks: inc.clicks },
            $setOnInsert: { category: inc.category },
          },
          upsert: true,
        },
      }));
      await rollups.bulkWrite(operations, { ordered: false });
    },
    recordUniques: (docs) => insertIgnoringDuplicates(uniques, docs),
    confirmRollups: async (ids) => {
      if (ids.length === 0) return;
      // One bulk command of `_id` equality updates: index lookups on every engine (a `$in` of
      // hundreds of ids makes the offline engine scan the whole collection).
      await events.collection.bulkWrite(
        ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $unset: { pendingRollup: '' } } } })),
        { ordered: false },
      );
    },
    recentImpressions: async (pairs, since) => {
      if (pairs.length === 0) return new Set();
      const rows = await events
        .find(
          {
            sessionId: { $in: [...new Set(pairs.map((pair) => pair.sessionId))] },
            itemId: { $in: pairs.map((pair) => pair.itemId) },
            type: EventType.IMPRESSION,
            outcome: TrackingOutcome.ACCEPTED,
            receivedAt: { $gte: since },
          },
          { sessionId: 1, itemId: 1 },
        )
        .lean<Array<{ sessionId: string; itemId: Types.ObjectId }>>()
        .exec();
      return new Set(rows.map((row) => `${row.sessionId}|${row.itemId.toHexString()}`));
    },
    pendingRollupBuckets: async (before, limit) => {
      const rows = await events
        .find({ pendingRollup: true, receivedAt: { $lt: before } }, { itemId: 1, receivedAt: 1 })
        .limit(limit)
        .lean<Array<{ itemId: Types.ObjectId; receivedAt: Date }>>()
        .exec();
      const buckets = new Map<string, { itemId: Types.ObjectId; hourBucket: Date }>();
      for (const row of rows) {
        const hourBucket = new Date(Math.floor(row.receivedAt.getTime() / HOUR_MS) * HOUR_MS);
        buckets.set(`${row.itemId.toHexString()}|${hourBucket.getTime()}`, { itemId: row.itemId, hourBucket });
      }
      return [...buckets.values()];
    },
    rebuildBucket: async (itemId, hourBucket, category) => {
      const hourEnd = new Date(hourBucket.getTime() + HOUR_MS);
      const counted = await events
        .find(
          { itemId, outcome: TrackingOutcome.ACCEPTED, receivedAt: { $gte: hourBucket, $lt: hourEnd } },
          { type: 1, source: 1, sessionId: 1, userId: 1, receivedAt: 1 },
        )
        .lean<Array<Pick<TrackingEventRecord, '_id' | 'type' | 'source' | 'sessionId' | 'userId' | 'receivedAt'>>>()
        .exec();
      const bySource = new Map<string, { impressions: number; clicks: number }>();
      for (const event of counted) {
        const entry = bySource.get(event.source) ?? { impressions: 0, clicks: 0 };
        if (event.type === EventType.IMPRESSION) entry.impressions++;
        else entry.clicks++;
        bySource.set(event.source, entry);
      }
      // $set, not $inc: running this twice (a crash mid-way) gives the same counters.
      await rollups
        .updateMany(
          { itemId, hourBucket, source: { $nin: [...bySource.keys()] } },
          { $set: { impressions: 0, clicks: 0 } },
        )
        .exec();
      if (bySource.size > 0) {
        await rollups.bulkWrite(
          [...bySource].map(([source, counts]) => ({
            updateOne: {
              filter: { itemId, hourBucket, source },
              update: { $set: counts, $setOnInsert: { category } },
              upsert: true,
            },
          })),
          { ordered: false },
        );
      }
      const day = new Date(Math.floor(hourBucket.getTime() / (24 * HOUR_MS)) * 24 * HOUR_MS);
      await insertIgnoringDuplicates(
        uniques,
        counted.flatMap((event) => [
          { itemId, day, kind: 'session', value: event.sessionId },
          ...(event.userId ? [{ itemId, day, kind: 'user', value: event.userId }] : []),
        ]),
      );
      await events
        .updateMany(
          { itemId, pendingRollup: true, receivedAt: { $gte: hourBucket, $lt: hourEnd } },
          { $unset: { pendingRollup: 1 } },
        )
        .exec();
    },
    purgeBefore: async (before) => {
      await events.deleteMany({ receivedAt: { $lt: before } }).exec();
      await rollups.deleteMany({ hourBucket: { $lt: before } }).exec();
      await uniques.deleteMany({ day: { $lt: new Date(before.getTime() - 24 * HOUR_MS) } }).exec();
    },
    ensureIndexes: async () => {
      await events.createCollection().catch(() => undefined);
      await events.createIndexes();
    },
  };
}
