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
  /** Derived from title, description and tags by `searchTermsOf`; see searchTerms.ts. */
  searchTerms: string[];
  /** Derived from the title by `searchTermsOf`; title matches rank higher. */
  titleTerms: string[];
  /** Impressions over the recent popularity window, refreshed periodically from the rollups. */
  popularity?: number;
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
    searchTerms: { type: [String], default: [] },
    titleTerms: { type: [String], default: [] },
    popularity: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  // Timestamps are set by the service from its injectable clock, not by mongoose.
  { collection: 'auction_items', versionKey: false, strict: 'throw' },
);

/*
 * Indexes, one per supported query shape of search (see search.repository.ts). Every sort key is
 * followed by `_id`, the keyset tie-breaker, so a page continues from (sortKey, _id) by an index
 * seek instead of skipping. Equality fields come first, then the sort (the ESR rule), and range
 * filters (price, dates) are checked while walking the index in sort order.
 */
const sortKeys = ['createdAt', 'priceAmount', 'endsAt', 'popularity'] as const;
for (const sortKey of sortKeys) {
  // No filter, or only range filters: walk the sort order directly.
  auctionItemSchema.index({ [sortKey]: -1, _id: -1 });
  // The common buyer view: ACTIVE (or a set of statuses, merged by MongoDB's SORT_MERGE).
  auctionItemSchema.index({ status: 1, [sortKey]: -1, _id: -1 });
  // A category page, usually with a status filter too.
  auctionItemSchema.index({ category: 1, status: 1, [sortKey]: -1, _id: -1 });
}
/**
 * The indexes of the selective filters (a seller, tags, words), which search names as hints on engines
 * that sort after fetching (see search.repository.ts); kept here so the hint and the index cannot differ.
 */
export const selectiveFilterIndexes = {
  // A seller's listings.
  sellerId: { sellerId: 1, createdAt: -1, _id: -1 },
  // Tag pages (multikey).
  tags: { tags: 1, createdAt: -1, _id: -1 },
  // Word search: anchored prefix regexes on the multikey word list use index bounds.
  words: { searchTerms: 1 },
} as const;
for (const keys of Object.values(selectiveFilterIndexes)) auctionItemSchema.index(keys);

/** The collection's indexes, created at startup (see `ensureIndexes`). */
export { auctionItemSchema };

/** The AuctionItem model bound to one connection (one per database, so tests stay isolated). */
export function auctionItemModel(connection: Connection): Model<AuctionItemRecord> {
  return (
    (connection.models.AuctionItem as Model<AuctionItemRecord> | undefined) ??
    connection.model<AuctionItemRecord>('AuctionItem', auctionItemSchema)
  );
}
