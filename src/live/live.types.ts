import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

/** Absolute figures of one item over a subscription's range, pushed when they change. */
@ObjectType({
  description: 'Absolute figures of one item over the subscribed range (a missed message is corrected by the next).',
})
export class ItemAnalyticsUpdate {
  @Field(() => ID)
  itemId!: string;

  @Field(() => Int)
  impressions!: number;

  @Field(() => Int)
  clicks!: number;

  @Field(() => Float, { description: 'clicks / impressions, 0 without impressions.' })
  ctr!: number;

  @Field({ description: 'When these figures were computed.' })
  at!: Date;
}
