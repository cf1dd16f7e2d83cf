import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** Lifecycle of an auction. Transitions are enforced by the catalog service. */
export enum AuctionStatus {
  SCHEDULED = 'SCHEDULED',
  ACTIVE = 'ACTIVE',
  ENDED = 'ENDED',
  CANCELLED = 'CANCELLED',
}

/**
 * An auction item as stored. Money is kept as integer minor units (cents) next to one ISO 4217
 * currency code for the whole item: never floats, and price and starting price cannot disagree
 * on currency.
 */
export interface AuctionItemRecord {
  _id: Types.ObjectId;
  title: string;
  description: string;
  category: string;
  status: AuctionStatus;
  currency: string;
  priceAmount: number;
  startingPriceAmount: number;
  startsAt: Date;
  endsAt: Date;
  sellerId: string;
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
}

const auctionItemSchema = new Schema<AuctionItemRecord>(
  {
    title: { type: String, required: true },
    description: { type: String, default: '' },
    category: { type: String, required: true },
    status: { type: String, enum: Object.values(AuctionStatus), required: true },
    currency: { type: String, required: true },
    priceAmount: { type: Number, required: true },
    startingPriceAmount: { type: Number, required: true },
    startsAt: { type: Date, required: true },
    endsAt: { type: Date, required: true },
    sellerId: { type: String, required: true },
    tags: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  // Timestamps are set by the service from its injectable clock, not by mongoose.
  { collection: 'auction_items', versionKey: false, strict: 'throw' },
);

// A seller's listing page: their items, newest first.
auctionItemSchema.index({ sellerId: 1, createdAt: -1, _id: -1 });

/** The collection's indexes, created at startup (see `ensureIndexes`). */
export { auctionItemSchema };

/** The AuctionItem model bound to one connection (one per database, so tests stay isolated). */
export function auctionItemModel(connection: Connection): Model<AuctionItemRecord> {
  return (
    (connection.models.AuctionItem as Model<AuctionItemRecord> | undefined) ??
    connection.model<AuctionItemRecord>('AuctionItem', auctionItemSchema)
  );
}
