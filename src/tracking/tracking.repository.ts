import { mongo, Types, type Connection } from 'mongoose';
import { itemDayId, itemDayModel, type ItemDayRecord } from '../analytics/rollups.model';
import { addToSketch } from '../analytics/uniqueSketch';
import { DAY_MS, HOUR_MS, startOfDay } from '../shared/clock';
import { rollupJournalModel, type RollupBucket, type RollupJournalRecord } from './rollupJournal.model';
import { EventType, TrackingOutcome, trackingEventModel, type TrackingEventRecord } from './trackingEvent.model';

/** An event to store; `_id` is assigned by the caller so results map back to requests. */
export type NewTrackingEvent = TrackingEventRecord;

/** Outcome of one bulk insert. */
export interface InsertResult {
  /** Ids refused by the dedup index (another instance or request counted the same key first). */
  readonly duplicates: Set<string>;
}

/** What one flush adds to one item's rollup of one UTC day. */
export interface ItemDayIncrement {
  readonly itemId: Types.ObjectId;
  /** Start of the UTC day. */
  readonly day: Date;
  /** The item's category, stored when the day's document is created. */
  readonly category: string;
  /** Counter increments per hour of the day (0–23) and source. */
  readonly counters: ReadonlyArray<{ hour: number; source: string; impressions: number; clicks: number }>;
  /** Sketch registers (register → rank) of the sessions counted, merged with `$max`. */
  readonly sessions: ReadonlyMap<number, number>;
  /** Sketch registers of the signed-in users counted. */
  readonly users: ReadonlyMap<number, number>;
}

const DUPLICATE_KEY = 11000;

/** Storage of tracked events and of the counters derived from them. No policy here. */
export interface TrackingRepository {
  /** Unordered bulk insert; duplicate dedup keys are reported, any other failure throws. */
  insertEvents(events: readonly NewTrackingEvent[]): Promise<InsertResult>;
  /** One upsert per (item, day): `$inc` of counters, `$max` of sketch registers; one unordered bulk write. */
  incrementItemDays(increments: readonly ItemDayIncrement[]): Promise<void>;
  /** Records the buckets a flush is about to count events in (see `RollupJournalRecord`); returns its id. */
  openJournal(buckets: readonly RollupBucket[]): Promise<Types.ObjectId>;
  /** Removes journal entries whose buckets are up to date. */
  closeJournals(ids: readonly Types.ObjectId[]): Promise<void>;
  /** Up to `limit` journal entries all of whose buckets are hours starting before `before`. */
  settledJournals(before: Date, limit: number): Promise<Array<{ _id: Types.ObjectId; buckets: RollupBucket[] }>>;
  /** Session/item pairs (as `session|item`) with a counted impression since `since`. */
  recentImpressions(
    pairs: ReadonlyArray<{ sessionId: string; itemId: Types.ObjectId }>,
    since: Date,
  ): Promise<Set<string>>;
  /**
   * Recomputes one closed (item, hour) bucket's counters from its counted events with `$set`, and
   * merges their sessions and users into the day's sketches: idempotent both.
   */
  rebuildBucket(itemId: Types.ObjectId, hourBucket: Date, category: string): Promise<void>;
  /** Deletes events older than `before`, and the rollups of days that ended before it. */
  purgeBefore(before: Date): Promise<void>;
  /** Creates the indexes. */
  ensureIndexes(): Promise<void>;
}

/** `{ [operator]: fields }`, or nothing when there are no fields (MongoDB refuses empty operators). */
function nonEmpty(operator: '$inc' | '$max', fields: Record<string, number>): Record<string, Record<string, number>> {
  return Object.keys(fields).length > 0 ? { [operator]: fields } : {};
}

/** `hours.<hour>.<source>.<counter>` paths of counter increments, zeros left out. */
function counterIncrements(counters: ItemDayIncrement['counters']): Record<string, number> {
  const paths: Record<string, number> = {};
  for (const { hour, source, impressions, clicks } of counters) {
    if (impressions !== 0) paths[`hours.${hour}.${source}.impressions`] = impressions;
    if (clicks !== 0) paths[`hours.${hour}.${source}.clicks`] = clicks;
  }
  return paths;
}

/** `<sketch>.<register>` paths of sketch registers. */
function registerUpdates(sketch: 'sessions' | 'users', registers: ReadonlyMap<number, number>): Record<string, number> {
  const paths: Record<string, number> = {};
  for (const [register, rank] of registers) paths[`${sketch}.${register}`] = rank;
  return paths;
}

/** Binds the tracking repository to a connection. */
export function createTrackingRepository(connection: Connection): TrackingRepository {
  const events = trackingEventModel(connection);
  const itemDays = itemDayModel(connection);
  const journal = rollupJournalModel(connection);
  // The hot path writes through the driver: these documents need no casting or validation, and
  // building mongoose documents for a flush's hundreds of updates costs more than the writes.
  const itemDayDocuments = connection.collection<ItemDayRecord>(itemDays.collection.collectionName);
  const journalDocuments = connection.collection<RollupJournalRecord>(journal.collection.collectionName);

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
    incrementItemDays: async (increments) => {
      if (increments.length === 0) return;
      await itemDayDocuments.bulkWrite(
        increments.map((increment) => ({
          updateOne: {
            filter: { _id: itemDayId(increment.itemId, increment.day) },
            update: {
              $setOnInsert: { itemId: increment.itemId, day: increment.day, category: increment.category },
              ...nonEmpty('$inc', counterIncrements(increment.counters)),
              ...nonEmpty('$max', {
                ...registerUpdates('sessions', increment.sessions),
                ...registerUpdates('users', increment.users),
              }),
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    },
    openJournal: async (buckets) => {
      const lastHourBucket = new Date(
        buckets.reduce((latest, bucket) => Math.max(latest, bucket.hourBucket.getTime()), 0),
      );
      const _id = new Types.ObjectId();
      await journalDocuments.insertOne({ _id, buckets: [...buckets], lastHourBucket });
      return _id;
    },
    closeJournals: async (ids) => {
      if (ids.length > 0) await journal.deleteMany({ _id: { $in: ids } }).exec();
    },
    settledJournals: (before, limit) =>
      journal
        .find({ lastHourBucket: { $lt: before } }, { buckets: 1 })
        .limit(limit)
        .lean<Array<{ _id: Types.ObjectId; buckets: RollupBucket[] }>>()
        .exec(),
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
      const day = startOfDay(hourBucket);
      const sessions = addToSketch(
        new Map(),
        counted.map((event) => event.sessionId),
      );
      const users = addToSketch(
        new Map(),
        counted.flatMap((event) => (event.userId ? [event.userId] : [])),
      );
      // $set of the hour, not $inc: running this twice (a crash mid-way) gives the same counters;
      // $max of sketch registers is idempotent too.
      await itemDayDocuments.updateOne(
        { _id: itemDayId(itemId, day) },
        {
          $setOnInsert: { itemId, day, category },
          $set: { [`hours.${(hourBucket.getTime() - day.getTime()) / HOUR_MS}`]: Object.fromEntries(bySource) },
          ...nonEmpty('$max', { ...registerUpdates('sessions', sessions), ...registerUpdates('users', users) }),
        },
        // An hour without counted events (its only events were duplicates) creates no document.
        { upsert: counted.length > 0 },
      );
    },
    purgeBefore: async (before) => {
      await events.deleteMany({ receivedAt: { $lt: before } }).exec();
      await itemDays.deleteMany({ day: { $lt: new Date(before.getTime() - DAY_MS) } }).exec();
    },
    ensureIndexes: async () => {
      for (const model of [events, journal] as const) {
        await model.createCollection().catch(() => undefined);
        await model.createIndexes();
      }
    },
  };
}
