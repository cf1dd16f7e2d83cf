import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Granularity } from '../analytics/analytics.types';
import { TimeRangeInput } from '../analytics/timeRange';
import { Role } from '../auth/apiKey';
import type { GavelContext } from '../graphql/context';
import { TrackingOutcomeBucket } from './outcomes';

/** `Query.trackingOutcomes`: what happened to tracked events over time (the dashboard's fraud view). */
@Resolver()
export class TrackingOutcomesResolver {
  @Authorized(Role.ANALYST)
  @Query(() => [TrackingOutcomeBucket], {
    description:
      'Tracked events per bucket by outcome over a range (default: the last 24 hours; at most 7 days). Needs an ADMIN or ANALYST key.',
  })
  trackingOutcomes(
    @Ctx() { services }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
    @Arg('granularity', () => Granularity, { defaultValue: Granularity.HOUR }) granularity = Granularity.HOUR,
  ): Promise<TrackingOutcomeBucket[]> {
    return services.outcomes.overTime(services.analytics.resolveRange(range, 'range', { last: 'PT24H' }), granularity);
  }
}
