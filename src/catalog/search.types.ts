import { GraphQLCurrency, GraphQLSafeInt } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo, SortDirection } from '../graphql/relay';
import { AuctionStatus } from './auctionItem.model';
import { AuctionItem } from './auctionItem.types';

registerEnumType(SortDirection, { name: 'SortDirection' });

/** What search results can be ordered by. */
export enum AuctionItemOrderField {
  CREATED_AT = 'CREATED_AT',
  PRICE = 'PRICE',
  ENDS_AT = 'ENDS_AT',
  POPULARITY = 'POPULARITY',
  RELEVANCE = 'RELEVANCE',
}
registerEnumType(AuctionItemOrderField, {
  name: 'AuctionItemOrderField',
  valuesConfig: {
    PRICE: { description: 'Current price in minor units (combine with filter.currency to compare like with like).' },
    POPULARITY: {
      description:
        'Impressions over the last POPULARITY_WINDOW_HOURS, refreshed every POPULARITY_REFRESH_MS from the rollups: exact below 100, then to two significant digits (items within a step tie, ordered by id).',
    },
    RELEVANCE: {
      description: 'Best matches of `query` first (title matches above description and tags); needs `query`.',
    },
  },
});

@InputType({ description: 'Order of search results; ties are broken by id.' })
export class AuctionItemOrder {
  @Field(() => AuctionItemOrderField)
  field!: AuctionItemOrderField;

  @Field(() => SortDirection, { defaultValue: SortDirection.DESC })
  direction!: SortDirection;
}

@InputType({ description: 'An inclusive range of money in minor units.' })
export class MoneyRangeInput {
  @Field(() => GraphQLSafeInt, { nullable: true })
  min?: number;

  @Field(() => GraphQLSafeInt, { nullable: true })
  max?: number;
}

@InputType({ description: 'A range of instants: from (inclusive) to (exclusive).' })
export class DateTimeRangeInput {
  @Field({ nullable: true })
  from?: Date;

  @Field({ nullable: true })
  to?: Date;
}

@InputType({ description: 'Narrows a search; all given conditions must hold.' })
export class AuctionItemFilter {
  @Field(() => [String], { nullable: true, description: 'Any of these category slugs (1 to 20).' })
  category?: string[];

  @Field(() => [AuctionStatus], { nullable: true, description: 'Any of these statuses.' })
  status?: AuctionStatus[];

  @Field(() => MoneyRangeInput, { nullable: true, description: 'Current price range, minor units.' })
  price?: MoneyRangeInput;

  @Field(() => GraphQLCurrency, { nullable: true, description: 'Only items priced in this currency.' })
  currency?: string;

  @Field(() => DateTimeRangeInput, { nullable: true })
  createdAt?: DateTimeRangeInput;

  @Field(() => DateTimeRangeInput, {
    nullable: true,
    description: 'E.g. ending within 24 h: { from: now, to: now + 24 h }.',
  })
  endsAt?: DateTimeRangeInput;

  @Field(() => ID, { nullable: true })
  sellerId?: string;

  @Field(() => [String], { nullable: true, description: 'Items carrying every one of these tags (1 to 20).' })
  tags?: string[];
}

@ObjectType()
export class AuctionItemEdge {
  @Field({ description: 'Opaque position of this item; pass as `after` or `before`.' })
  cursor!: string;

  @Field(() => AuctionItem)
  node!: AuctionItem;

  @Field(() => [String], {
    description:
      "For each word of the query, in order, the item's word it matched: one the query word begins (as typed), or a correction of a typo (one edit allowed from 5 letters, two from 9). Empty without a query.",
  })
  matchedTerms!: string[];
}

@ObjectType({ description: 'How many results fall in one value of a facet.' })
export class FacetCount {
  @Field()
  value!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'How many results fall in a price band: min ≤ price < max (max null: no upper bound).' })
export class PriceBandCount {
  @Field(() => GraphQLSafeInt)
  min!: number;

  @Field(() => GraphQLSafeInt, { nullable: true })
  max!: number | null;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'Counts of the results by category, status and price band, for the side of a search page.' })
export class AuctionItemFacets {
  @Field(() => [FacetCount], { description: 'Most frequent first.' })
  category!: FacetCount[];

  @Field(() => [FacetCount], { description: 'Most frequent first.' })
  status!: FacetCount[];

  @Field(() => [PriceBandCount], { description: 'In band order; empty bands included.' })
  priceBands!: PriceBandCount[];
}

/** The result of `auctionItems`: a page, plus lazily computed totals and facets. */
@ObjectType({ description: 'A page of auction items (Relay Cursor Connections).' })
export class AuctionItemConnection {
  @Field(() => [AuctionItemEdge])
  edges!: AuctionItemEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'All matching items; computed only when selected (one more database query).' })
  totalCount!: number;

  @Field(() => AuctionItemFacets, { description: 'Computed only when selected (one more database query).' })
  facets!: AuctionItemFacets;
}
