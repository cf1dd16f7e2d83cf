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
  /**
   * The item's id in the marketplace's own system, set by the catalog import (unique: importing a
   * line again finds the item instead of storing it twice).
   */
  externalId?: string;
  /** Derived from title, description and tags by `searchTermsOf`; see searchTerms.ts. */
  searchTerms: string[];
  /** Derived from the title by `searchTermsOf`; title matches rank higher. */
  titleTerms: string[];
  /** Impressions over the recent popularity window as a `popularityScore` (two significant digits from 100), refreshed from the rollups. */
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
    externalId: { type: String },
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
 * Indexes, and why each exists. Search (search.repository.ts) sorts by a stored key, then by `_id`,
 * the keyset tie-breaker: every sort index ends with that pair, so that a page continues from
 * (key, _id) by an index seek instead of skipping, and puts equality fields first (the ESR rule:
 * equality, sort, range), so that range filters (price, dates) are checked along the way. On mongod a
 * page walks one of them in order and stops when it is full. DocumentDB 0.106 as built here cannot
 * walk an index in order: there the same index bounds each window of the order that a page is read
 * in (sortWindows.ts). test/catalog/searchIndexes.test.ts checks every shape with explain. Every index
 * costs every insert; on DocumentDB the word index by far the most (bench/README.md, bench:search).
 */
const sortKeys = ['createdAt', 'priceAmount', 'endsAt', 'popularity'] as const;
for (const sortKey of sortKeys) {
  // No filter, only range filters, or only a currency: walks (or windows) the order directly. Also
  // the index the windows' engine probe explains ({createdAt, _id}).
  auctionItemSchema.index({ [sortKey]: -1, _id: -1 });
  // The buyer view, status ACTIVE (a set of statuses is merged by mongod's SORT_MERGE); totalCount
  // and facets of a status filter select their matches with it.
  auctionItemSchema.index({ status: 1, [sortKey]: -1, _id: -1 });
  // A category page, usually with a status too; also the counts and facets of a category filter.
  auctionItemSchema.index({ category: 1, status: 1, [sortKey]: -1, _id: -1 });
}
/**
 * The indexes of the selective filters, which have few matches: the engine reads all of them and
 * sorts them in any order but their own. Search names them as hints on engines that sort after
 * fetching (see search.repository.ts); kept here so the hint and the index cannot differ.
 */
export const selectiveFilterIndexes = {
  // A seller's listings, newest first by a walk of the index.
  sellerId: { sellerId: 1, createdAt: -1, _id: -1 },
  // Tag pages, newest first by a walk of the index (multikey: one entry per tag).
  tags: { tags: 1, createdAt: -1, _id: -1 },
  // Word search: each query word is an anchored prefix regex on the multikey word list, which the
  // index answers from its bounds ("vint" → ["vint", "vinu")); relevance is scored on the matches.
  words: { searchTerms: 1 },
} as const;
for (const keys of Object.values(selectiveFilterIndexes)) auctionItemSchema.index(keys);
// The import's idempotency: one item per external id. Sparse, so that items without one (created
// through the API) do not all collide on a missing value; not partial, which the embedded engine
// ignores (it then refused every second item without an external id as a duplicate).
auctionItemSchema.index({ externalId: 1 }, { unique: true, sparse: true });

/** The collection's indexes, created at startup (see `ensureIndexes`). */
export { auctionItemSchema };

/** The AuctionItem model bound to one connection (one per database, so tests stay isolated). */
export function auctionItemModel(connection: Connection): Model<AuctionItemRecord> {
  return (
    (connection.models.AuctionItem as Model<AuctionItemRecord> | undefined) ??
    connection.model<AuctionItemRecord>('AuctionItem', auctionItemSchema)
  );
}
