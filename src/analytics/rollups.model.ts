import { Schema, type Connection, type Model, type Types } from 'mongoose';

/**
 * Hourly counters per item and source, maintained by the tracking pipeline with `$inc` upserts in
 * the same flush that stores the events. Analytics reads these instead of raw events, so a query
 * costs what the number of buckets in its range costs, not what the number of events costs.
 */
export interface ItemRollupRecord {
  _id: Types.ObjectId;
  itemId: Types.ObjectId;
  /** Start of the UTC hour. */
  hourBucket: Date;
  source: string;
  /** The item's category when the bucket was first written (for per-category figures). */
  category: string;
  impressions: number;
  clicks: number;
}

const itemRollupSchema = new Schema<ItemRollupRecord>(
  {
    itemId: { type: Schema.Types.ObjectId, required: true },
    hourBucket: { type: Date, required: true },
    source: { type: String, required: true },
    category: { type: String, default: '' },
    impressions: { type: Number, default: 0 },
    clicks: { type: Number, default: 0 },
  },
  { collection: 'item_rollups', versionKey: false },
);
// The upsert key; also serves per-item range reads (itemId equality, hourBucket range).
itemRollupSchema.index({ itemId: 1, hourBucket: 1, source: 1 }, { unique: true });
// Marketplace-wide reads (overview, popular items, popularity refresh) by time range.
itemRollupSchema.index({ hourBucket: 1, itemId: 1 });

/**
 * Distinct sessions and users per item per UTC day: one document per (item, day, kind, value),
 * inserted (duplicates ignored by the unique index) in the tracking flush. Counting the distinct
 * values over a range gives exact unique counts; the cost grows with the uniques, not the events.
 */
export interface ItemDailyUniqueRecord {
  _id: Types.ObjectId;
  itemId: Types.ObjectId;
  /** Start of the UTC day. */
  day: Date;
  kind: 'session' | 'user';
  value: string;
}

const itemDailyUniqueSchema = new Schema<ItemDailyUniqueRecord>(
  {
    itemId: { type: Schema.Types.ObjectId, required: true },
    day: { type: Date, required: true },
    kind: { type: String, enum: ['session', 'user'], required: true },
    value: { type: String, required: true },
  },
  { collection: 'item_daily_uniques', versionKey: false },
);
itemDailyUniqueSchema.index({ itemId: 1, day: 1, kind: 1, value: 1 }, { unique: true });

/** The rollup model bound to a connection. */
export function itemRollupModel(connection: Connection): Model<ItemRollupRecord> {
  return (
    (connection.models.ItemRollup as Model<ItemRollupRecord> | undefined) ??
    connection.model<ItemRollupRecord>('ItemRollup', itemRollupSchema)
  );
}

/** The daily-uniques model bound to a connection. */
export function itemDailyUniqueModel(connection: Connection): Model<ItemDailyUniqueRecord> {
  return (
    (connection.models.ItemDailyUnique as Model<ItemDailyUniqueRecord> | undefined) ??
    connection.model<ItemDailyUniqueRecord>('ItemDailyUnique', itemDailyUniqueSchema)
  );
}
