import type { Connection } from 'mongoose';
import { upsertsRetryingRaces } from '../db/bulkWrites';
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
      // Two upserts of one new bidder-week at once: one inserts, the other is sent again.
      await upsertsRetryingRaces(
        weeks,
        ordered.map(([_id, { bidder, week, userId, sessions }]) => ({
          updateOne: {
            filter: { _id },
            update: {
              $setOnInsert: { bidder, week, ...(userId !== undefined ? { userId } : {}) },
              $addToSet: { sessionId: { $each: [...sessions] } },
            },
            upsert: true,
          },
        })),
        'bidder-weeks',
      );
    },
    activityBefore: async (before) =>
      (await weeks
        .find({ week: { $lt: before } }, { projection: { _id: 0, bidder: 1, week: 1 } })
        .toArray()) as BidderActivity[],
    ensureIndexes: () => ensureSchemaIndexes(model),
  };
}
