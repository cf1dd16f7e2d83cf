import type { Clock } from '../shared/clock';
import { badUserInput } from '../shared/errors';
import { cohortsOf, startOfWeek, WEEK_MS } from './cohorts';
import type { CohortsRepository } from './cohorts.repository';
import type { BidderCohorts } from './cohorts.types';

const CENTURY_MS = 100 * 365 * 86_400_000;

/** Most weeks one cohort query covers: half a year, beyond the default retention already. */
export const MAX_COHORT_WEEKS = 26;

/** Bidder cohorts and lifecycle, from the bidder-weeks the funnel builder records. */
export class CohortsService {
  constructor(
    private readonly repository: CohortsRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The `weeks` weeks that end with the one containing `through` (default: now): each week's
   * cohort with its retention row, and each week's lifecycle counts. One read.
   *
   * @throws BAD_USER_INPUT for a number of weeks outside 1..{@link MAX_COHORT_WEEKS}
   */
  async bidderCohorts(weeks: number, through: Date | null | undefined): Promise<BidderCohorts> {
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > MAX_COHORT_WEEKS)
      throw badUserInput('weeks', `weeks must be a whole number from 1 to ${MAX_COHORT_WEEKS}.`);
    const at = through ?? this.clock.now();
    // Bidders exist between the Unix epoch and a century from now; a date outside is a typo.
    if (Number.isNaN(at.getTime()) || at.getTime() < 0 || at.getTime() > this.clock.now().getTime() + CENTURY_MS)
      throw badUserInput('through', 'through must be a time between 1970 and a hundred years from now.');
    const last = startOfWeek(at).getTime();
    const mondays = Array.from({ length: weeks }, (_, index) => new Date(last - (weeks - 1 - index) * WEEK_MS));
    const { cohorts, lifecycle } = cohortsOf(await this.repository.activityBefore(new Date(last + WEEK_MS)), mondays);
    return {
      cohorts: cohorts.map(({ week, bidders, retained }) => ({
        week,
        bidders,
        retention: retained.map((count, weeksLater) => ({
          weeksLater,
          bidders: count,
          share: bidders === 0 ? 0 : count / bidders,
        })),
      })),
      lifecycle,
    };
  }
}
