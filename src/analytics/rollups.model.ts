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
 * unique-session and unique-user sketches live in a document of their own with the same `_id`
 * ({@link ItemDaySketchRecord}). Analytics reads these instead of raw events, so a query costs
 * what the number of (item, day) documents in its range costs, not what the number of events
 * costs.
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
  /**
   * The day's unique sketches as Gavel stored them beside the counters before they moved to
   * `item_day_sketches` ({@link ItemDaySketchRecord}): read until `gavel rollups move-sketches`
   * moves them (`legacySketches.ts`).
   */
  sessionSketch?: Uint8Array;
  /** The users' sketch as stored beside the counters before, likewise. */
  userSketch?: Uint8Array;
  /** The write token of a sketch stored beside the counters (see {@link ItemDaySketchRecord.write}). */
  sketchWrite?: Types.ObjectId;
  /**
   * Registers as a sub-document (register → rank), as Gavel stored sketches before they were
   * encoded: moved and read like `sessionSketch`.
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

/**
 * The unique-session and unique-user sketches of one item for one UTC day, written by the sketch
 * writer (`sketchWriter.ts`, `sketchStore.ts`), which merges the flushes of a second in memory and
 * writes each changed sketch once, encoded in at most 4 KiB (`encodeSketch`).
 *
 * Apart from the counters because an engine that rewrites a whole row on every update
 * (DocumentDB) paid for the sketch's KiB on every counter `$inc` when they shared one: measured,
 * a counter update of a row carrying 4 KiB of sketch cost 1.55× one of a row without. And a
 * sketch write here touches this collection's three indexes, not the rollups' four.
 */
export interface ItemDaySketchRecord {
  /** The item-day's `_id` ({@link itemDayId}). */
  _id: string;
  /** The item (the shard key). */
  itemId: Types.ObjectId;
  /** Start of the UTC day (retention expires sketches with their rollups). */
  day: Date;
  /** HyperLogLog registers of the day's distinct sessions, encoded by `encodeSketch` (see `uniqueSketch.ts`). */
  sessions?: Uint8Array;
  /** HyperLogLog registers of the day's distinct signed-in users, encoded likewise. */
  users?: Uint8Array;
  /**
   * A token the sketch writer sets with every write and names in the next one's filter: a write
   * based on a stale read matches nothing and is merged and sent again.
   */
  write: Types.ObjectId;
}

/** The collection of {@link ItemDaySketchRecord}. */
export const ITEM_DAY_SKETCHES = 'item_day_sketches';

const itemDaySketchSchema = new Schema<ItemDaySketchRecord>(
  {
    _id: { type: String, required: true },
    itemId: { type: Schema.Types.ObjectId, required: true },
    day: { type: Date, required: true },
    sessions: { type: Buffer },
    users: { type: Buffer },
    write: { type: Schema.Types.ObjectId, required: true },
  },
  { collection: ITEM_DAY_SKETCHES, versionKey: false },
);
// Per-item unique figures read a range of days of some items; `{ day: 1 }` (the TTL index) is
// created by the retention repository, as for the rollups.
itemDaySketchSchema.index({ itemId: 1, day: 1 });

/** The item-day sketches' model bound to a connection. */
export function itemDaySketchModel(connection: Connection): Model<ItemDaySketchRecord> {
  return (
    (connection.models.ItemDaySketch as Model<ItemDaySketchRecord> | undefined) ??
    connection.model<ItemDaySketchRecord>('ItemDaySketch', itemDaySketchSchema)
  );
}

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
