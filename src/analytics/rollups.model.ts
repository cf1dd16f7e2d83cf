import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { startOfDay } from '../shared/clock';
import type { StoredSketch } from './uniqueSketch';

/** Impressions and clicks of one source in one hour. */
export interface HourSourceCounters {
  impressions?: number;
  clicks?: number;
}

/**
 * The rollup of one item for one UTC day. Its counters are maintained by the tracking pipeline in
 * the same flush that stores the events, with one `$inc` upsert per (item, day) per flush; its
 * unique-session and unique-user sketches by the sketch writer (`sketchWriter.ts`), which merges
 * the flushes of a few seconds in memory and writes each changed sketch once, encoded in a few
 * KiB. Analytics reads these instead of raw events, so a query costs what the number of
 * (item, day) documents in its range costs, not what the number of events costs.
 *
 * The `_id` is derived ({@link itemDayId}): the tracking flush upserts and the per-item analytics
 * read by `_id`, which every engine serves from its primary index.
 */
export interface ItemDayRecord {
  /** `<item id>:<YYYY-MM-DD>`, see {@link itemDayId}. */
  _id: string;
  /** The item counted. */
  itemId: Types.ObjectId;
  /** Start of the UTC day. */
  day: Date;
  /** The item's category when the day was first written (for per-category figures). */
  category: string;
  /** Hour of the day ("0".."23") → source → counters; hours and sources without events are absent. */
  hours?: Record<string, Record<string, HourSourceCounters>>;
  /** HyperLogLog registers of the day's distinct sessions, encoded by `encodeSketch` (see `uniqueSketch.ts`). */
  sessionSketch?: Uint8Array;
  /** HyperLogLog registers of the day's distinct signed-in users, encoded likewise. */
  userSketch?: Uint8Array;
  /**
   * A token the sketch writer sets with every sketch write and names in the next one's filter:
   * a write based on a stale read matches nothing and is merged and sent again.
   */
  sketchWrite?: Types.ObjectId;
  /**
   * Registers as a sub-document (register → rank), as Gavel stored sketches before they were
   * encoded: still read, merged into the encoded sketch by its next write, and left in place (an
   * instance of the older version may still add to them during a rolling upgrade).
   */
  sessions?: StoredSketch;
  /** The users' registers as a sub-document, likewise. */
  users?: StoredSketch;
}

const itemDaySchema = new Schema<ItemDayRecord>(
  {
    _id: { type: String, required: true },
    itemId: { type: Schema.Types.ObjectId, required: true },
    day: { type: Date, required: true },
    category: { type: String, default: '' },
    hours: { type: Schema.Types.Mixed },
    sessionSketch: { type: Buffer },
    userSketch: { type: Buffer },
    sketchWrite: { type: Schema.Types.ObjectId },
    sessions: { type: Schema.Types.Mixed },
    users: { type: Schema.Types.Mixed },
  },
  { collection: 'item_days', versionKey: false },
);
// Marketplace-wide reads (overview, popular items, popularity refresh) and the retention purge
// select days by range on `{ day: 1 }`, which is also the rollups' TTL index and is therefore
// created by the retention repository (`ensureTtlIndexes`), not declared here; popular items
// within a category by category, then range.
itemDaySchema.index({ category: 1, day: 1 });
// Per-item analytics read a range of days of some items (analytics.repository.ts).
itemDaySchema.index({ itemId: 1, day: 1 });

/** The `_id` of an item's rollup for the UTC day containing `date`: `<item id>:<YYYY-MM-DD>`. */
export function itemDayId(itemId: Types.ObjectId | string, date: Date): string {
  const id = typeof itemId === 'string' ? itemId : itemId.toHexString();
  return `${id}:${startOfDay(date).toISOString().slice(0, 10)}`;
}

/** The rollup model bound to a connection. */
export function itemDayModel(connection: Connection): Model<ItemDayRecord> {
  return (
    (connection.models.ItemDay as Model<ItemDayRecord> | undefined) ??
    connection.model<ItemDayRecord>('ItemDay', itemDaySchema)
  );
}
