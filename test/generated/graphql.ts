/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
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

/** Order of search results; ties are broken by id. */
export type AuctionItemOrder = {
  direction?: SortDirection;
  field: AuctionItemOrderField;
};

export type AuctionItemOrderField =
  | 'CREATED_AT'
  | 'ENDS_AT'
  /** Impressions over the last POPULARITY_WINDOW_HOURS, refreshed every POPULARITY_REFRESH_MS from the rollups: exact below 100, then to two significant digits (items within a step tie, ordered by id). */
  | 'POPULARITY'
  /** Current price in minor units (combine with filter.currency to compare like with like). */
  | 'PRICE'
  /** Best matches of `query` first (title matches above description and tags); needs `query`. */
  | 'RELEVANCE';

/** Lifecycle of an auction: SCHEDULED → ACTIVE → ENDED, or CANCELLED before it ends. */
export type AuctionStatus =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'ENDED'
  | 'SCHEDULED';

/** A click on an item; counted only after an impression of it in the same session. */
export type ClickInput = {
  /** The experiment the session is in where the item was shown (1 to 64 letters, digits or _ . : -), sent with `variant`: experimentResults compares its variants. */
  experiment?: string | null | undefined;
  itemId: string | number;
  /** Rank in the result list (0 to 10,000). */
  position?: number | null | undefined;
  /** The `searchId` of the search whose results showed the item (`auctionItems.searchId`): a counted click then counts for that search's query in searchAnalytics, with its `position`, when it comes from the session that searched. */
  searchId?: string | number | null | undefined;
  /** A sessionId from startSession (required when TRACKING_REQUIRE_SIGNED_SESSIONS is on); otherwise 1 to 128 letters, digits or _ . : - */
  sessionId: string;
  source: TrafficSource;
  /** When it happened on the client. Stamp it once and send the same value on every retry: within TRACKING_RETRY_WINDOW_MS (5 min) it picks the dedup window, so a retry of a stored event is DUPLICATE. Counters use the server receive time; more than TRACKING_MAX_CLOCK_SKEW_MS ahead is INVALID. */
  timestamp?: string | null | undefined;
  /** The signed-in user, if any: 1 to 128 letters, digits or _ . : - (another value makes the event INVALID and is stored only as a keyed pseudonym). It counts toward uniqueUsers and userAnalytics only when the session was started for this user (startSession(userId)); otherwise the event counts without a user and its reason says why. With TRACKING_REQUIRE_SIGNED_SESSIONS off, events of sessions startSession did not issue count the userId they carry (nothing about them can be verified). */
  userId?: string | number | null | undefined;
  /** The variant of `experiment` this session sees (1 to 64 letters, digits or _ . : -). */
  variant?: string | null | undefined;
};

/** A view, watch, bid or purchase of a lot, reported by the marketplace backend. */
export type ConversionInput = {
  /** Required on BID and PURCHASE (more than 0, in the lot's currency); refused on the others. */
  amount?: MoneyInput | null | undefined;
  /** Your id of this conversion (1 to 128 letters, digits or _ . : -), unique per item: a retry with the same eventId is DUPLICATE, never counted twice. */
  eventId: string;
  itemId: string | number;
  kind: ConversionKind;
  /** When it happened (default: when it is received). The lot's rules use it: a BID at or after the lot's endsAt is INVALID. At most TRACKING_MAX_CLOCK_SKEW_MS ahead, CONVERSION_MAX_DELAY_DAYS behind. */
  occurredAt?: string | null | undefined;
  /** The buyer's tracking session (the sessionId the web app sends with its impressions and clicks): attribution looks for that session's touches of the item. */
  sessionId: string;
  /** The signed-in buyer, as tracking receives it. */
  userId?: string | number | null | undefined;
};

/** What a buyer did on a lot: ITEM_VIEW → WATCH → BID → PURCHASE. */
export type ConversionKind =
  | 'BID'
  | 'ITEM_VIEW'
  | 'PURCHASE'
  | 'WATCH';

/** What happened to a reported conversion; only ACCEPTED ones are stored and counted. */
export type ConversionOutcome =
  | 'ACCEPTED'
  | 'DUPLICATE'
  | 'INVALID';

/** A new auction item. The current price starts at the starting price. */
export type CreateAuctionItemInput = {
  /** Category slug: lowercase letters, digits and dashes, up to 40 characters. */
  category: string;
  /** Up to 5,000 characters. */
  description?: string | null | undefined;
  /** When bidding closes; after startsAt and in the future, at most 365 days after startsAt. */
  endsAt: string;
  /** The seller: 1 to 64 letters, digits or _ . : - */
  sellerId: string | number;
  startingPrice: MoneyInput;
  /** When bidding opens; the item is ACTIVE at once when this is not in the future. */
  startsAt: string;
  /** Up to 20 tags of up to 32 characters each. */
  tags?: Array<string> | null | undefined;
  /** 3 to 140 characters. */
  title: string;
};

/** A range of instants: from (inclusive) to (exclusive). */
export type DateTimeRangeInput = {
  from?: string | null | undefined;
  to?: string | null | undefined;
};

/** An experiment: its key, its variants and its control. */
export type ExperimentInput = {
  /** The variant the others are compared with (default: the first). */
  control?: string | null | undefined;
  /** The key the pages tag events with (1 to 64 letters, digits or _ . : -). */
  key: string;
  /** 2 to 20 variants. */
  variants: Array<VariantInput>;
};

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

/** An impression: the item was shown to a session. */
export type ImpressionInput = {
  /** The experiment the session is in where the item was shown (1 to 64 letters, digits or _ . : -), sent with `variant`: experimentResults compares its variants. */
  experiment?: string | null | undefined;
  itemId: string | number;
  /** Rank in the result list (0 to 10,000). */
  position?: number | null | undefined;
  /** The `searchId` of the search whose results showed the item (`auctionItems.searchId`): a counted click then counts for that search's query in searchAnalytics, with its `position`, when it comes from the session that searched. */
  searchId?: string | number | null | undefined;
  /** A sessionId from startSession (required when TRACKING_REQUIRE_SIGNED_SESSIONS is on); otherwise 1 to 128 letters, digits or _ . : - */
  sessionId: string;
  source: TrafficSource;
  /** When it happened on the client. Stamp it once and send the same value on every retry: within TRACKING_RETRY_WINDOW_MS (5 min) it picks the dedup window, so a retry of a stored event is DUPLICATE. Counters use the server receive time; more than TRACKING_MAX_CLOCK_SKEW_MS ahead is INVALID. */
  timestamp?: string | null | undefined;
  /** The signed-in user, if any: 1 to 128 letters, digits or _ . : - (another value makes the event INVALID and is stored only as a keyed pseudonym). It counts toward uniqueUsers and userAnalytics only when the session was started for this user (startSession(userId)); otherwise the event counts without a user and its reason says why. With TRACKING_REQUIRE_SIGNED_SESSIONS off, events of sessions startSession did not issue count the userId they carry (nothing about them can be verified). */
  userId?: string | number | null | undefined;
  /** The variant of `experiment` this session sees (1 to 64 letters, digits or _ . : -). */
  variant?: string | null | undefined;
};

/** An amount of money in integer minor units of an ISO 4217 currency. */
export type MoneyInput = {
  /** Amount in minor units; must not be negative. */
  amount: number;
  /** ISO 4217 currency code, e.g. "EUR". */
  currency: string;
};

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

/** A kind of tracking data with its own retention period. */
export type RetentionDataType =
  | 'AUDIT_AGGREGATES'
  | 'AUDIT_EVENTS'
  | 'BIDDER_WEEKS'
  | 'CONVERSIONS'
  | 'COUNTED_EVENTS'
  | 'EXPERIMENT_EXPOSURES'
  | 'FUNNEL_JOURNEYS'
  | 'FUNNEL_ROLLUPS'
  | 'ROLLUPS'
  | 'ROLLUP_JOURNAL'
  | 'SEARCH_EVENTS'
  | 'SEARCH_LISTS'
  | 'SEARCH_ROLLUPS';

/** Narrows search analytics. */
export type SearchAnalyticsFilter = {
  /** Only searches made within one of these categories (filter.category; 1 to 20 slugs). */
  category?: Array<string> | null | undefined;
};

/** Where a suggestion goes in the next `auctionItems` call. */
export type SearchSuggestionKind =
  /** A category with open lots: search with `filter.category: [text]`. */
  | 'CATEGORY'
  /** A whole query that enough buyers searched and clicked a result of (`SUGGESTIONS_QUERY_MIN_SEARCHERS`: distinct sessions from as many client addresses): search with `query`. */
  | 'QUERY'
  /** A tag of open lots: search with `filter.tags: [text]`. */
  | 'TAG'
  /** A word of open lots' titles: search with `query`. */
  | 'WORD';

export type SortDirection =
  | 'ASC'
  | 'DESC';

/** Either { from, to } (to defaults to now) or { last: ISO 8601 duration such as "P7D" or "PT24H" }. Aligned to whole UTC hours. */
export type TimeRangeInput = {
  from?: string | null | undefined;
  /** Weeks, days, hours and minutes only, e.g. "P7D", "PT6H". */
  last?: unknown;
  to?: string | null | undefined;
};

/** The kind of tracked event a conversion is attributed to. */
export type TouchType =
  | 'CLICK'
  | 'IMPRESSION';

/** What happened to a tracked event; only ACCEPTED is counted. */
export type TrackingOutcome =
  | 'ACCEPTED'
  | 'DUPLICATE'
  | 'FLAGGED'
  | 'INVALID'
  | 'RATE_LIMITED'
  | 'REJECTED_BOT';

/** Where an impression or click happened. */
export type TrafficSource =
  | 'EXTERNAL'
  | 'HOME'
  | 'ITEM_PAGE'
  | 'OTHER'
  | 'RECOMMENDATION'
  | 'SEARCH';

/** Changes to an auction item; omitted fields stay as they are. */
export type UpdateAuctionItemInput = {
  category?: string | null | undefined;
  description?: string | null | undefined;
  endsAt?: string | null | undefined;
  /** New current price, in the item’s currency. */
  price?: MoneyInput | null | undefined;
  /** Only while SCHEDULED, in the item’s currency; a price still at the starting price moves with it. */
  startingPrice?: MoneyInput | null | undefined;
  /** Only while SCHEDULED. */
  startsAt?: string | null | undefined;
  /** Allowed: SCHEDULED → ACTIVE | CANCELLED, ACTIVE → ENDED | CANCELLED. */
  status?: AuctionStatus | null | undefined;
  tags?: Array<string> | null | undefined;
  title?: string | null | undefined;
};

/** A variant of an experiment, as the pages tag it. */
export type VariantInput = {
  /** The variant name the pages tag events with (1 to 64 letters, digits or _ . : -). */
  name: string;
  /** Its planned share of sessions, relative to the others (1 and 1: an even split; 90 and 10). */
  weight?: number | null | undefined;
};

export type AuctionItemFieldsFragment = { id: string, title: string, description: string, category: string, status: AuctionStatus, startsAt: string, endsAt: string, sellerId: string, tags: Array<string>, createdAt: string, updatedAt: string, price: { amount: number, currency: string }, startingPrice: { amount: number, currency: string } };

export type AuctionItemQueryVariables = Exact<{
  id: string | number;
}>;


export type AuctionItemQuery = { auctionItem: { id: string, title: string, description: string, category: string, status: AuctionStatus, startsAt: string, endsAt: string, sellerId: string, tags: Array<string>, createdAt: string, updatedAt: string, price: { amount: number, currency: string }, startingPrice: { amount: number, currency: string } } | null };

export type CreateAuctionItemMutationVariables = Exact<{
  input: CreateAuctionItemInput;
}>;


export type CreateAuctionItemMutation = { createAuctionItem: { id: string, title: string, description: string, category: string, status: AuctionStatus, startsAt: string, endsAt: string, sellerId: string, tags: Array<string>, createdAt: string, updatedAt: string, price: { amount: number, currency: string }, startingPrice: { amount: number, currency: string } } };

export type UpdateAuctionItemMutationVariables = Exact<{
  id: string | number;
  input: UpdateAuctionItemInput;
}>;


export type UpdateAuctionItemMutation = { updateAuctionItem: { id: string, title: string, description: string, category: string, status: AuctionStatus, startsAt: string, endsAt: string, sellerId: string, tags: Array<string>, createdAt: string, updatedAt: string, price: { amount: number, currency: string }, startingPrice: { amount: number, currency: string } } };

export type ImportedItemQueryVariables = Exact<{
  id: string | number;
}>;


export type ImportedItemQuery = { auctionItem: { id: string, externalId: string | null, title: string, status: AuctionStatus, tags: Array<string>, price: { amount: number, currency: string } } | null };

export type TrackConversionsMutationVariables = Exact<{
  events: Array<ConversionInput> | ConversionInput;
}>;


export type TrackConversionsMutation = { trackConversions: { accepted: number, duplicates: number, invalid: number, events: Array<{ index: number, outcome: ConversionOutcome, reason: string | null, firstTouch: { type: TouchType, source: TrafficSource, position: number | null, searchId: string | null, experiment: string | null, variant: string | null, at: string } | null, lastTouch: { type: TouchType, source: TrafficSource, position: number | null, searchId: string | null, experiment: string | null, variant: string | null, at: string } | null }> } };

export type DefineExperimentMutationVariables = Exact<{
  input: ExperimentInput;
}>;


export type DefineExperimentMutation = { defineExperiment: { key: string, control: string, updatedAt: string, variants: Array<{ name: string, weight: number }> } };

export type ExperimentsQueryVariables = Exact<{ [key: string]: never; }>;


export type ExperimentsQuery = { experiments: Array<{ key: string, control: string, variants: Array<{ name: string, weight: number }> }> };

export type ExperimentResultsQueryVariables = Exact<{
  experiment: string;
  control?: string | null | undefined;
  conversion?: ConversionKind;
}>;


export type ExperimentResultsQuery = { experimentResults: { experiment: string, control: string, conversion: ConversionKind, conflictedSessions: number, sampleRatio: { pValue: number, mismatch: boolean }, variants: Array<{ variant: string, sessions: number, impressions: number, clicks: number, clickThroughRate: number | null, conversions: number, conversionRate: number | null, funnel: Array<{ step: FunnelStep, sessions: number, share: number | null }>, versusControl: { chanceToBeatControl: number | null, conversion: { value: number, low: number, high: number, pValue: number } | null, cupedConversion: { value: number, low: number, high: number, pValue: number } | null, sequentialConversion: { value: number, low: number, high: number, pValue: number } | null, clickThroughRate: { value: number, low: number, high: number, pValue: number } | null } | null }> } };

export type PurgeExpiredDataMutationVariables = Exact<{
  dryRun?: boolean | null | undefined;
}>;


export type PurgeExpiredDataMutation = { purgeExpiredData: { dryRun: boolean, ranAt: string, types: Array<{ dataType: RetentionDataType, olderThan: string, count: number, archived: number, error: string | null }> } };

export type EraseSubjectMutationVariables = Exact<{
  userId?: string | number | null | undefined;
  sessionId?: string | null | undefined;
}>;


export type EraseSubjectMutation = { eraseSubject: { sessions: number, countedEvents: number, auditEvents: number, searchEvents: number, conversions: number, funnelJourneys: number, bidderWeeks: number, experimentExposures: number, archivedEvents: number, archiveFiles: number } };

export type SearchItemsQueryVariables = Exact<{
  query?: string | null | undefined;
  filter?: AuctionItemFilter | null | undefined;
  orderBy?: AuctionItemOrder | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}>;


export type SearchItemsQuery = { auctionItems: { edges: Array<{ cursor: string, node: { id: string, title: string, category: string, status: AuctionStatus, createdAt: string, endsAt: string, price: { amount: number, currency: string } } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null } } };

export type SearchTotalsQueryVariables = Exact<{
  query?: string | null | undefined;
  filter?: AuctionItemFilter | null | undefined;
}>;


export type SearchTotalsQuery = { auctionItems: { totalCount: number, facets: { category: Array<{ value: string, count: number }>, status: Array<{ value: string, count: number }>, priceBands: Array<{ min: number, max: number | null, count: number }> } } };

export type TypoSearchQueryVariables = Exact<{
  query: string;
  orderBy?: AuctionItemOrder | null | undefined;
}>;


export type TypoSearchQuery = { auctionItems: { didYouMean: string | null, totalCount: number, edges: Array<{ matchedTerms: Array<string>, node: { id: string, title: string } }> } };

export type SuggestQueryVariables = Exact<{
  prefix: string;
  filter?: AuctionItemFilter | null | undefined;
  first?: number | null | undefined;
}>;


export type SuggestQuery = { searchSuggestions: Array<{ kind: SearchSuggestionKind, text: string, query: string | null, openLots: number, corrected: boolean }> };

export type SuggestionCountQueryVariables = Exact<{
  query: string;
  filter?: AuctionItemFilter | null | undefined;
}>;


export type SuggestionCountQuery = { auctionItems: { totalCount: number } };

export type RecordedSearchQueryVariables = Exact<{
  query?: string | null | undefined;
  filter?: AuctionItemFilter | null | undefined;
  after?: string | null | undefined;
}>;


export type RecordedSearchQuery = { auctionItems: { searchId: string | null, edges: Array<{ node: { id: string } }>, pageInfo: { endCursor: string | null } } };

export type SearchInsightsQueryVariables = Exact<{
  range?: TimeRangeInput | null | undefined;
  filter?: SearchAnalyticsFilter | null | undefined;
  first?: number | null | undefined;
}>;


export type SearchInsightsQuery = { searchAnalytics: { searches: number, zeroResultSearches: number, clicks: number, clickThroughRate: number | null, range: { from: string, to: string }, topQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, meanClickPosition: number | null, correctedClickThroughRate: number | null, averageLatencyMs: number | null, filter: { category: Array<string> | null, status: Array<AuctionStatus> | null } | null, daily: Array<{ day: string, searches: number, zeroResults: number, clicks: number }>, clickedItems: Array<{ itemId: string, clicks: number }> }>, zeroResultQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, meanClickPosition: number | null, correctedClickThroughRate: number | null, averageLatencyMs: number | null, filter: { category: Array<string> | null, status: Array<AuctionStatus> | null } | null, daily: Array<{ day: string, searches: number, zeroResults: number, clicks: number }>, clickedItems: Array<{ itemId: string, clicks: number }> }>, noClickQueries: Array<{ query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, meanClickPosition: number | null, correctedClickThroughRate: number | null, averageLatencyMs: number | null, filter: { category: Array<string> | null, status: Array<AuctionStatus> | null } | null, daily: Array<{ day: string, searches: number, zeroResults: number, clicks: number }>, clickedItems: Array<{ itemId: string, clicks: number }> }>, positions: Array<{ position: number, shown: number, clicks: number, clickThroughRate: number | null, relativeClickThroughRate: number | null }> } };

export type QueryStatsFieldsFragment = { query: string, searches: number, zeroResults: number, clicks: number, unclickedSearches: number, clickThroughRate: number | null, meanClickPosition: number | null, correctedClickThroughRate: number | null, averageLatencyMs: number | null, filter: { category: Array<string> | null, status: Array<AuctionStatus> | null } | null, daily: Array<{ day: string, searches: number, zeroResults: number, clicks: number }>, clickedItems: Array<{ itemId: string, clicks: number }> };

export type TrackImpressionsMutationVariables = Exact<{
  events: Array<ImpressionInput> | ImpressionInput;
}>;


export type TrackImpressionsMutation = { trackImpressions: { accepted: number, duplicates: number, rateLimited: number, rejectedBots: number, invalid: number, flagged: number, events: Array<{ index: number, outcome: TrackingOutcome, reason: string | null }> } };

export type TrackClicksMutationVariables = Exact<{
  events: Array<ClickInput> | ClickInput;
}>;


export type TrackClicksMutation = { trackClicks: { accepted: number, duplicates: number, flagged: number, events: Array<{ index: number, outcome: TrackingOutcome, reason: string | null }> } };

export type ItemAnalyticsQueryVariables = Exact<{
  id: string | number;
  range?: TimeRangeInput | null | undefined;
}>;


export type ItemAnalyticsQuery = { auctionItem: { id: string, analytics: { impressions: number, clicks: number, ctr: number, uniqueSessions: number, uniqueUsers: number, range: { from: string, to: string }, bySource: Array<{ source: TrafficSource, impressions: number, clicks: number, ctr: number }>, timeSeries: Array<{ bucketStart: string, impressions: number, clicks: number }> } | null } | null };

export type SearchWithAnalyticsQueryVariables = Exact<{
  first?: number | null | undefined;
  range?: TimeRangeInput | null | undefined;
}>;


export type SearchWithAnalyticsQuery = { auctionItems: { edges: Array<{ node: { id: string, analytics: { impressions: number, clicks: number, ctr: number, uniqueSessions: number, bySource: Array<{ source: TrafficSource, clicks: number }> } | null } }> } };

export type PopularItemsQueryVariables = Exact<{
  range?: TimeRangeInput | null | undefined;
  by?: PopularityMetric | null | undefined;
  first?: number | null | undefined;
}>;


export type PopularItemsQuery = { popularItems: Array<{ impressions: number, clicks: number, ctr: number, item: { id: string } }> };

export type AnalyticsOverviewQueryVariables = Exact<{
  range?: TimeRangeInput | null | undefined;
}>;


export type AnalyticsOverviewQuery = { analyticsOverview: { impressions: number, clicks: number, ctr: number, bySource: Array<{ source: TrafficSource, impressions: number, clicks: number }>, byCategory: Array<{ category: string, impressions: number, clicks: number }>, topItems: Array<{ impressions: number, item: { id: string } }> } };

export type UserAnalyticsQueryVariables = Exact<{
  userId: string | number;
  range?: TimeRangeInput | null | undefined;
}>;


export type UserAnalyticsQuery = { userAnalytics: { userId: string, impressions: number, clicks: number, itemsViewed: number, itemsClicked: number, ctr: number } };

export type PopularSearchQueryVariables = Exact<{
  first?: number | null | undefined;
}>;


export type PopularSearchQuery = { auctionItems: { edges: Array<{ node: { id: string } }> } };

export type StartSessionMutationVariables = Exact<{
  userId?: string | number | null | undefined;
}>;


export type StartSessionMutation = { startSession: { sessionId: string, expiresAt: string } };

export type TrackingOutcomesQueryVariables = Exact<{
  range?: TimeRangeInput | null | undefined;
  granularity?: Granularity | null | undefined;
}>;


export type TrackingOutcomesQuery = { trackingOutcomes: Array<{ bucketStart: string, accepted: number, duplicate: number, rateLimited: number, rejectedBot: number, invalid: number, flagged: number }> };

export const AuctionItemFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AuctionItemFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startingPrice"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"sellerId"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<AuctionItemFieldsFragment, unknown>;
export const QueryStatsFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QueryStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SearchQueryStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"query"}},{"kind":"Field","name":{"kind":"Name","value":"filter"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}},{"kind":"Field","name":{"kind":"Name","value":"searches"}},{"kind":"Field","name":{"kind":"Name","value":"zeroResults"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"unclickedSearches"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"meanClickPosition"}},{"kind":"Field","name":{"kind":"Name","value":"correctedClickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"averageLatencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"daily"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"day"}},{"kind":"Field","name":{"kind":"Name","value":"searches"}},{"kind":"Field","name":{"kind":"Name","value":"zeroResults"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}},{"kind":"Field","name":{"kind":"Name","value":"clickedItems"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"itemId"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}}]}}]} as unknown as DocumentNode<QueryStatsFieldsFragment, unknown>;
export const AuctionItemDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AuctionItem"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItem"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AuctionItemFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AuctionItemFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startingPrice"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"sellerId"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<AuctionItemQuery, AuctionItemQueryVariables>;
export const CreateAuctionItemDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAuctionItem"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAuctionItemInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAuctionItem"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AuctionItemFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AuctionItemFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startingPrice"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"sellerId"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<CreateAuctionItemMutation, CreateAuctionItemMutationVariables>;
export const UpdateAuctionItemDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateAuctionItem"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateAuctionItemInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateAuctionItem"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AuctionItemFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AuctionItemFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startingPrice"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"sellerId"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<UpdateAuctionItemMutation, UpdateAuctionItemMutationVariables>;
export const ImportedItemDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ImportedItem"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItem"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"externalId"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}}]}}]}}]} as unknown as DocumentNode<ImportedItemQuery, ImportedItemQueryVariables>;
export const TrackConversionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TrackConversions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"events"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConversionInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trackConversions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"events"},"value":{"kind":"Variable","name":{"kind":"Name","value":"events"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"duplicates"}},{"kind":"Field","name":{"kind":"Name","value":"invalid"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"firstTouch"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"searchId"}},{"kind":"Field","name":{"kind":"Name","value":"experiment"}},{"kind":"Field","name":{"kind":"Name","value":"variant"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastTouch"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"searchId"}},{"kind":"Field","name":{"kind":"Name","value":"experiment"}},{"kind":"Field","name":{"kind":"Name","value":"variant"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]}}]}}]} as unknown as DocumentNode<TrackConversionsMutation, TrackConversionsMutationVariables>;
export const DefineExperimentDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DefineExperiment"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ExperimentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"defineExperiment"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"variants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"weight"}}]}},{"kind":"Field","name":{"kind":"Name","value":"control"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]} as unknown as DocumentNode<DefineExperimentMutation, DefineExperimentMutationVariables>;
export const ExperimentsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Experiments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"experiments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"variants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"weight"}}]}},{"kind":"Field","name":{"kind":"Name","value":"control"}}]}}]}}]} as unknown as DocumentNode<ExperimentsQuery, ExperimentsQueryVariables>;
export const ExperimentResultsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ExperimentResults"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"experiment"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"control"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"conversion"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConversionKind"}}},"defaultValue":{"kind":"EnumValue","value":"BID"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"experimentResults"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"experiment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"experiment"}}},{"kind":"Argument","name":{"kind":"Name","value":"control"},"value":{"kind":"Variable","name":{"kind":"Name","value":"control"}}},{"kind":"Argument","name":{"kind":"Name","value":"conversion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversion"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"experiment"}},{"kind":"Field","name":{"kind":"Name","value":"control"}},{"kind":"Field","name":{"kind":"Name","value":"conversion"}},{"kind":"Field","name":{"kind":"Name","value":"conflictedSessions"}},{"kind":"Field","name":{"kind":"Name","value":"sampleRatio"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pValue"}},{"kind":"Field","name":{"kind":"Name","value":"mismatch"}}]}},{"kind":"Field","name":{"kind":"Name","value":"variants"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"variant"}},{"kind":"Field","name":{"kind":"Name","value":"sessions"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"conversions"}},{"kind":"Field","name":{"kind":"Name","value":"conversionRate"}},{"kind":"Field","name":{"kind":"Name","value":"funnel"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"sessions"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}},{"kind":"Field","name":{"kind":"Name","value":"versusControl"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"pValue"}}]}},{"kind":"Field","name":{"kind":"Name","value":"cupedConversion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"pValue"}}]}},{"kind":"Field","name":{"kind":"Name","value":"sequentialConversion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"pValue"}}]}},{"kind":"Field","name":{"kind":"Name","value":"chanceToBeatControl"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"pValue"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ExperimentResultsQuery, ExperimentResultsQueryVariables>;
export const PurgeExpiredDataDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PurgeExpiredData"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purgeExpiredData"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"ranAt"}},{"kind":"Field","name":{"kind":"Name","value":"types"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dataType"}},{"kind":"Field","name":{"kind":"Name","value":"olderThan"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"archived"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]}}]} as unknown as DocumentNode<PurgeExpiredDataMutation, PurgeExpiredDataMutationVariables>;
export const EraseSubjectDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"EraseSubject"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"sessionId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eraseSubject"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"sessionId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"sessionId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sessions"}},{"kind":"Field","name":{"kind":"Name","value":"countedEvents"}},{"kind":"Field","name":{"kind":"Name","value":"auditEvents"}},{"kind":"Field","name":{"kind":"Name","value":"searchEvents"}},{"kind":"Field","name":{"kind":"Name","value":"conversions"}},{"kind":"Field","name":{"kind":"Name","value":"funnelJourneys"}},{"kind":"Field","name":{"kind":"Name","value":"bidderWeeks"}},{"kind":"Field","name":{"kind":"Name","value":"experimentExposures"}},{"kind":"Field","name":{"kind":"Name","value":"archivedEvents"}},{"kind":"Field","name":{"kind":"Name","value":"archiveFiles"}}]}}]}}]} as unknown as DocumentNode<EraseSubjectMutation, EraseSubjectMutationVariables>;
export const SearchItemsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SearchItems"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"query"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemOrder"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"last"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"before"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"query"},"value":{"kind":"Variable","name":{"kind":"Name","value":"query"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"Variable","name":{"kind":"Name","value":"last"}}},{"kind":"Argument","name":{"kind":"Name","value":"before"},"value":{"kind":"Variable","name":{"kind":"Name","value":"before"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"hasPreviousPage"}},{"kind":"Field","name":{"kind":"Name","value":"startCursor"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<SearchItemsQuery, SearchItemsQueryVariables>;
export const SearchTotalsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SearchTotals"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"query"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"query"},"value":{"kind":"Variable","name":{"kind":"Name","value":"query"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"facets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"category"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}},{"kind":"Field","name":{"kind":"Name","value":"priceBands"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"min"}},{"kind":"Field","name":{"kind":"Name","value":"max"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}}]}}]}}]} as unknown as DocumentNode<SearchTotalsQuery, SearchTotalsQueryVariables>;
export const TypoSearchDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"TypoSearch"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"query"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemOrder"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"query"},"value":{"kind":"Variable","name":{"kind":"Name","value":"query"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"didYouMean"}},{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"matchedTerms"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}}]}}]}}]} as unknown as DocumentNode<TypoSearchQuery, TypoSearchQueryVariables>;
export const SuggestDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Suggest"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"searchSuggestions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prefix"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"query"}},{"kind":"Field","name":{"kind":"Name","value":"openLots"}},{"kind":"Field","name":{"kind":"Name","value":"corrected"}}]}}]}}]} as unknown as DocumentNode<SuggestQuery, SuggestQueryVariables>;
export const SuggestionCountDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SuggestionCount"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"query"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"query"},"value":{"kind":"Variable","name":{"kind":"Name","value":"query"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}}]} as unknown as DocumentNode<SuggestionCountQuery, SuggestionCountQueryVariables>;
export const RecordedSearchDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RecordedSearch"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"query"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"AuctionItemFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"query"},"value":{"kind":"Variable","name":{"kind":"Name","value":"query"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"3"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"searchId"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<RecordedSearchQuery, RecordedSearchQueryVariables>;
export const SearchInsightsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SearchInsights"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"SearchAnalyticsFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"searchAnalytics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"range"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"to"}}]}},{"kind":"Field","name":{"kind":"Name","value":"searches"}},{"kind":"Field","name":{"kind":"Name","value":"zeroResultSearches"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"topQueries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"QueryStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"zeroResultQueries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"QueryStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"noClickQueries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"QueryStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"positions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"shown"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"relativeClickThroughRate"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QueryStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SearchQueryStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"query"}},{"kind":"Field","name":{"kind":"Name","value":"filter"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}},{"kind":"Field","name":{"kind":"Name","value":"searches"}},{"kind":"Field","name":{"kind":"Name","value":"zeroResults"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"unclickedSearches"}},{"kind":"Field","name":{"kind":"Name","value":"clickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"meanClickPosition"}},{"kind":"Field","name":{"kind":"Name","value":"correctedClickThroughRate"}},{"kind":"Field","name":{"kind":"Name","value":"averageLatencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"daily"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"day"}},{"kind":"Field","name":{"kind":"Name","value":"searches"}},{"kind":"Field","name":{"kind":"Name","value":"zeroResults"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}},{"kind":"Field","name":{"kind":"Name","value":"clickedItems"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"itemId"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}}]}}]} as unknown as DocumentNode<SearchInsightsQuery, SearchInsightsQueryVariables>;
export const TrackImpressionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TrackImpressions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"events"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ImpressionInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trackImpressions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"events"},"value":{"kind":"Variable","name":{"kind":"Name","value":"events"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"duplicates"}},{"kind":"Field","name":{"kind":"Name","value":"rateLimited"}},{"kind":"Field","name":{"kind":"Name","value":"rejectedBots"}},{"kind":"Field","name":{"kind":"Name","value":"invalid"}},{"kind":"Field","name":{"kind":"Name","value":"flagged"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]}}]}}]} as unknown as DocumentNode<TrackImpressionsMutation, TrackImpressionsMutationVariables>;
export const TrackClicksDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TrackClicks"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"events"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ClickInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trackClicks"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"events"},"value":{"kind":"Variable","name":{"kind":"Name","value":"events"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"duplicates"}},{"kind":"Field","name":{"kind":"Name","value":"flagged"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]}}]}}]} as unknown as DocumentNode<TrackClicksMutation, TrackClicksMutationVariables>;
export const ItemAnalyticsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ItemAnalytics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItem"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"analytics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"range"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"to"}}]}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}},{"kind":"Field","name":{"kind":"Name","value":"uniqueSessions"}},{"kind":"Field","name":{"kind":"Name","value":"uniqueUsers"}},{"kind":"Field","name":{"kind":"Name","value":"bySource"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}}]}},{"kind":"Field","name":{"kind":"Name","value":"timeSeries"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"granularity"},"value":{"kind":"EnumValue","value":"HOUR"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bucketStart"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ItemAnalyticsQuery, ItemAnalyticsQueryVariables>;
export const SearchWithAnalyticsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SearchWithAnalytics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"analytics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}},{"kind":"Field","name":{"kind":"Name","value":"uniqueSessions"}},{"kind":"Field","name":{"kind":"Name","value":"bySource"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<SearchWithAnalyticsQuery, SearchWithAnalyticsQueryVariables>;
export const PopularItemsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PopularItems"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"by"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"PopularityMetric"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"popularItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}},{"kind":"Argument","name":{"kind":"Name","value":"by"},"value":{"kind":"Variable","name":{"kind":"Name","value":"by"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}}]}}]}}]} as unknown as DocumentNode<PopularItemsQuery, PopularItemsQueryVariables>;
export const AnalyticsOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AnalyticsOverview"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"analyticsOverview"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}},{"kind":"Field","name":{"kind":"Name","value":"bySource"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}},{"kind":"Field","name":{"kind":"Name","value":"byCategory"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}}]}},{"kind":"Field","name":{"kind":"Name","value":"topItems"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}}]}}]}}]}}]} as unknown as DocumentNode<AnalyticsOverviewQuery, AnalyticsOverviewQueryVariables>;
export const UserAnalyticsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"UserAnalytics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userAnalytics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"impressions"}},{"kind":"Field","name":{"kind":"Name","value":"clicks"}},{"kind":"Field","name":{"kind":"Name","value":"itemsViewed"}},{"kind":"Field","name":{"kind":"Name","value":"itemsClicked"}},{"kind":"Field","name":{"kind":"Name","value":"ctr"}}]}}]}}]} as unknown as DocumentNode<UserAnalyticsQuery, UserAnalyticsQueryVariables>;
export const PopularSearchDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PopularSearch"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auctionItems"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"field"},"value":{"kind":"EnumValue","value":"POPULARITY"}},{"kind":"ObjectField","name":{"kind":"Name","value":"direction"},"value":{"kind":"EnumValue","value":"DESC"}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]}}]} as unknown as DocumentNode<PopularSearchQuery, PopularSearchQueryVariables>;
export const StartSessionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartSession"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startSession"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sessionId"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]} as unknown as DocumentNode<StartSessionMutation, StartSessionMutationVariables>;
export const TrackingOutcomesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"TrackingOutcomes"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"range"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TimeRangeInput"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"granularity"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Granularity"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trackingOutcomes"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"range"},"value":{"kind":"Variable","name":{"kind":"Name","value":"range"}}},{"kind":"Argument","name":{"kind":"Name","value":"granularity"},"value":{"kind":"Variable","name":{"kind":"Name","value":"granularity"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bucketStart"}},{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"duplicate"}},{"kind":"Field","name":{"kind":"Name","value":"rateLimited"}},{"kind":"Field","name":{"kind":"Name","value":"rejectedBot"}},{"kind":"Field","name":{"kind":"Name","value":"invalid"}},{"kind":"Field","name":{"kind":"Name","value":"flagged"}}]}}]}}]} as unknown as DocumentNode<TrackingOutcomesQuery, TrackingOutcomesQueryVariables>;