import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** Kind of tracked event. */
export enum EventType {
  IMPRESSION = 'IMPRESSION',
  CLICK = 'CLICK',
}

/** What happened to a tracked event. Only ACCEPTED events are counted. */
export enum TrackingOutcome {
  /** Stored and counted. */
  ACCEPTED = 'ACCEPTED',
  /** The same (session, item, type) was already counted in this cooldown window; not stored again. */
  DUPLICATE = 'DUPLICATE',
  /** The session or client address exceeded its rate limit; kept for audit, not counted. */
  RATE_LIMITED = 'RATE_LIMITED',
  /** A bot, crawler or a client without user agent; kept for audit, not counted. */
  REJECTED_BOT = 'REJECTED_BOT',
  /** The event itself is wrong (unknown item, bad timestamp, malformed id); kept for audit, not counted. */
  INVALID = 'INVALID',
  /** Suspicious (a click without a prior impression); kept for audit, not counted. */
  FLAGGED = 'FLAGGED',
}

/** A tracked event as stored: counted ones and, for audit, rejected and flagged ones. */
export interface TrackingEventRecord {
  _id: Types.ObjectId;
  type: EventType;
  /** Null when the client sent a malformed id (kept as `rawItemId`). */
  itemId: Types.ObjectId | null;
  rawItemId?: string;
  sessionId: string;
  userId?: string;
  /**
   * Set when `userId` is not the user the event's session was started for (startSession(userId)),
   * or the session was started for none: the id is kept so erasure finds the event, but it never
   * counts as that user's (uniqueUsers, userAnalytics).
   */
  userNotCounted?: true;
  source: string;
  position?: number;
  /** The search whose results showed the item (`auctionItems.searchId`), as the client said. */
  searchId?: Types.ObjectId;
  /** The experiment and variant the session saw the item under (both or neither). */
  experiment?: string;
  variant?: string;
  /** The client's claim; validated, stored, never used for counting. */
  clientTimestamp?: Date;
  /** Server receive time: what dedup windows and hour buckets use. */
  receivedAt: Date;
  ip: string;
  userAgent?: string;
  outcome: TrackingOutcome;
  reason?: string;
  /**
   * The event's key in the unique index that deduplicates atomically: `type:session:item:window`
   * on a counted event, {@link uncountedEventKey} on the others (absent on events stored before
   * every event had one, until the startup migration gives them theirs).
   */
  dedupKey?: string;
  /**
   * On counted impressions: how many counted clicks have claimed this impression. Raised by one
   * atomic conditional update per click, so no two instances can both spend the last claim.
   */
  clicksClaimed?: number;
  /** On counted clicks: the counted impression whose claim the click spent (audit trail). */
  impressionId?: Types.ObjectId;
}

const trackingEventSchema = new Schema<TrackingEventRecord>(
  {
    type: { type: String, enum: Object.values(EventType), required: true },
    itemId: { type: Schema.Types.ObjectId, default: null },
    rawItemId: String,
    sessionId: { type: String, required: true },
    userId: String,
    userNotCounted: Boolean,
    source: { type: String, required: true },
    position: Number,
    searchId: Schema.Types.ObjectId,
    experiment: String,
    variant: String,
    clientTimestamp: Date,
    receivedAt: { type: Date, required: true },
    ip: { type: String, required: true },
    userAgent: String,
    outcome: { type: String, enum: Object.values(TrackingOutcome), required: true },
    reason: String,
    dedupKey: String,
    clicksClaimed: Number,
    impressionId: Schema.Types.ObjectId,
  },
  { collection: 'tracking_events', versionKey: false },
);

// "Which counted impression of this item in this session can a click still claim?" (the click rule).
trackingEventSchema.index({ sessionId: 1, itemId: 1, type: 1, receivedAt: -1 });
// userAnalytics reads one user's counted events.
trackingEventSchema.index({ userId: 1, receivedAt: 1 }, { sparse: true });
// Retention: the purge job reads counted and audit events by receivedAt range, each type with its
// own cutoff (no TTL here: expired events are archived before deletion, see retention.service.ts).
trackingEventSchema.index({ outcome: 1, receivedAt: 1 });

/** The tracking event model bound to a connection. */
/**
 * The `dedupKey` of an event that is not counted: `~` and its own id, unique by construction and
 * never equal to a counted event's `type:session:item:window`.
 */
export function uncountedEventKey(id: Types.ObjectId): string {
  return `~${id.toHexString()}`;
}

/**
 * The unique index that makes deduplication atomic across instances (and shards): a second counted
 * event with the same key is refused inside the unordered bulk insert. Which index depends on
 * whether the events are sharded; the repository builds the one and drops the other
 * (`ensureIndexes`).
 */
export const DEDUP_INDEXES = Object.freeze({
  /**
   * Unsharded: the key alone, sparse (events stored before every event had a key have none). A
   * counted key names its item (`type:session:item:window`), so this is the sharded rule too; and
   * DocumentDB checks a compound unique index by reading the entries of the whole item, which made
   * each insert of a popular item slower than the last (100 events of one item: 20 ms at 1,000
   * stored, 609 ms at 40,000; on `{ dedupKey }`, 9 ms).
   */
  unsharded: { key: { dedupKey: 1 }, name: 'dedupKey_1', sparse: true },
  /**
   * Sharded on the item: the shard key first, as MongoDB requires of a unique index on a sharded
   * collection (and without which the distributed DocumentDB enforces it per shard only). Not
   * sparse: a sparse compound index still indexes an event with an item and no key, so every event
   * gets a key first (`uncountedEventKey`), and no partial filter, which not every engine honours.
   */
  sharded: { key: { itemId: 1, dedupKey: 1 }, name: 'itemId_1_dedupKey_1', sparse: false },
} as const);

export function trackingEventModel(connection: Connection): Model<TrackingEventRecord> {
  return (
    (connection.models.TrackingEvent as Model<TrackingEventRecord> | undefined) ??
    connection.model<TrackingEventRecord>('TrackingEvent', trackingEventSchema)
  );
}
