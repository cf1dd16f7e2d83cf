import { GraphQLCurrency, GraphQLSafeInt } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { AuctionStatus } from './auctionItem.model';

registerEnumType(AuctionStatus, {
  name: 'AuctionStatus',
  description: 'Lifecycle of an auction: SCHEDULED → ACTIVE → ENDED, or CANCELLED before it ends.',
});

/** An amount of money: integer minor units (e.g. cents) and an ISO 4217 currency code. */
@ObjectType({ description: 'An amount of money in integer minor units (e.g. cents) of a currency.' })
export class Money {
  @Field(() => GraphQLSafeInt, { description: 'Amount in minor units of the currency (e.g. 1999 = 19.99 USD).' })
  amount!: number;

  @Field(() => GraphQLCurrency, { description: 'ISO 4217 currency code, e.g. "USD".' })
  currency!: string;
}

/** Money as a client sends it. */
@InputType({ description: 'An amount of money in integer minor units of an ISO 4217 currency.' })
export class MoneyInput {
  @Field(() => GraphQLSafeInt, { description: 'Amount in minor units; must not be negative.' })
  amount!: number;

  @Field(() => GraphQLCurrency, { description: 'ISO 4217 currency code, e.g. "EUR".' })
  currency!: string;
}

/** An item put up for auction. */
@ObjectType({ description: 'An item put up for auction.' })
export class AuctionItem {
  @Field(() => ID)
  id!: string;

  @Field()
  title!: string;

  @Field()
  description!: string;

  @Field({ description: 'Category slug, e.g. "watches".' })
  category!: string;

  @Field(() => AuctionStatus)
  status!: AuctionStatus;

  @Field(() => Money, { description: 'Current price (the highest bid, or the starting price).' })
  price!: Money;

  @Field(() => Money)
  startingPrice!: Money;

  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => ID)
  sellerId!: string;

  @Field(() => [String])
  tags!: string[];

  @Field(() => String, {
    nullable: true,
    description: "The item's id in the marketplace's own system, when it came through the catalog import.",
  })
  externalId?: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

/** Input of `createAuctionItem`. */
@InputType({ description: 'A new auction item. The current price starts at the starting price.' })
export class CreateAuctionItemInput {
  @Field({ description: '3 to 140 characters.' })
  title!: string;

  @Field({ nullable: true, description: 'Up to 5,000 characters.' })
  description?: string;

  @Field({ description: 'Category slug: lowercase letters, digits and dashes, up to 40 characters.' })
  category!: string;

  @Field(() => MoneyInput)
  startingPrice!: MoneyInput;

  @Field({ description: 'When bidding opens; the item is ACTIVE at once when this is not in the future.' })
  startsAt!: Date;

  @Field({ description: 'When bidding closes; after startsAt and in the future, at most 365 days after startsAt.' })
  endsAt!: Date;

  @Field(() => ID, { description: 'The seller: 1 to 64 letters, digits or _ . : -' })
  sellerId!: string;

  @Field(() => [String], { nullable: true, description: 'Up to 20 tags of up to 32 characters each.' })
  tags?: string[];
}

/** Input of `updateAuctionItem`: only the fields given change. */
@InputType({ description: 'Changes to an auction item; omitted fields stay as they are.' })
export class UpdateAuctionItemInput {
  @Field({ nullable: true })
  title?: string;

  @Field({ nullable: true })
  description?: string;

  @Field({ nullable: true })
  category?: string;

  @Field(() => AuctionStatus, {
    nullable: true,
    description: 'Allowed: SCHEDULED → ACTIVE | CANCELLED, ACTIVE → ENDED | CANCELLED.',
  })
  status?: AuctionStatus;

  @Field(() => MoneyInput, { nullable: true, description: 'New current price, in the item’s currency.' })
  price?: MoneyInput;

  @Field(() => MoneyInput, {
    nullable: true,
    description: 'Only while SCHEDULED, in the item’s currency; a price still at the starting price moves with it.',
  })
  startingPrice?: MoneyInput;

  @Field({ nullable: true, description: 'Only while SCHEDULED.' })
  startsAt?: Date;

  @Field({ nullable: true })
  endsAt?: Date;

  @Field(() => [String], { nullable: true })
  tags?: string[];
}
