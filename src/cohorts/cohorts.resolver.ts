import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/apiKey';
import type { GavelContext } from '../graphql/context';
import { MAX_COHORT_WEEKS } from './cohorts.service';
import { BidderCohorts } from './cohorts.types';

/** The marketplace's bidder cohorts (ANALYST). */
@Resolver()
export class CohortsResolver {
  @Authorized(Role.ANALYST)
  @Query(() => BidderCohorts, {
    description:
      'Bidders by the week (Monday, UTC) of their first bid: the retention matrix, and new / returning / resurrecting / dormant bidders per week. Needs an ADMIN or ANALYST key.',
  })
  bidderCohorts(
    @Ctx() { services }: GavelContext,
    @Arg('weeks', () => Int, { defaultValue: 8, description: `Weeks covered, 1 to ${MAX_COHORT_WEEKS}.` })
    weeks: number,
    @Arg('through', () => Date, {
      nullable: true,
      description: 'A time in the last week covered (default: now).',
    })
    through?: Date | null,
  ): Promise<BidderCohorts> {
    return services.cohorts.bidderCohorts(weeks, through);
  }
}
