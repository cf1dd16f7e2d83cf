import type { Connection, Types } from 'mongoose';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { chunks } from '../shared/chunks';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import { conversionEventModel, type ConversionEventRecord, type ConversionTouch } from './conversionEvent.model';

/** Storage of conversions, and the read of tracked touches that attributes them. */
export interface ConversionsRepository {
  /**
   * Inserts the conversions (unordered) and returns the positions refused as duplicates of an
   * `{ itemId, eventId }` already stored (or earlier in the same list).
   */
  insert(records: readonly ConversionEventRecord[]): Promise<Set<number>>;
  /** The stored conversions with these `{ itemId, eventId }` keys (to tell a retry from a reuse of an id). */
  findByKeys(keys: ReadonlyArray<{ itemId: Types.ObjectId; eventId: string }>): Promise<ConversionEventRecord[]>;
  /**
   * The counted impressions and clicks of these sessions received in `[from, to]`, with their
   * session and item: one read of the tracking events' `{ sessionId, itemId, type, receivedAt }`
   * index per 100 sessions (the caller keeps the items it wants). A session's touches are few.
   */
  touchesOfSessions(
    sessionIds: readonly string[],
    from: Date,
    to: Date,
  ): Promise<Array<ConversionTouch & { sessionId: string; itemId: Types.ObjectId }>>;
  /** Builds the collection's indexes (idempotent). */
  ensureIndexes(): Promise<void>;
}

/** Sessions per read of their touches. */
const SESSIONS_PER_READ = 100;

/** Binds conversion storage to a connection. */
export function createConversionsRepository(connection: Connection): ConversionsRepository {
  const conversions = conversionEventModel(connection);
  const events = trackingEventModel(connection);
  return {
    insert: (records) => insertManyExceptDuplicates(conversions.collection, records as ConversionEventRecord[]),
    findByKeys: async (keys) => {
      if (keys.length === 0) return [];
      return conversions.collection
        .find({ $or: keys.map(({ itemId, eventId }) => ({ itemId, eventId })) })
        .toArray() as Promise<ConversionEventRecord[]>;
    },
    touchesOfSessions: async (sessionIds, from, to) => {
      // Sessions only, not (session, item) pairs: `$in` on both made DocumentDB seek every
      // combination (2.4 s for 100 pairs among 100,000 events), one read per pair cost 85 ms for
      // 100 pairs 16 at a time; a session's events are few, so reading all of them is cheaper.
      const reads = chunks([...new Set(sessionIds)], SESSIONS_PER_READ).map((chunk) =>
        events.collection
          .find(
            {
              sessionId: { $in: chunk },
              type: { $in: [EventType.IMPRESSION, EventType.CLICK] },
              receivedAt: { $gte: from, $lte: to },
              outcome: TrackingOutcome.ACCEPTED,
            },
            {
              projection: {
                _id: 1,
                sessionId: 1,
                itemId: 1,
                type: 1,
                source: 1,
                position: 1,
                searchId: 1,
                experiment: 1,
                variant: 1,
                receivedAt: 1,
              },
            },
          )
          .toArray(),
      );
      return (await Promise.all(reads)).flat().map((touch) => ({
        sessionId: touch.sessionId as string,
        itemId: touch.itemId as Types.ObjectId,
        eventId: touch._id as Types.ObjectId,
        type: touch.type as string,
        source: touch.source as string,
        ...(typeof touch.position === 'number' ? { position: touch.position } : {}),
        ...(touch.searchId ? { searchId: touch.searchId as Types.ObjectId } : {}),
        ...(typeof touch.experiment === 'string' && typeof touch.variant === 'string'
          ? { experiment: touch.experiment, variant: touch.variant }
          : {}),
        at: touch.receivedAt as Date,
      }));
    },
    ensureIndexes: () => ensureSchemaIndexes(conversions),
  };
}
