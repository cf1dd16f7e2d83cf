import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { requireRole } from '../auth/viewer';
import { openOnIterate } from '../live/multiplexer';
import { Role } from '../auth/apiKey';
import type { ItemRangeKey } from '../analytics/analytics.service';
import { ItemAnalytics } from '../analytics/analytics.types';
import { TimeRangeInput } from '../analytics/timeRange';
import type { GavelContext } from '../graphql/context';
import { FunnelStep } from './journeys';
import { Funnel, FunnelBreakdown, FunnelFilter } from './funnels.types';

const STEPS_DESCRIPTION =
  'The steps, 2 to 6 in the funnel order (default: all six), e.g. [IMPRESSION, CLICK, BID, PURCHASE].';

/** The marketplace's funnels (ANALYST; SELLER: its own lots). */
@Resolver()
export class FunnelResolver {
  @Authorized(Role.ANALYST, Role.SELLER)
  @Query(() => Funnel, {
    description:
      'Journeys through ordered steps over the whole UTC days of a range (default: the last 7 days), for the marketplace, one category or one seller, optionally broken down. Needs an ADMIN or ANALYST key, or a SELLER key (its own lots). Built every FUNNEL_REFRESH_MS from events received FUNNEL_SETTLE_MS ago or earlier.',
  })
  funnel(
    @Ctx() { services, viewer }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
    @Arg('steps', () => [FunnelStep], { nullable: true, description: STEPS_DESCRIPTION }) steps?: FunnelStep[] | null,
    @Arg('breakdown', () => FunnelBreakdown, { nullable: true }) breakdown?: FunnelBreakdown | null,
    @Arg('filter', () => FunnelFilter, { nullable: true }) filter?: FunnelFilter | null,
  ): Promise<Funnel> {
    return services.funnels.funnel(viewer, services.analytics.resolveRange(range), steps, breakdown, filter);
  }
}

/** `Subscription.funnelUpdated`: the same funnel, pushed when it changes. */
@Resolver()
export class FunnelLiveResolver {
  @Authorized(Role.ANALYST, Role.SELLER)
  @Subscription(() => Funnel, {
    description:
      'funnel, live: the funnel at once, then again whenever it changes, read at most once per FUNNEL_REFRESH_MS (how often it is built; a relative range moves with the clock). ANALYST, or SELLER for its own lots.',
    // Checked at subscribe, so that no stream is opened (or read) for a caller or arguments refused.
    subscribe: ({ args, context }: SubscribeResolverData<unknown, FunnelArgs, GavelContext>) => {
      const { services, viewer } = context;
      requireRole(viewer, [Role.ANALYST, Role.SELLER], 'A live funnel');
      services.funnels.checkArguments(viewer, args.steps, args.breakdown, args.filter);
      services.analytics.resolveRange(args.range);
      return openOnIterate(() =>
        services.funnels.watch(
          viewer,
          () => services.analytics.resolveRange(args.range),
          args.steps,
          args.breakdown,
          args.filter,
        ),
      );
    },
  })
  funnelUpdated(
    @Root() funnel: Funnel,
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
    @Arg('steps', () => [FunnelStep], { nullable: true, description: STEPS_DESCRIPTION }) _steps?: FunnelStep[] | null,
    @Arg('breakdown', () => FunnelBreakdown, { nullable: true }) _breakdown?: FunnelBreakdown | null,
    @Arg('filter', () => FunnelFilter, { nullable: true }) _filter?: FunnelFilter | null,
  ): Funnel {
    return funnel;
  }
}

/** The arguments of `funnel` and `funnelUpdated`. */
interface FunnelArgs {
  range?: TimeRangeInput | null;
  steps?: FunnelStep[] | null;
  breakdown?: FunnelBreakdown | null;
  filter?: FunnelFilter | null;
}

/** `AuctionItem.analytics.funnel`: one lot's funnel, every lot of a page read at once. */
@Resolver(() => ItemAnalytics)
export class ItemFunnelResolver {
  @FieldResolver(() => Funnel, { description: "This lot's funnel over the analytics range's whole UTC days." })
  funnel(
    @Root() key: ItemRangeKey,
    @Ctx() { services, loaders, viewer }: GavelContext,
    @Arg('steps', () => [FunnelStep], { nullable: true, description: STEPS_DESCRIPTION }) steps?: FunnelStep[] | null,
    @Arg('breakdown', () => FunnelBreakdown, {
      nullable: true,
      description: 'SOURCE, or VARIANT with experiment: a lot has one category.',
    })
    breakdown?: FunnelBreakdown | null,
    @Arg('experiment', () => String, {
      nullable: true,
      description:
        'Journeys tagged in this defined experiment only (see FunnelFilter.experiment). Needs an ADMIN or ANALYST key.',
    })
    experiment?: string | null,
  ): Promise<Funnel> {
    return services.funnels.itemFunnel(viewer, loaders.funnels, key, steps, breakdown, experiment);
  }
}
