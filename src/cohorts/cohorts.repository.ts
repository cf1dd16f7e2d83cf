import type { Connection } from 'mongoose';
import { bulkWriteRetryingConflicts, DUPLICATE_KEY } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { bidderWeekModel, type BidderWeekRecord } from './bidderWeek.model';
import { startOfWeek } from './cohorts';

/** An accepted bid, as the cohorts need it. */
export interface Bid {
  readonly sessionId: string;
  readonly userId?: string;
  /** When it was placed (ms). */
  readonly at: number;
}

/** One bidder active in one week. */
export interface BidderActivity {
  readonly bidder: string;
  readonly week: Date;
}

/** Storage of bidder-weeks. */
export interface CohortsRepository {
  /** Records that these bids' bidders bid in their weeks (idempotent). */
  recordBids(bids: readonly Bid[]): Promise<void>;
  /** Every bidder-week before `before`, in one read (the whole history kept: a bidder's first week may be long ago). */
  activityBefore(before: Date): Promise<BidderActivity[]>;
  ensureIndexes(): Promise<void>;
}

/** The bidder a bid counts for: its user, else its session. */
export function bidderOf(bid: Pick<Bid, 'sessionId' | 'userId'>): string {
  return bid.userId !== undefined ? `u:${bid.userId}` : `s:${bid.sessionId}`;
}

/** Binds cohort storage to a connection. */
export function createCohortsRepository(connection: Connection): CohortsRepository {
  const model = bidderWeekModel(connection);
  const weeks = connection.collection<BidderWeekRecord>(model.collection.collectionName);
  return {
    recordBids: async (bids) => {
      if (bids.length === 0) return;
      const sessionsOf = new Map<string, { bidder: string; week: Date; userId?: string; sessions: Set<string> }>();
      for (const bid of bids) {
        const bidder = bidderOf(bid);
        const week = startOfWeek(new Date(bid.at));
        const id = `${bidder}|${week.toISOString().slice(0, 10)}`;
        let entry = sessionsOf.get(id);
        if (!entry)
          sessionsOf.set(
            id,
            (entry = {
              bidder,
              week,
              ...(bid.userId !== undefined ? { userId: bid.userId } : {}),
              sessions: new Set(),
            }),
          );
        entry.sessions.add(bid.sessionId);
      }
      // In id order, so that two builders (one whose lease lapsed) lock documents in one order.
      const ordered = [...sessionsOf].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      let operations = ordered.map(([_id, { bidder, week, userId, sessions }]) => ({
        updateOne: {
          filter: { _id },
          update: {
            $setOnInsert: { bidder, week, ...(userId !== undefined ? { userId } : {}) },
            $addToSet: { sessionId: { $each: [...sessions] } },
          },
          upsert: true,
        },
      }));
      for (let attempt = 1; operations.length > 0; attempt++) {
        // An upsert sent twice changes nothing: repeating a command of unknown outcome is exact.
        const failed = await bulkWriteRetryingConflicts(weeks, operations, { unknownOutcome: 'repeat' });
        // Two upserts of one new document at once: one inserts, the other meets its key and, sent
        // again, updates it.
        const raced = failed.filter((write) => write.code === DUPLICATE_KEY);
        if (raced.length < failed.length || (raced.length > 0 && attempt === 2))
          throw new Error(
            `${failed.length} bidder-weeks could not be written (codes ${failed.map((w) => w.code).join(', ')})`,
          );
        operations = raced.map((write) => operations[write.index]!);
      }
    },
    activityBefore: async (before) =>
      (await weeks
        .find({ week: { $lt: before } }, { projection: { _id: 0, bidder: 1, week: 1 } })
        .toArray()) as BidderActivity[],
    ensureIndexes: () => ensureSchemaIndexes(model),
  };
}
