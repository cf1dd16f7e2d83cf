import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import {
  AnalyticsQueryResolver,
  ItemAnalyticsFieldResolver,
  ItemAnalyticsResolver,
} from '../analytics/analytics.resolver';
import { authChecker } from '../auth/viewer';
import { AuctionItemResolver } from '../catalog/auctionItem.resolver';
import { SearchResolver } from '../catalog/search.resolver';
import { SuggestionResolver } from '../catalog/suggestion.resolver';
import { SearchAnalyticsResolver } from '../searches/searchAnalytics.resolver';
import { LiveResolver } from '../live/live.resolver';
import { ConversionsResolver } from '../conversions/conversions.resolver';
import { CohortsResolver } from '../cohorts/cohorts.resolver';
import { ExperimentsResolver } from '../experiments/experiments.resolver';
import { FunnelLiveResolver, FunnelResolver, ItemFunnelResolver } from '../funnels/funnels.resolver';
import { TrackingResolver } from '../tracking/tracking.resolver';
import { TrackingOutcomesResolver } from '../tracking/outcomes.resolver';
import { RetentionResolver } from '../retention/retention.resolver';

/** Every resolver class of the API, by domain. */
const resolvers = [
  AuctionItemResolver,
  SearchResolver,
  SuggestionResolver,
  SearchAnalyticsResolver,
  ItemAnalyticsFieldResolver,
  ItemAnalyticsResolver,
  AnalyticsQueryResolver,
  TrackingResolver,
  TrackingOutcomesResolver,
  ConversionsResolver,
  FunnelResolver,
  FunnelLiveResolver,
  CohortsResolver,
  ExperimentsResolver,
  ItemFunnelResolver,
  RetentionResolver,
  LiveResolver,
] as const;

let schema: Promise<GraphQLSchema> | undefined;

/** Builds (once per process) the executable schema from the type-graphql classes. */
export function buildGavelSchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({
    resolvers,
    validate: false,
    authChecker,
    // type-graphql insists on a PubSub; Gavel's subscriptions bring their own `subscribe`
    // (LiveService, fed by the event bus), so this one never carries a message.
    pubSub: createPubSub(),
  });
  return schema;
}

/** The SDL committed as `schema.graphql`: sorted, so diffs show real changes only. */
export async function printGavelSchema(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildGavelSchema())) + '\n';
}
