import { Field, Int, ObjectType } from 'type-graphql';
import type { EffectiveTimeRange } from '../analytics/timeRange';
import { Granularity } from '../analytics/analytics.types';
import { DAY_MS, HOUR_MS } from '../shared/clock';
import { badUserInput } from '../shared/errors';
import type { TrackingRepository } from './tracking.repository';
import { TrackingOutcome } from './trackingEvent.model';

/**
 * Longest range `trackingOutcomes` reads (7 days, plus the hour that rounding `last: "P7D"` to
 * whole hours adds): it scans the stored events of the range, by their time index.
 */
export const OUTCOMES_MAX_RANGE_MS = 7 * DAY_MS + HOUR_MS;

@ObjectType({
  description:
    'Tracked events (impressions and clicks) received in one bucket, by outcome. Exact: refused events beyond the audit sample are counted in aggregates.',
})
export class TrackingOutcomeBucket {
  @Field()
  bucketStart!: Date;

  @Field(() => Int)
  accepted!: number;

  @Field(() => Int)
  duplicate!: number;

  @Field(() => Int)
  rateLimited!: number;

  @Field(() => Int)
  rejectedBot!: number;

  @Field(() => Int)
  invalid!: number;

  @Field(() => Int)
  flagged!: number;
}

const FIELD: Record<TrackingOutcome, keyof Omit<TrackingOutcomeBucket, 'bucketStart'>> = {
  [TrackingOutcome.ACCEPTED]: 'accepted',
  [TrackingOutcome.DUPLICATE]: 'duplicate',
  [TrackingOutcome.RATE_LIMITED]: 'rateLimited',
  [TrackingOutcome.REJECTED_BOT]: 'rejectedBot',
  [TrackingOutcome.INVALID]: 'invalid',
  [TrackingOutcome.FLAGGED]: 'flagged',
};

/** Tracking outcomes over time, so that fraud and refusals are visible next to the counted events. */
export class TrackingOutcomesService {
  constructor(private readonly repository: Pick<TrackingRepository, 'outcomesByHour'>) {}

  /** One bucket per hour or UTC day of the range, zeros included, oldest first. */
  async overTime(range: EffectiveTimeRange, granularity: Granularity): Promise<TrackingOutcomeBucket[]> {
    if (range.to.getTime() - range.from.getTime() > OUTCOMES_MAX_RANGE_MS)
      throw badUserInput('range', 'trackingOutcomes covers at most 7 days (P7D); ask for a shorter range.');
    const step = granularity === Granularity.DAY ? DAY_MS : HOUR_MS;
    const first = Math.floor(range.from.getTime() / step) * step;
    const buckets = new Map<number, TrackingOutcomeBucket>();
    for (let at = first; at < range.to.getTime(); at += step)
      buckets.set(at, {
        bucketStart: new Date(at),
        accepted: 0,
        duplicate: 0,
        rateLimited: 0,
        rejectedBot: 0,
        invalid: 0,
        flagged: 0,
      });
    for (const row of await this.repository.outcomesByHour(range.from, range.to)) {
      const bucket = buckets.get(Math.floor(row.hour.getTime() / step) * step);
      const field = FIELD[row.outcome];
      if (bucket && field) bucket[field] += row.count;
    }
    return [...buckets.values()];
  }
}
