import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import type { GavelContext } from '../graphql/context';
import { PageInfo } from '../graphql/relay';
import { SearchResult } from './search.service';
import {
  AuctionItemConnection,
  AuctionItemEdge,
  AuctionItemFacets,
  AuctionItemFilter,
  AuctionItemOrder,
} from './search.types';

/** `Query.auctionItems`: validates and hands back a lazy search; the connection fields run it. */
@Resolver(() => AuctionItemConnection)
export class SearchResolver {
  @Query(() => AuctionItemConnection, {
    description:
      'Searches auction items: word-prefix text search, filters, ordering, and Relay cursor pagination (forward with first/after, backward with last/before).',
  })
  auctionItems(
    @Ctx() { services, client }: GavelContext,
    @Arg('query', () => String, {
      nullable: true,
      description:
        'Words to find in title, description and tags; each word also matches as a prefix ("vint wat" finds "Vintage Watch"). At most 200 characters, 8 words.',
    })
    query?: string | null,
    @Arg('filter', () => AuctionItemFilter, { nullable: true }) filter?: AuctionItemFilter | null,
    @Arg('orderBy', () => AuctionItemOrder, { nullable: true, description: 'Default: CREATED_AT DESC (newest first).' })
    orderBy?: AuctionItemOrder | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size paging forward: 1 to 100, default 20.' })
    first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Page size paging backward: 1 to 100.' })
    last?: number | null,
    @Arg('before', () => String, { nullable: true }) before?: string | null,
  ): SearchResult {
    return services.search.search(
      { query, filter, orderBy, first, after, last, before },
      client.sessionId,
      client.limitKey,
    );
  }

  @FieldResolver(() => [AuctionItemEdge])
  async edges(@Root() result: SearchResult, @Ctx() { services, client }: GavelContext): Promise<AuctionItemEdge[]> {
    const { edges } = await result.page();
    // Results shown are impressions (position = rank on the page) when the client names its session.
    services.tracking.recordImpressionsImplicitly(
      client,
      edges.map((edge, rank) => ({ itemId: edge.node.id, position: rank })),
      'SEARCH',
    );
    return edges;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'When the first result matched the query only by correcting typos: the query as corrected, for "Showing results for …". Null when the query matched as typed, and on later pages.',
  })
  async didYouMean(@Root() result: SearchResult): Promise<string | null> {
    return (await result.page()).didYouMean;
  }

  @FieldResolver(() => ID, {
    nullable: true,
    description:
      'Identifies this search for search analytics: send it as `searchId` (with `position`) on the impressions and clicks of its results. Set on the first page of a search with query words when it is recorded (SEARCH_EVENTS_SAMPLE_RATE); null otherwise. Clicks count for the search only from the session that searched (`x-session-id`).',
  })
  async searchId(@Root() result: SearchResult): Promise<string | null> {
    return (await result.page()).searchId;
  }

  @FieldResolver(() => PageInfo)
  async pageInfo(@Root() result: SearchResult): Promise<PageInfo> {
    return (await result.page()).pageInfo;
  }

  @FieldResolver(() => Int)
  totalCount(@Root() result: SearchResult): Promise<number> {
    return result.totalCount();
  }

  @FieldResolver(() => AuctionItemFacets)
  facets(@Root() result: SearchResult): Promise<AuctionItemFacets> {
    return result.facets();
  }
}
