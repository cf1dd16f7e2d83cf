import { Arg, Authorized, Ctx, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { TimeRangeInput } from '../analytics/timeRange';
import { Role } from '../auth/apiKey';
import { requireRole } from '../auth/viewer';
import type { GavelContext } from '../graphql/context';
import { openOnIterate } from '../live/multiplexer';
import type { SearchAnalyticsArgs } from './searchAnalytics.service';
import { SearchAnalytics, SearchAnalyticsFilter } from './searchAnalytics.types';

/** `Query.searchAnalytics` and its live form: the rules live in `SearchAnalyticsService`. */
@Resolver(() => SearchAnalytics)
export class SearchAnalyticsResolver {
  @Authorized(Role.ANALYST)
  @Query(() => SearchAnalytics, {
    description:
      'What buyers searched for and clicked, over whole UTC days of a range (default: the last 7 days; at most ANALYTICS_MAX_RANGE_DAYS, within RETENTION_DAYS): top queries, zero-result queries and queries whose searches go unclicked, with click-through rates, mean click position, position-bias-corrected rates and the items clicked. Needs an ADMIN or ANALYST key.',
  })
  searchAnalytics(
    @Ctx() { services }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
    @Arg('filter', () => SearchAnalyticsFilter, { nullable: true }) filter?: SearchAnalyticsFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Queries per list: 1 to 50, default 10.' })
    first?: number | null,
  ): Promise<SearchAnalytics> {
    return services.searches.analytics(range, filter, first);
  }

  @Authorized(Role.ANALYST)
  @Subscription(() => SearchAnalytics, {
    description:
      'searchAnalytics, live: the figures at once, then again whenever they change, read at most once per LIVE_INTERVAL_MS (a relative range moves with the clock). Needs an ADMIN or ANALYST key.',
    // Checked at subscribe, so that no stream is opened (or read) for a caller or arguments refused.
    subscribe: ({ args, context }: SubscribeResolverData<unknown, SearchAnalyticsArgs, GavelContext>) => {
      requireRole(context.viewer, [Role.ANALYST], 'Live search analytics');
      const { searches } = context.services;
      searches.checkArguments(args);
      return openOnIterate(() => searches.watch(args));
    },
  })
  searchAnalyticsUpdated(
    @Root() analytics: SearchAnalytics,
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
    @Arg('filter', () => SearchAnalyticsFilter, { nullable: true }) _filter?: SearchAnalyticsFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Queries per list: 1 to 50, default 10.' })
    _first?: number | null,
  ): SearchAnalytics {
    return analytics;
  }
}
