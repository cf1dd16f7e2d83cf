import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { AuctionItem } from '../catalog/auctionItem.types';
import { Role } from '../auth/apiKey';
import { forbidden, requireItemAnalyticsAccess } from '../auth/viewer';
import type { GavelContext } from '../graphql/context';
import { badUserInput } from '../shared/errors';
import { ctr, type ItemRangeKey } from './analytics.service';
import {
  AnalyticsOverview,
  Granularity,
  ItemAnalytics,
  PopularItem,
  PopularityMetric,
  SourceFigures,
  TimeSeriesPoint,
  UserAnalytics,
} from './analytics.types';
import { EffectiveTimeRange, TimeRangeInput } from './timeRange';

/** Most items `popularItems` returns. */
const POPULAR_ITEMS_MAX = 100;

/** `AuctionItem.analytics`: hands the (item, range) to the ItemAnalytics fields, which batch. */
@Resolver(() => AuctionItem)
export class ItemAnalyticsFieldResolver {
  @FieldResolver(() => ItemAnalytics, {
    nullable: true,
    description:
      "Engagement over a range (default: the last 7 days). Needs an ADMIN or ANALYST key, or a SELLER key of the item's seller; null with UNAUTHENTICATED or FORBIDDEN otherwise.",
  })
  analytics(
    @Root() item: AuctionItem,
    @Ctx() { services, viewer }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
  ): ItemRangeKey {
    // Nullable, so a SELLER's search page with other sellers' items keeps those items (field null).
    requireItemAnalyticsAccess(viewer, [item.sellerId]);
    return { itemId: item.id, range: services.analytics.resolveRange(range) };
  }
}

/**
 * The fields of ItemAnalytics. Each one loads only what it needs through the request's loaders,
 * so a page of N items costs one read per kind of figure selected, not N.
 */
@Resolver(() => ItemAnalytics)
export class ItemAnalyticsResolver {
  @FieldResolver(() => EffectiveTimeRange)
  range(@Root() key: ItemRangeKey): EffectiveTimeRange {
    return key.range;
  }

  @FieldResolver(() => Int)
  async impressions(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<number> {
    return (await loaders.analytics.bySource.load(key)).reduce((sum, row) => sum + row.impressions, 0);
  }

  @FieldResolver(() => Int)
  async clicks(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<number> {
    return (await loaders.analytics.bySource.load(key)).reduce((sum, row) => sum + row.clicks, 0);
  }

  @FieldResolver(() => Number)
  async ctr(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<number> {
    const rows = await loaders.analytics.bySource.load(key);
    return ctr(
      rows.reduce((sum, row) => sum + row.clicks, 0),
      rows.reduce((sum, row) => sum + row.impressions, 0),
    );
  }

  @FieldResolver(() => Int)
  async uniqueSessions(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<number> {
    return (await loaders.analytics.uniques.load(key)).sessions;
  }

  @FieldResolver(() => Int)
  async uniqueUsers(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<number> {
    return (await loaders.analytics.uniques.load(key)).users;
  }

  @FieldResolver(() => [SourceFigures])
  bySource(@Root() key: ItemRangeKey, @Ctx() { loaders }: GavelContext): Promise<SourceFigures[]> {
    return loaders.analytics.bySource.load(key);
  }

  @FieldResolver(() => [TimeSeriesPoint])
  async timeSeries(
    @Root() key: ItemRangeKey,
    @Ctx() { loaders, services }: GavelContext,
    @Arg('granularity', () => Granularity, { defaultValue: Granularity.HOUR }) granularity: Granularity,
  ): Promise<TimeSeriesPoint[]> {
    return services.analytics.timeSeries(await loaders.analytics.hourly.load(key), key.range, granularity);
  }
}

/** Marketplace-level analytics queries. */
@Resolver()
export class AnalyticsQueryResolver {
  // A SELLER key ranks its own items only: the ranking is filtered before it is cut to `first`,
  // so it is a full top-N of them rather than the marketplace's top-N with the others removed.
  @Authorized(Role.ANALYST, Role.SELLER)
  @Query(() => [PopularItem], {
    description:
      "The most engaging items over a range (default: the last 7 days). Needs an ADMIN or ANALYST key (every item), or a SELLER key (its seller's items only).",
  })
  async popularItems(
    @Ctx() { services, viewer }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
    @Arg('by', () => PopularityMetric, { defaultValue: PopularityMetric.IMPRESSIONS })
    by: PopularityMetric = PopularityMetric.IMPRESSIONS,
    @Arg('category', () => String, { nullable: true }) category?: string | null,
    @Arg('first', () => Int, { defaultValue: 10, description: '1 to 100.' }) first = 10,
  ): Promise<PopularItem[]> {
    if (!Number.isInteger(first) || first < 1 || first > POPULAR_ITEMS_MAX) {
      throw badUserInput('first', `first must be from 1 to ${POPULAR_ITEMS_MAX}.`);
    }
    const metric = by === PopularityMetric.CLICKS ? 'clicks' : by === PopularityMetric.CTR ? 'ctr' : 'impressions';
    const sellerId = viewer.role === Role.SELLER ? viewer.sellerId : undefined;
    if (viewer.role === Role.SELLER && sellerId === undefined)
      throw forbidden('This SELLER key is bound to no seller.');
    return services.analytics.popularItems(
      services.analytics.resolveRange(range),
      metric,
      first,
      category ?? undefined,
      sellerId,
    );
  }

  @Authorized(Role.ANALYST)
  @Query(() => UserAnalytics, {
    description:
      "A signed-in user's engagement over a range (default: the last 7 days). Needs an ADMIN or ANALYST key.",
  })
  userAnalytics(
    @Ctx() { services }: GavelContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
  ): Promise<UserAnalytics> {
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(userId))
      throw badUserInput('userId', 'userId must be 1 to 128 letters, digits or _ . : -');
    return services.analytics.userAnalytics(userId, services.analytics.resolveRange(range));
  }

  @Authorized(Role.ANALYST)
  @Query(() => AnalyticsOverview, {
    description: 'Dashboard totals over a range (default: the last 7 days). Needs an ADMIN or ANALYST key.',
  })
  analyticsOverview(
    @Ctx() { services }: GavelContext,
    @Arg('range', () => TimeRangeInput, { nullable: true }) range?: TimeRangeInput | null,
  ): Promise<AnalyticsOverview> {
    return services.analytics.overview(services.analytics.resolveRange(range));
  }
}
