/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Narrows a search; all given conditions must hold. */
export type AuctionItemFilter = {
  /** Any of these category slugs (1 to 20). */
  category?: Array<string> | null | undefined;
  createdAt?: DateTimeRangeInput | null | undefined;
  /** Only items priced in this currency. */
  currency?: string | null | undefined;
  /** E.g. ending within 24 h: { from: now, to: now + 24 h }. */
  endsAt?: DateTimeRangeInput | null | undefined;
  /** Current price range, minor units. */
  price?: MoneyRangeInput | null | undefined;
  sellerId?: string | number | null | undefined;
  /** Any of these statuses. */
  status?: Array<AuctionStatus> | null | undefined;
  /** Items carrying every one of these tags (1 to 20). */
  tags?: Array<string> | null | undefined;
};

/** Lifecycle of an auction: SCHEDULED → ACTIVE → ENDED, or CANCELLED before it ends. */
export type AuctionStatus =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'ENDED'
  | 'SCHEDULED';

/** What a buyer did on a lot: ITEM_VIEW → WATCH → BID → PURCHASE. */
export type ConversionKind =
  | 'BID'
  | 'ITEM_VIEW'
  | 'PURCHASE'
  | 'WATCH';

/** A range of instants: from (inclusive) to (exclusive). */
export type DateTimeRangeInput = {
  from?: string | null | undefined;
  to?: string | null | undefined;
};

export type FunnelBreakdown =
  /** The lot's category. */
  | 'CATEGORY'
  /** The traffic source of each journey's first touch (NONE: no tracked touch). */
  | 'SOURCE'
  /** The variant of filter.experiment that showed the lot: that of the journey's first impression or click tagged in it. Every declared variant is listed. */
  | 'VARIANT';

/** A step of the marketplace funnel, in its order: IMPRESSION → CLICK → ITEM_VIEW → WATCH → BID → PURCHASE (impressions and clicks from tracking, the rest from trackConversions). */
export type FunnelStep =
  | 'BID'
  | 'CLICK'
  | 'IMPRESSION'
  | 'ITEM_VIEW'
  | 'PURCHASE'
  | 'WATCH';

export type Granularity =
  | 'DAY'
  | 'HOUR';

/** An inclusive range of money in minor units. */
export type MoneyRangeInput = {
  max?: number | null | undefined;
  min?: number | null | undefined;
};

export type PopularityMetric =
  | 'CLICKS'
  /** Ignores items below ANALYTICS_CTR_MIN_IMPRESSIONS impressions. */
  | 'CTR'
  | 'IMPRESSIONS';

/** Either { from, to } (to defaults to now) or { last: ISO 8601 duration such as "P7D" or "PT24H" }. Aligned to whole UTC hours. */
export type TimeRangeInput = {
  from?: string | null | undefined;
  /** Weeks, days, hours and minutes only, e.g. "P7D", "PT6H". */
  last?: string | null | undefined;
  to?: string | null | undefined;
};

/** Where an impression or click happened. */
export type TrafficSource =
  | 'EXTERNAL'
  | 'HOME'
  | 'ITEM_PAGE'
  | 'OTHER'
  | 'RECOMMENDATION'
  | 'SEARCH';

export type FunnelLiveSubscriptionVariables = Exact<{
  range: TimeRangeInput;
  steps?: Array<FunnelStep> | FunnelStep | null | undefined;
  breakdown?: FunnelBreakdown | null | undefined;
}>;


export type FunnelLiveSubscription = { funnelUpdated: { range: { from: string, to: string }, steps: Array<{ step: FunnelStep, journeys: number, conversionFromPrevious: number | null, conversionFromFirst: number | null, medianSecondsFromPrevious: number | null }>, breakdown: Array<{ key: string, steps: Array<{ step: FunnelStep, journeys: number, conversionFromPrevious: number | null, conversionFromFirst: number | null, medianSecondsFromPrevious: number | null }> }> } };

export type FunnelStepRowFragment = { step: FunnelStep, journeys: number, conversionFromPrevious: number | null, conversionFromFirst: number | null, medianSecondsFromPrevious: number | null };

export type ExperimentLiveSubscriptionVariables = Exact<{
  experiment: string;
  conversion: ConversionKind;
}>;


export type ExperimentLiveSubscription = { experimentResultsUpdated: { control: string, conflictedSessions: number, sampleRatio: { pValue: number, mismatch: boolean }, variants: Array<{ variant: string, sessions: number, clickThroughRate: number | null, conversions: number, conversionRate: number | null, funnel: Array<{ step: FunnelStep, sessions: number, share: number | null }>, versusControl: { chanceToBeatControl: number | null, conversion: { value: number, low: number, high: number, pValue: number } | null, sequentialConversion: { value: number, low: number, high: number, pValue: number } | null, cupedConversion: { value: number, low: number, high: number, pValue: number } | null } | null }> } | null };

export type DifferenceFragment = { value: number, low: number, high: number, pValue: number };

export type SearchInsightsLiveSubscriptionVariables = Exact<{
  range: TimeRangeInput;
}>;


export type SearchInsightsLiveSubscription = { searchAnalyticsUpdated: { searches: number, zeroResultSearches: number, clicks: number, clickThroughRate: number | null, topQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, correctedClickThroughRate: number | null, meanClickPosition: number | null, filter: { category: Array<string> | null } | null }>, zeroResultQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, correctedClickThroughRate: number | null, meanClickPosition: number | null, filter: { category: Array<string> | null } | null }>, noClickQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, correctedClickThroughRate: number | null, meanClickPosition: number | null, filter: { category: Array<string> | null } | null }>, positions: Array<{ position: number, shown: number, clicks: number, clickThroughRate: number | null, relativeClickThroughRate: number | null }> } };

export type InsightQueryFragment = { query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, correctedClickThroughRate: number | null, meanClickPosition: number | null, filter: { category: Array<string> | null } | null };

export type SearchQueryVariables = Exact<{
  query?: string | null | undefined;
  filter?: AuctionItemFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}>;


export type SearchQuery = { auctionItems: { totalCount: number, edges: Array<{ node: { id: string, title: string, category: string, status: AuctionStatus, price: { amount: number, currency: string }, analytics: { impressions: number, clicks: number, ctr: number } | null } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null }, facets: { category: Array<{ value: string, count: number }>, status: Array<{ value: string, count: number }> } } };

export type ItemsLiveSubscriptionVariables = Exact<{
  itemIds: Array<string | number> | string | number;
}>;


export type ItemsLiveSubscription = { itemAnalyticsUpdated: { itemId: string, impressions: number, clicks: number, ctr: number } };

export type ItemDetailQueryVariables = Exact<{
  id: string | number;
  range: TimeRangeInput;
  granularity: Granularity;
}>;


export type ItemDetailQuery = { auctionItem: { id: string, title: string, category: string, status: AuctionStatus, sellerId: string, price: { amount: number, currency: string }, analytics: { impressions: number, clicks: number, ctr: number, uniqueSessions: number, bySource: Array<{ source: TrafficSource, impressions: number, clicks: number, ctr: number }>, timeSeries: Array<{ bucketStart: string, impressions: number, clicks: number }> } | null } | null };

export type OverviewLiveSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type OverviewLiveSubscription = { analyticsOverviewUpdated: { impressions: number, clicks: number, ctr: number, range: { from: string, to: string }, bySource: Array<{ source: TrafficSource, impressions: number, clicks: number, ctr: number }>, byCategory: Array<{ category: string, impressions: number, clicks: number, ctr: number }> } };

export type LeaderboardQueryVariables = Exact<{
  by: PopularityMetric;
}>;


export type LeaderboardQuery = { popularItems: Array<{ impressions: number, clicks: number, ctr: number, item: { id: string, title: string, category: string } }> };

export type OutcomesQueryVariables = Exact<{
  granularity: Granularity;
  range: TimeRangeInput;
}>;


export type OutcomesQuery = { trackingOutcomes: Array<{ bucketStart: string, accepted: number, duplicate: number, rateLimited: number, rejectedBot: number, invalid: number, flagged: number }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const FunnelStepRowFragmentDoc = new TypedDocumentString(`
    fragment FunnelStepRow on FunnelStepFigures {
  step
  journeys
  conversionFromPrevious
  conversionFromFirst
  medianSecondsFromPrevious
}
    `, {"fragmentName":"FunnelStepRow"}) as unknown as TypedDocumentString<FunnelStepRowFragment, unknown>;
export const DifferenceFragmentDoc = new TypedDocumentString(`
    fragment Difference on EstimatedDifference {
  value
  low
  high
  pValue
}
    `, {"fragmentName":"Difference"}) as unknown as TypedDocumentString<DifferenceFragment, unknown>;
export const InsightQueryFragmentDoc = new TypedDocumentString(`
    fragment InsightQuery on SearchQueryStats {
  query
  filter {
    category
  }
  searches
  zeroResults
  clicks
  unclickedSearches
  clickThroughRate
  correctedClickThroughRate
  meanClickPosition
}
    `, {"fragmentName":"InsightQuery"}) as unknown as TypedDocumentString<InsightQueryFragment, unknown>;
export const FunnelLiveDocument = new TypedDocumentString(`
    subscription FunnelLive($range: TimeRangeInput!, $steps: [FunnelStep!], $breakdown: FunnelBreakdown) {
  funnelUpdated(range: $range, steps: $steps, breakdown: $breakdown) {
    range {
      from
      to
    }
    steps {
      ...FunnelStepRow
    }
    breakdown {
      key
      steps {
        ...FunnelStepRow
      }
    }
  }
}
    fragment FunnelStepRow on FunnelStepFigures {
  step
  journeys
  conversionFromPrevious
  conversionFromFirst
  medianSecondsFromPrevious
}`) as unknown as TypedDocumentString<FunnelLiveSubscription, FunnelLiveSubscriptionVariables>;
export const ExperimentLiveDocument = new TypedDocumentString(`
    subscription ExperimentLive($experiment: String!, $conversion: ConversionKind!) {
  experimentResultsUpdated(experiment: $experiment, conversion: $conversion) {
    control
    conflictedSessions
    sampleRatio {
      pValue
      mismatch
    }
    variants {
      variant
      sessions
      clickThroughRate
      conversions
      conversionRate
      funnel {
        step
        sessions
        share
      }
      versusControl {
        conversion {
          ...Difference
        }
        sequentialConversion {
          ...Difference
        }
        cupedConversion {
          ...Difference
        }
        chanceToBeatControl
      }
    }
  }
}
    fragment Difference on EstimatedDifference {
  value
  low
  high
  pValue
}`) as unknown as TypedDocumentString<ExperimentLiveSubscription, ExperimentLiveSubscriptionVariables>;
export const SearchInsightsLiveDocument = new TypedDocumentString(`
    subscription SearchInsightsLive($range: TimeRangeInput!) {
  searchAnalyticsUpdated(range: $range, first: 10) {
    searches
    zeroResultSearches
    clicks
    clickThroughRate
    topQueries {
      ...InsightQuery
    }
    zeroResultQueries {
      ...InsightQuery
    }
    noClickQueries {
      ...InsightQuery
    }
    positions {
      position
      shown
      clicks
      clickThroughRate
      relativeClickThroughRate
    }
  }
}
    fragment InsightQuery on SearchQueryStats {
  query
  filter {
    category
  }
  searches
  zeroResults
  clicks
  unclickedSearches
  clickThroughRate
  correctedClickThroughRate
  meanClickPosition
}`) as unknown as TypedDocumentString<SearchInsightsLiveSubscription, SearchInsightsLiveSubscriptionVariables>;
export const SearchDocument = new TypedDocumentString(`
    query Search($query: String, $filter: AuctionItemFilter, $first: Int, $after: String, $last: Int, $before: String) {
  auctionItems(
    query: $query
    filter: $filter
    first: $first
    after: $after
    last: $last
    before: $before
  ) {
    totalCount
    edges {
      node {
        id
        title
        category
        status
        price {
          amount
          currency
        }
        analytics(range: {last: "PT24H"}) {
          impressions
          clicks
          ctr
        }
      }
    }
    pageInfo {
      hasNextPage
      hasPreviousPage
      startCursor
      endCursor
    }
    facets {
      category {
        value
        count
      }
      status {
        value
        count
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SearchQuery, SearchQueryVariables>;
export const ItemsLiveDocument = new TypedDocumentString(`
    subscription ItemsLive($itemIds: [ID!]!) {
  itemAnalyticsUpdated(itemIds: $itemIds, range: {last: "PT24H"}) {
    itemId
    impressions
    clicks
    ctr
  }
}
    `) as unknown as TypedDocumentString<ItemsLiveSubscription, ItemsLiveSubscriptionVariables>;
export const ItemDetailDocument = new TypedDocumentString(`
    query ItemDetail($id: ID!, $range: TimeRangeInput!, $granularity: Granularity!) {
  auctionItem(id: $id) {
    id
    title
    category
    status
    sellerId
    price {
      amount
      currency
    }
    analytics(range: $range) {
      impressions
      clicks
      ctr
      uniqueSessions
      bySource {
        source
        impressions
        clicks
        ctr
      }
      timeSeries(granularity: $granularity) {
        bucketStart
        impressions
        clicks
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ItemDetailQuery, ItemDetailQueryVariables>;
export const OverviewLiveDocument = new TypedDocumentString(`
    subscription OverviewLive {
  analyticsOverviewUpdated {
    range {
      from
      to
    }
    impressions
    clicks
    ctr
    bySource {
      source
      impressions
      clicks
      ctr
    }
    byCategory {
      category
      impressions
      clicks
      ctr
    }
  }
}
    `) as unknown as TypedDocumentString<OverviewLiveSubscription, OverviewLiveSubscriptionVariables>;
export const LeaderboardDocument = new TypedDocumentString(`
    query Leaderboard($by: PopularityMetric!) {
  popularItems(by: $by, first: 10, range: {last: "PT24H"}) {
    item {
      id
      title
      category
    }
    impressions
    clicks
    ctr
  }
}
    `) as unknown as TypedDocumentString<LeaderboardQuery, LeaderboardQueryVariables>;
export const OutcomesDocument = new TypedDocumentString(`
    query Outcomes($granularity: Granularity!, $range: TimeRangeInput!) {
  trackingOutcomes(granularity: $granularity, range: $range) {
    bucketStart
    accepted
    duplicate
    rateLimited
    rejectedBot
    invalid
    flagged
  }
}
    `) as unknown as TypedDocumentString<OutcomesQuery, OutcomesQueryVariables>;