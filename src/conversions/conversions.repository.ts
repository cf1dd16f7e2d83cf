import type { Connection, Types } from 'mongoose';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import { conversionEventModel, type ConversionEventRecord, type ConversionTouch } from './conversionEvent.model';

/** The counted touches of one session on one item between two instants: the earliest and the latest. */
export interface TouchWindow {
  readonly sessionId: string;
  readonly itemId: Types.ObjectId;
  /** Inclusive. */
  readonly from: Date;
  /** Inclusive. */
  readonly to: Date;
}

/** What attribution found in one window (either may be missing; both are the same touch when only one exists). */
export interface FoundTouches {
  readonly first?: ConversionTouch;
  readonly last?: ConversionTouch;
}

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
   * The earliest and latest counted impression or click of `window.sessionId` on `window.itemId`
   * received in the window: two reads of the tracking events' `{ sessionId, itemId, type,
   * receivedAt }` index, each naming the item (one shard when the events are sharded).
   */
  touches(window: TouchWindow): Promise<FoundTouches>;
  /** Builds the collection's indexes (idempotent). */
  ensureIndexes(): Promise<void>;
}

/** Binds conversion storage to a connection. */
export function createConversionsRepository(connection: Connection): ConversionsRepository {
  const conversions = conversionEventModel(connection);
  const events = trackingEventModel(connection);
  const findTouch = async (window: TouchWindow, order: 1 | -1): Promise<ConversionTouch | undefined> => {
    const found = await events.collection.findOne(
      {
        sessionId: window.sessionId,
        itemId: window.itemId,
        type: { $in: [EventType.IMPRESSION, EventType.CLICK] },
        receivedAt: { $gte: window.from, $lte: window.to },
        outcome: TrackingOutcome.ACCEPTED,
      },
      {
        sort: { receivedAt: order },
        projection: { _id: 1, type: 1, source: 1, position: 1, searchId: 1, receivedAt: 1 },
      },
    );
    if (!found) return undefined;
    return {
      eventId: found._id as Types.ObjectId,
      type: found.type as string,
      source: found.source as string,
      ...(typeof found.position === 'number' ? { position: found.position } : {}),
      ...(found.searchId ? { searchId: found.searchId as Types.ObjectId } : {}),
      at: found.receivedAt as Date,
    };
  };
  return {
    insert: (records) => insertManyExceptDuplicates(conversions.collection, records as ConversionEventRecord[]),
    findByKeys: async (keys) => {
      if (keys.length === 0) return [];
      return conversions.collection
        .find({ $or: keys.map(({ itemId, eventId }) => ({ itemId, eventId })) })
        .toArray() as Promise<ConversionEventRecord[]>;
    },
    touches: async (window) => {
      const [first, last] = await Promise.all([findTouch(window, 1), findTouch(window, -1)]);
      return { first, last };
    },
    ensureIndexes: () => ensureSchemaIndexes(conversions),
  };
}
