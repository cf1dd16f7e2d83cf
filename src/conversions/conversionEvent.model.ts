import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** What a buyer did on a lot, as the marketplace's backend reports it. */
export enum ConversionKind {
  /** Opened the lot's page. */
  ITEM_VIEW = 'ITEM_VIEW',
  /** Added the lot to a watch list. */
  WATCH = 'WATCH',
  /** Placed a bid (carries its amount). */
  BID = 'BID',
  /** Bought the lot: a buy-now, or the payment of a won auction (carries its amount). */
  PURCHASE = 'PURCHASE',
}

/** The kinds that carry an amount of money. */
export const KINDS_WITH_AMOUNT: ReadonlySet<ConversionKind> = new Set([ConversionKind.BID, ConversionKind.PURCHASE]);

/** What happened to a reported conversion. Only ACCEPTED ones are stored. */
export enum ConversionOutcome {
  /** Stored (attributed where a touch was found). */
  ACCEPTED = 'ACCEPTED',
  /** This item already has a conversion with this eventId, of the same content: a retry, not stored again. */
  DUPLICATE = 'DUPLICATE',
  /** Wrong in itself or against the lot (unknown item, wrong currency, a bid after the lot ended); not stored. */
  INVALID = 'INVALID',
}

/**
 * The tracked event (impression or click) a conversion is attributed to: a counted event of the
 * same session and item before the conversion, inside the attribution window and before the lot
 * ended. Copied rather than referenced, so funnels and breakdowns never join the raw events, and
 * the attribution survives the touch's own retention.
 */
export interface ConversionTouch {
  /** The tracking event's `_id`. */
  eventId: Types.ObjectId;
  /** `IMPRESSION` or `CLICK`. */
  type: string;
  source: string;
  position?: number;
  searchId?: Types.ObjectId;
  /** The experiment and variant the touch was tagged with (both or neither). */
  experiment?: string;
  variant?: string;
  /** When the touch was received. */
  at: Date;
}

/** A stored conversion (`conversion_events`). */
export interface ConversionEventRecord {
  _id: Types.ObjectId;
  itemId: Types.ObjectId;
  /** The client's idempotency key, unique per item. */
  eventId: string;
  kind: ConversionKind;
  /** Stored like tracking's (`Pseudonymizer.storedId`), so attribution and erasure find it the same way. */
  sessionId: string;
  userId?: string;
  /** Minor units, on BID and PURCHASE. */
  amount?: number;
  /** The lot's currency, on BID and PURCHASE. */
  currency?: string;
  /** When it happened (the backend's clock; defaults to the receive time). What lot rules and windows use. */
  occurredAt: Date;
  receivedAt: Date;
  /** The lot's seller and category when the conversion was stored (for audits and exports; funnels read the lot's current ones). */
  sellerId: string;
  category: string;
  /** The earliest counted touch of the window; absent when none was found. */
  firstTouch?: ConversionTouch;
  /** The latest counted touch of the window; absent when none was found. */
  lastTouch?: ConversionTouch;
}

const touchSchema = new Schema<ConversionTouch>(
  {
    eventId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, required: true },
    source: { type: String, required: true },
    position: Number,
    searchId: Schema.Types.ObjectId,
    experiment: String,
    variant: String,
    at: { type: Date, required: true },
  },
  { _id: false },
);

const conversionEventSchema = new Schema<ConversionEventRecord>(
  {
    itemId: { type: Schema.Types.ObjectId, required: true },
    eventId: { type: String, required: true },
    kind: { type: String, enum: Object.values(ConversionKind), required: true },
    sessionId: { type: String, required: true },
    userId: String,
    amount: Number,
    currency: String,
    occurredAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    sellerId: { type: String, required: true },
    category: { type: String, required: true },
    firstTouch: touchSchema,
    lastTouch: touchSchema,
  },
  { collection: 'conversion_events', versionKey: false },
);

// Idempotency: the shard key first, as a unique index on a collection sharded on the item must
// begin (and without which the distributed DocumentDB enforces it per shard only).
conversionEventSchema.index({ itemId: 1, eventId: 1 }, { unique: true, name: 'conversion_item_event' });
// Retention reads by date; the funnel builder by receive time; erasure by user and by session.
// Named apart from other collections' indexes of the same keys: mongo-java-server loses one of two
// indexes of one name built at once in one database (see retention.repository.ts).
conversionEventSchema.index({ occurredAt: 1 }, { name: 'conversion_occurred' });
conversionEventSchema.index({ receivedAt: 1 }, { name: 'conversion_received' });
conversionEventSchema.index({ userId: 1 }, { sparse: true, name: 'conversion_user' });
conversionEventSchema.index({ sessionId: 1 }, { name: 'conversion_session' });

/** The collection of stored conversions. */
export const CONVERSION_EVENTS = 'conversion_events';

/** The conversion event model bound to a connection. */
export function conversionEventModel(connection: Connection): Model<ConversionEventRecord> {
  return (
    (connection.models.ConversionEvent as Model<ConversionEventRecord> | undefined) ??
    connection.model<ConversionEventRecord>('ConversionEvent', conversionEventSchema)
  );
}
