import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { AnalyticsOverview } from '../analytics/analytics.types';
import { TimeRangeInput } from '../analytics/timeRange';
import type { GavelContext } from '../graphql/context';
import { badUserInput, unauthenticated } from '../shared/errors';
import { ItemAnalyticsUpdate } from './live.types';

type ItemArgs = { itemIds: string[]; range?: TimeRangeInput | null };
type OverviewArgs = { range?: TimeRangeInput | null };

/** The subscription's range as a function of time: a relative range moves, `today` rolls over. */
function rangeResolver({ services }: GavelContext, range: TimeRangeInput | null | undefined) {
  if (range == null) return (now: Date) => services.analytics.today(now);
  services.analytics.resolveRange(range); // Validates now, so a bad range fails the subscribe.
  return () => services.analytics.resolveRange(range);
}

/**
 * `@Authorized` guards each delivered message; this guards the subscribe itself, so that an
 * anonymous client never gets a subscription registered (and figures computed) at all.
 */
function requireViewer(context: GavelContext): void {
  if (!context.viewer.authenticated)
    throw unauthenticated('Live analytics need a token: send connectionParams.authorization.');
}

function connectionOf(context: GavelContext): string {
  if (!context.client.connectionId)
    throw badUserInput('subscription', 'Subscriptions are served over websockets (graphql-ws) at /graphql.');
  return context.client.connectionId;
}

/** Live analytics over graphql-ws: absolute figures, coalesced per interval, multiplexed. */
@Resolver()
export class LiveResolver {
  @Authorized()
  @Subscription(() => ItemAnalyticsUpdate, {
    description:
      'Figures of the items over the range (default: today, UTC): all at once on subscribe, then each item when it changes, at most once per LIVE_INTERVAL_MS.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ItemArgs, GavelContext>) => {
      requireViewer(context);
      for (const [index, id] of args.itemIds.entries()) context.services.analytics.parseItemId(id, `itemIds[${index}]`);
      return context.services.live.watchItems(args.itemIds, rangeResolver(context, args.range), connectionOf(context));
    },
  })
  itemAnalyticsUpdated(
    @Root() update: ItemAnalyticsUpdate,
    @Arg('itemIds', () => [ID]) _itemIds: string[],
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
  ): ItemAnalyticsUpdate {
    return update;
  }

  @Authorized()
  @Subscription(() => AnalyticsOverview, {
    description:
      'Dashboard totals over the range (default: today, UTC), pushed when they change, at most once per LIVE_INTERVAL_MS.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, OverviewArgs, GavelContext>) => {
      requireViewer(context);
      return context.services.live.watchOverview(rangeResolver(context, args.range), connectionOf(context));
    },
  })
  analyticsOverviewUpdated(
    @Root() overview: AnalyticsOverview,
    @Arg('range', () => TimeRangeInput, { nullable: true }) _range?: TimeRangeInput | null,
  ): AnalyticsOverview {
    return overview;
  }
}
