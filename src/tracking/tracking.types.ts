import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { TrafficSource } from '../analytics/analytics.types';
import { TrackingOutcome } from './trackingEvent.model';

registerEnumType(TrackingOutcome, {
  name: 'TrackingOutcome',
  description: 'What happened to a tracked event; only ACCEPTED is counted.',
});

/** An impression or click as the web app reports it. Client IP and user agent come from the request. */
@InputType({ description: 'An impression: the item was shown to a session.' })
export class ImpressionInput {
  @Field(() => ID)
  itemId!: string;

  @Field({
    description:
      'A sessionId from startSession (required when TRACKING_REQUIRE_SIGNED_SESSIONS is on); otherwise 1 to 128 letters, digits or _ . : -',
  })
  sessionId!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The signed-in user, if any: 1 to 128 letters, digits or _ . : - (another value makes the event INVALID and is stored only as a keyed pseudonym). It counts toward uniqueUsers and userAnalytics only when the session was started for this user (startSession(userId)); otherwise the event counts without a user and its reason says why. With TRACKING_REQUIRE_SIGNED_SESSIONS off, events of sessions startSession did not issue count the userId they carry (nothing about them can be verified).',
  })
  userId?: string;

  @Field(() => TrafficSource)
  source!: TrafficSource;

  @Field(() => Int, { nullable: true, description: 'Rank in the result list (0 to 10,000).' })
  position?: number;

  @Field(() => ID, {
    nullable: true,
    description:
      "The `searchId` of the search whose results showed the item (`auctionItems.searchId`): a counted click then counts for that search's query in searchAnalytics, with its `position`, when it comes from the session that searched.",
  })
  searchId?: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The experiment the session is in where the item was shown (1 to 64 letters, digits or _ . : -), sent with `variant`: experimentResults compares its variants.',
  })
  experiment?: string;

  @Field(() => String, {
    nullable: true,
    description: 'The variant of `experiment` this session sees (1 to 64 letters, digits or _ . : -).',
  })
  variant?: string;

  @Field({
    nullable: true,
    description:
      'When it happened on the client. Stamp it once and send the same value on every retry: within TRACKING_RETRY_WINDOW_MS (5 min) it picks the dedup window, so a retry of a stored event is DUPLICATE. Counters use the server receive time; more than TRACKING_MAX_CLOCK_SKEW_MS ahead is INVALID.',
  })
  timestamp?: Date;
}

@InputType({ description: 'A click on an item; counted only after an impression of it in the same session.' })
export class ClickInput extends ImpressionInput {}

@ObjectType({ description: 'The outcome of one event, in input order.' })
export class TrackedEvent {
  @Field(() => Int, { description: 'Position of the event in the input list.' })
  index!: number;

  @Field(() => TrackingOutcome)
  outcome!: TrackingOutcome;

  @Field(() => String, {
    nullable: true,
    description:
      'Why it was not accepted; on an ACCEPTED event, why its userId did not count as a user (its session was started for another user or none), else null.',
  })
  reason!: string | null;
}

@ObjectType({ description: 'What happened to a batch of events. One bad event never fails the batch.' })
export class TrackingResult {
  @Field(() => Int)
  accepted!: number;

  @Field(() => Int)
  duplicates!: number;

  @Field(() => Int)
  rateLimited!: number;

  @Field(() => Int)
  rejectedBots!: number;

  @Field(() => Int)
  invalid!: number;

  @Field(() => Int)
  flagged!: number;

  @Field(() => [TrackedEvent])
  events!: TrackedEvent[];
}

/** A server-issued tracking session (see `SessionSigner`). */
@ObjectType({ description: 'A signed tracking session issued by startSession.' })
export class TrackingSession {
  @Field({ description: 'Opaque; send it unchanged as sessionId of every event and as x-session-id.' })
  sessionId!: string;

  @Field({ description: 'After this the session is refused (INVALID); start a new one.' })
  expiresAt!: Date;
}
