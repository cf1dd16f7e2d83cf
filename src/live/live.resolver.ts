import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { AnalyticsOverview } from '../analytics/analytics.types';
import { TimeRangeInput } from '../analytics/timeRange';
import type { GavelContext } from '../graphql/context';
import { Role } from '../auth/apiKey';
import { requireItemAnalyticsAccess, requireRole } from '../auth/viewer';
import { ItemAnalyticsUpdate } from './live.types';
import { openOnIterate } from './multiplexer';

type ItemArgs = { itemIds: string[]; range?: TimeRangeInput | null };
type OverviewArgs = { range?: TimeRangeInput | null };

/** The subscription's range as a function of time: a relative range moves, `today` rolls over. */
function rangeResolver({ services }: GavelContext, range: TimeRangeInput | null | undefined) {
  if (range == null) return (now: Date) => services.analytics.today(now);
  services.analytics.resolveRange(range); // Validates now, so a bad range fails the subscribe.
  return () => services.analytics.resolveRange(range);
}

/**
 * `@Authorized` guards each delivered message; this guards the subscribe itself, so that a caller
 * without the right key never gets a subscription registered (and figures computed) at all.
 * A SELLER key may watch its own seller's items only: every id is checked (one catalog query)
 * before anything is registered; an unknown id counts as another seller's (no existence leak).
 */
async function requireItemsAccess(context: GavelContext, itemIds: readonly string[]): Promise<void> {
  requireRole(context.viewer, [Role.ANALYST, Role.SELLER], 'Live item analytics');
  if (context.viewer.role !== Role.SELLER) return;
  const sellers = await context.services.catalog.sellersOf(itemIds, 'itemIds');
  requireItemAnalyticsAccess(
    context.viewer,
    itemIds.map((id) => sellers.get(id)),
  );
}

/**
 * Live analytics over graphql-ws: absolute figures, coalesced per interval, multiplexed. Each
 * `subscribe` checks everything about its caller and arguments first and returns a stream that
 * opens only when iterated ({@link openOnIterate}): the multiplexer runs these checks for every
 * subscriber but opens one stream per distinct subscription.
 */
@Resolver()
export class LiveResolver {
  @Authorized(Role.ANALYST, Role.SELLER)
  @Subscription(() => ItemAnalyticsUpdate, {
    description:
      "Figures of the items over the range (default: today, UTC): all at once on subscribe, then each item when it changes, at most once per LIVE_INTERVAL_MS. Needs an ADMIN or ANALYST key, or a SELLER key of every item's seller.",
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, ItemArgs, GavelContext>) => {
      await requireItemsAccess(context, args.itemIds);
      for (const [index, id] of args.itemIds.entries()) context.services.analytics.parseItemId(id, `itemIds[${index}]`);
      const { live } = context.services;
      const itemIds = live.checkItems(args.itemIds);
      const range = rangeResolver(context, args.range);
      return openOnIterate(() => live.watchItems(itemIds, range));
    },
  })
  itemAnalyticsUpdated(
    @Root() update: ItemAnalyticsUpdate,
    @Arg('itemIds', () => [ID]) _itemIds: string[],
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
  ): ItemAnalyticsUpdate {
    return update;
  }

  @Authorized(Role.ANALYST)
  @Subscription(() => AnalyticsOverview, {
    description:
      'Dashboard totals over the range (default: today, UTC), pushed when they change, at most once per LIVE_INTERVAL_MS. Needs an ADMIN or ANALYST key.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, OverviewArgs, GavelContext>) => {
      requireRole(context.viewer, [Role.ANALYST], 'Live analytics overview');
      const { live } = context.services;
      const range = rangeResolver(context, args.range);
      return openOnIterate(() => live.watchOverview(range));
    },
  })
  analyticsOverviewUpdated(
    @Root() overview: AnalyticsOverview,
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
  ): AnalyticsOverview {
    return overview;
  }
}
