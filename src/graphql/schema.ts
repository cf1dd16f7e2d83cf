import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import {
  AnalyticsQueryResolver,
  ItemAnalyticsFieldResolver,
  ItemAnalyticsResolver,
} from '../analytics/analytics.resolver';
import { authChecker } from '../auth/viewer';
import { AuctionItemResolver } from '../catalog/auctionItem.resolver';
import { SearchResolver } from '../catalog/search.resolver';

/** Every resolver class of the API, by domain. */
const resolvers = [
  AuctionItemResolver,
  SearchResolver,
  ItemAnalyticsFieldResolver,
  ItemAnalyticsResolver,
  AnalyticsQueryResolver,
] as const;

let schema: Promise<GraphQLSchema> | undefined;

/** Builds (once per process) the executable schema from the type-graphql classes. */
export function buildGavelSchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({ resolvers, validate: false, authChecker });
  return schema;
}

/** The SDL committed as `schema.graphql`: sorted, so diffs show real changes only. */
export async function printGavelSchema(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildGavelSchema())) + '\n';
}
