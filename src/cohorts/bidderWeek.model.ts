import { Schema, type Connection, type Model } from 'mongoose';

/**
 * One bidder's bids in one week (`cohort_bidder_weeks`): that the bidder bid that week, no more.
 * A bidder is the user the backend named with the bid, or its session when it named none. Written
 * by the funnel builder from the accepted BID conversions it reads; idempotent (the id is the
 * bidder and the week), so a rebuild writes nothing twice.
 */
export interface BidderWeekRecord {
  /** `<bidder>|<week as YYYY-MM-DD>`. */
  _id: string;
  /** `u:<userId>` or `s:<sessionId>` (stored forms, see `Pseudonymizer.storedId`). */
  bidder: string;
  /** Monday 00:00 UTC of the week. */
  week: Date;
  /** The user, when the bidder is one: erasure of the user finds it. */
  userId?: string;
  /** The sessions the bids came from: erasure of a session (or of its user) finds them. */
  sessionId: string[];
}

const bidderWeekSchema = new Schema<BidderWeekRecord>(
  {
    _id: { type: String, required: true },
    bidder: { type: String, required: true },
    week: { type: Date, required: true },
    userId: String,
    sessionId: { type: [String], default: [] },
  },
  { collection: 'cohort_bidder_weeks', versionKey: false },
);
// Cohorts read every bidder-week up to their last week; retention reads by week; erasure by user
// and by session. Named apart from other collections' indexes (see conversionEvent.model.ts).
bidderWeekSchema.index({ week: 1 }, { name: 'bidder_week_week' });
bidderWeekSchema.index({ userId: 1 }, { sparse: true, name: 'bidder_week_user' });
bidderWeekSchema.index({ sessionId: 1 }, { name: 'bidder_week_session' });

/** The collection of bidder-weeks. */
export const BIDDER_WEEKS = 'cohort_bidder_weeks';

/** The bidder-week model bound to a connection. */
export function bidderWeekModel(connection: Connection): Model<BidderWeekRecord> {
  return (
    (connection.models.BidderWeek as Model<BidderWeekRecord> | undefined) ??
    connection.model<BidderWeekRecord>('BidderWeek', bidderWeekSchema)
  );
}
