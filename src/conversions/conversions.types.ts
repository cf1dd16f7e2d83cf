import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { TrafficSource } from '../analytics/analytics.types';
import { MoneyInput } from '../catalog/auctionItem.types';
import { EventType } from '../tracking/trackingEvent.model';
import { ConversionKind, ConversionOutcome } from './conversionEvent.model';

registerEnumType(ConversionKind, {
  name: 'ConversionKind',
  description: 'What a buyer did on a lot: ITEM_VIEW → WATCH → BID → PURCHASE.',
});
registerEnumType(ConversionOutcome, {
  name: 'ConversionOutcome',
  description: 'What happened to a reported conversion; only ACCEPTED ones are stored and counted.',
});
registerEnumType(EventType, {
  name: 'TouchType',
  description: 'The kind of tracked event a conversion is attributed to.',
});

/** A conversion as the marketplace's backend reports it. */
@InputType({ description: 'A view, watch, bid or purchase of a lot, reported by the marketplace backend.' })
export class ConversionInput {
  @Field({
    description:
      'Your id of this conversion (1 to 128 letters, digits or _ . : -), unique per item: a retry with the same eventId is DUPLICATE, never counted twice.',
  })
  eventId!: string;

  @Field(() => ConversionKind)
  kind!: ConversionKind;

  @Field(() => ID)
  itemId!: string;

  @Field({
    description:
      "The buyer's tracking session (the sessionId the web app sends with its impressions and clicks): attribution looks for that session's touches of the item.",
  })
  sessionId!: string;

  @Field(() => ID, { nullable: true, description: 'The signed-in buyer, as tracking receives it.' })
  userId?: string;

  @Field(() => MoneyInput, {
    nullable: true,
    description: "Required on BID and PURCHASE (more than 0, in the lot's currency); refused on the others.",
  })
  amount?: MoneyInput;

  @Field({
    nullable: true,
    description:
      "When it happened (default: when it is received). The lot's rules use it: a BID at or after the lot's endsAt is INVALID. At most TRACKING_MAX_CLOCK_SKEW_MS ahead, CONVERSION_MAX_DELAY_DAYS behind.",
  })
  occurredAt?: Date;
}

@ObjectType({ description: 'The tracked impression or click a conversion is attributed to.' })
export class AttributedTouch {
  @Field(() => EventType)
  type!: EventType;

  @Field(() => TrafficSource)
  source!: TrafficSource;

  @Field(() => Int, { nullable: true })
  position?: number;

  @Field(() => ID, {
    nullable: true,
    description: 'The search whose results showed the item, when the touch named one.',
  })
  searchId?: string;

  @Field(() => String, { nullable: true, description: 'The experiment the touch was tagged with, if any.' })
  experiment?: string;

  @Field(() => String, { nullable: true, description: 'Its variant.' })
  variant?: string;

  @Field({ description: 'When the touch was received.' })
  at!: Date;
}

@ObjectType({ description: 'The outcome of one conversion, in input order.' })
export class TrackedConversion {
  @Field(() => Int, { description: 'Position of the conversion in the input list.' })
  index!: number;

  @Field(() => ConversionOutcome)
  outcome!: ConversionOutcome;

  @Field(() => String, { nullable: true, description: 'Why it was not accepted (what to fix); null when accepted.' })
  reason!: string | null;

  @Field(() => AttributedTouch, {
    nullable: true,
    description:
      "First-touch attribution: the session's earliest counted impression or click of the item within CONVERSION_ATTRIBUTION_WINDOW_DAYS before the conversion and before the lot ended; null when there was none.",
  })
  firstTouch!: AttributedTouch | null;

  @Field(() => AttributedTouch, {
    nullable: true,
    description: 'Last-touch attribution: the latest such touch (the same as firstTouch when there was one).',
  })
  lastTouch!: AttributedTouch | null;
}

@ObjectType({ description: 'What happened to a batch of conversions. One bad conversion never fails the batch.' })
export class ConversionResult {
  @Field(() => Int)
  accepted!: number;

  @Field(() => Int)
  duplicates!: number;

  @Field(() => Int)
  invalid!: number;

  @Field(() => [TrackedConversion])
  events!: TrackedConversion[];
}
