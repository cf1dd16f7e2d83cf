import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AuctionItem } from '../catalog/auctionItem.types';
import { EffectiveTimeRange } from './timeRange';

/** Where an impression or click happened (mirrors the tracking input's `source`). */
export enum TrafficSource {
  SEARCH = 'SEARCH',
  ITEM_PAGE = 'ITEM_PAGE',
  RECOMMENDATION = 'RECOMMENDATION',
  HOME = 'HOME',
  EXTERNAL = 'EXTERNAL',
  OTHER = 'OTHER',
}
registerEnumType(TrafficSource, { name: 'TrafficSource', description: 'Where an impression or click happened.' });

/** Width of a time-series bucket. */
export enum Granularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(Granularity, { name: 'Granularity' });

/** What `popularItems` ranks by. */
export enum PopularityMetric {
  IMPRESSIONS = 'IMPRESSIONS',
  CLICKS = 'CLICKS',
  CTR = 'CTR',
}
registerEnumType(PopularityMetric, {
  name: 'PopularityMetric',
  valuesConfig: { CTR: { description: 'Ignores items below ANALYTICS_CTR_MIN_IMPRESSIONS impressions.' } },
});

@ObjectType({ description: 'Impressions and clicks from one source.' })
export class SourceFigures {
  @Field(() => TrafficSource)
  source!: TrafficSource;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float, { description: 'clicks / impressions; 0 without impressions.' })
  ctr!: number;
}

@ObjectType({ description: 'Counts in one time bucket (UTC).' })
export class TimeSeriesPoint {
  @Field()
  bucketStart!: Date;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;
}

/** Engagement of one item over a range; resolved field by field from batched rollup reads. */
@ObjectType({
  description: 'Engagement of one item over a time range, from counted (deduplicated, non-fraudulent) events.',
})
export class ItemAnalytics {
  @Field(() => EffectiveTimeRange)
  range!: EffectiveTimeRange;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float, { description: 'clicks / impressions; 0 without impressions.' })
  ctr!: number;

  @Field(() => Int, {
    description:
      'Distinct sessions with a counted event, over the whole UTC days the range touches. Estimated with HyperLogLog: within about 5 % (3 standard errors of 1.6 %); within 2 of the exact count below 40.',
  })
  uniqueSessions!: number;

  @Field(() => Int, {
    description:
      'Distinct signed-in users with a counted event, over the whole UTC days the range touches. An event counts its userId only when its session was started for that user (startSession(userId)): one user per session, so one session cannot add more than one. (With TRACKING_REQUIRE_SIGNED_SESSIONS off, events of sessions startSession did not issue count the userId they carry.) Estimated like uniqueSessions.',
  })
  uniqueUsers!: number;

  @Field(() => [SourceFigures], { description: 'One entry per source with events.' })
  bySource!: SourceFigures[];

  @Field(() => [TimeSeriesPoint], { description: 'Every bucket of the range, zeros included.' })
  timeSeries!: TimeSeriesPoint[];
}

@ObjectType({ description: 'An item and its figures in a ranking.' })
export class PopularItem {
  @Field(() => AuctionItem)
  item!: AuctionItem;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float)
  ctr!: number;
}

@ObjectType({ description: 'Figures of one category.' })
export class CategoryFigures {
  @Field()
  category!: string;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float)
  ctr!: number;
}

@ObjectType({ description: 'Marketplace-wide figures over a range: the dashboard.' })
export class AnalyticsOverview {
  @Field(() => EffectiveTimeRange)
  range!: EffectiveTimeRange;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float)
  ctr!: number;

  @Field(() => [SourceFigures])
  bySource!: SourceFigures[];

  @Field(() => [CategoryFigures], { description: 'Most impressions first.' })
  byCategory!: CategoryFigures[];

  @Field(() => [PopularItem], { description: 'The 10 items with most impressions.' })
  topItems!: PopularItem[];
}

@ObjectType({
  description:
    "Engagement of one signed-in user over a range: counted events carrying the user's id in a session started for that user (see ItemAnalytics.uniqueUsers).",
})
export class UserAnalytics {
  @Field(() => ID)
  userId!: string;

  @Field(() => EffectiveTimeRange)
  range!: EffectiveTimeRange;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Int, { description: 'Distinct items with a counted impression.' })
  itemsViewed!: number;

  @Field(() => Int, { description: 'Distinct items with a counted click (from clicks, not impressions).' })
  itemsClicked!: number;

  @Field(() => Float)
  ctr!: number;
}
