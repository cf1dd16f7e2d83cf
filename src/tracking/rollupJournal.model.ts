import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** One (item, hour) rollup bucket. */
export interface RollupBucket {
  /** The item counted. */
  itemId: Types.ObjectId;
  /** Start of the UTC hour. */
  hourBucket: Date;
}

/**
 * A tracking flush's promise to update the rollups of the buckets it counts events in. Written
 * before the flush stores its events and deleted once the counters are incremented, so a
 * journal entry that outlives its flush (a crash, a database error in between) tells the
 * recovery which buckets to rebuild from the stored events. One small document per flush,
 * instead of a mark on every event to set and clear.
 */
export interface RollupJournalRecord {
  _id: Types.ObjectId;
  /** The distinct (item, hour) buckets of the flush's accepted events (duplicates the index refuses included). */
  buckets: RollupBucket[];
  /** The latest of `buckets`' hours: the entry can be recovered once that hour has settled. */
  lastHourBucket: Date;
}

const rollupJournalSchema = new Schema<RollupJournalRecord>(
  {
    buckets: [{ _id: false, itemId: { type: Schema.Types.ObjectId, required: true }, hourBucket: Date }],
    lastHourBucket: { type: Date, required: true },
  },
  { collection: 'rollup_journal', versionKey: false },
);
// The recovery looks for settled entries on `{ lastHourBucket: 1 }`, also the journal's TTL
// index, created by the retention repository (`ensureTtlIndexes`).

/** The rollup journal model bound to a connection. */
export function rollupJournalModel(connection: Connection): Model<RollupJournalRecord> {
  return (
    (connection.models.RollupJournal as Model<RollupJournalRecord> | undefined) ??
    connection.model<RollupJournalRecord>('RollupJournal', rollupJournalSchema)
  );
}
