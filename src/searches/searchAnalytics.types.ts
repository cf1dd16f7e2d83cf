import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { AuctionStatus } from '../catalog/auctionItem.model';
import { EffectiveTimeRange } from '../analytics/timeRange';

@InputType({ description: 'Narrows search analytics.' })
export class SearchAnalyticsFilter {
  @Field(() => [String], {
    nullable: true,
    description: 'Only searches made within one of these categories (filter.category; 1 to 20 slugs).',
  })
  category?: string[];
}

@ObjectType({ description: 'A price range of a search filter, minor units.' })
export class SearchedPriceRange {
  @Field(() => GraphQLSafeInt, { nullable: true })
  min!: number | null;

  @Field(() => GraphQLSafeInt, { nullable: true })
  max!: number | null;
}

@ObjectType({
  description: 'The filter a query was searched with (date ranges are not kept: they move with the clock).',
})
export class SearchedFilter {
  @Field(() => [String], { nullable: true })
  category!: string[] | null;

  @Field(() => [AuctionStatus], { nullable: true })
  status!: AuctionStatus[] | null;

  @Field(() => [String], { nullable: true })
  tags!: string[] | null;

  @Field(() => ID, { nullable: true })
  sellerId!: string | null;

  @Field(() => String, { nullable: true })
  currency!: string | null;

  @Field(() => SearchedPriceRange, { nullable: true })
  price!: SearchedPriceRange | null;
}

@ObjectType({ description: 'An item clicked from the results of a query.' })
export class ClickedItem {
  @Field(() => ID)
  itemId!: string;

  @Field(() => Int)
  clicks!: number;
}

@ObjectType({ description: 'One query under one filter on one day.' })
export class SearchQueryDay {
  @Field({ description: 'UTC midnight of the day.' })
  day!: Date;

  @Field(() => Int)
  searches!: number;

  @Field(() => Int)
  zeroResults!: number;

  @Field(() => Int)
  clicks!: number;
}

@ObjectType({ description: 'One query under one filter over the range.' })
export class SearchQueryStats {
  @Field({ description: 'The normalized words searched ("vintage watch").' })
  query!: string;

  @Field(() => SearchedFilter, { nullable: true, description: 'The filter that was active; null for none.' })
  filter!: SearchedFilter | null;

  @Field(() => Int, { description: 'Recorded searches (first pages; sampled by SEARCH_EVENTS_SAMPLE_RATE).' })
  searches!: number;

  @Field(() => Int, { description: 'Searches whose first page was empty.' })
  zeroResults!: number;

  @Field(() => Int, { description: 'Counted clicks on its results, from the sessions that searched.' })
  clicks!: number;

  @Field(() => Int, { description: 'Searches that found results and got no click (what noClickQueries ranks by).' })
  unclickedSearches!: number;

  @Field(() => Float, { nullable: true, description: 'clicks / searches; null without searches.' })
  clickThroughRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Mean position (0 = first result) of the clicks that said their position; null when none did.',
  })
  meanClickPosition!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Click-through rate corrected for position bias: each click weighted by 1 / (how much less often its position is clicked than the first, over every search of the range; see docs/search.md). Null without searches or without clicks at the first position in the range.',
  })
  correctedClickThroughRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'Server time of the first page, mean milliseconds.' })
  averageLatencyMs!: number | null;

  @Field(() => [SearchQueryDay], {
    description:
      'Its days in the range that had searches, oldest first: how demand moved (a zero-result query day by day is demand the catalog did not meet).',
  })
  daily!: SearchQueryDay[];

  @Field(() => [ClickedItem], {
    description: 'The most clicked items from its results (at most 5), most clicks first.',
  })
  clickedItems!: ClickedItem[];
}

@ObjectType({ description: 'How results at one position are clicked, over every search of the range.' })
export class SearchPositionStats {
  @Field(() => Int, { description: 'Position on the first page (0 = first); 20 stands for 20 and lower.' })
  position!: number;

  @Field(() => Int, { description: 'Searches that showed a result there.' })
  shown!: number;

  @Field(() => Int, { description: 'Attributed clicks on it.' })
  clicks!: number;

  @Field(() => Float, { nullable: true, description: 'clicks / shown.' })
  clickThroughRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      "The position's click-through rate relative to the first position's (1 at the first): the examination estimate the corrected rates divide by.",
  })
  relativeClickThroughRate!: number | null;
}

@ObjectType({ description: 'What buyers searched for and what they clicked, from the search rollups.' })
export class SearchAnalytics {
  @Field(() => EffectiveTimeRange, { description: 'Whole UTC days: the range read.' })
  range!: EffectiveTimeRange;

  @Field(() => Int)
  searches!: number;

  @Field(() => Int)
  zeroResultSearches!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float, { nullable: true, description: 'clicks / searches.' })
  clickThroughRate!: number | null;

  @Field(() => [SearchQueryStats], { description: 'The most searched queries.' })
  topQueries!: SearchQueryStats[];

  @Field(() => [SearchQueryStats], {
    description: 'Queries whose searches found nothing, most often first: demand the catalog does not meet.',
  })
  zeroResultQueries!: SearchQueryStats[];

  @Field(() => [SearchQueryStats], {
    description: 'Queries with the most searches that found results and got no click (unclickedSearches), most first.',
  })
  noClickQueries!: SearchQueryStats[];

  @Field(() => [SearchPositionStats], { description: 'Clicks by position: the position bias of the range.' })
  positions!: SearchPositionStats[];
}
