import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { EffectiveTimeRange } from '../analytics/timeRange';
import { FunnelStep } from './journeys';

registerEnumType(FunnelStep, {
  name: 'FunnelStep',
  description:
    'A step of the marketplace funnel, in its order: IMPRESSION → CLICK → ITEM_VIEW → WATCH → BID → PURCHASE (impressions and clicks from tracking, the rest from trackConversions).',
});

/** What a funnel is broken down by. */
export enum FunnelBreakdown {
  /** The traffic source of each journey's first touch (`NONE`: no tracked touch). */
  SOURCE = 'SOURCE',
  /** The lot's category. */
  CATEGORY = 'CATEGORY',
  /** The variant of the experiment in `filter.experiment` (of each journey's first tagged touch). */
  VARIANT = 'VARIANT',
}
registerEnumType(FunnelBreakdown, {
  name: 'FunnelBreakdown',
  valuesConfig: {
    SOURCE: { description: "The traffic source of each journey's first touch (NONE: no tracked touch)." },
    CATEGORY: { description: "The lot's category." },
    VARIANT: {
      description:
        "The variant of filter.experiment that showed the lot: that of the journey's first impression or click tagged in it. Every declared variant is listed.",
    },
  },
});

@InputType({ description: 'Which lots a funnel counts.' })
export class FunnelFilter {
  @Field(() => String, { nullable: true, description: 'Lots of this category only.' })
  category?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Lots of this seller only (a SELLER key: its own seller, which it may leave out).',
  })
  sellerId?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Journeys tagged in this defined experiment only (a declared variant, on an impression or click of the journey); break them down by VARIANT or CATEGORY. Needs an ADMIN or ANALYST key.',
  })
  experiment?: string | null;
}

@ObjectType({ description: 'How many journeys reached one step of a funnel, and how fast.' })
export class FunnelStepFigures {
  @Field(() => FunnelStep)
  step!: FunnelStep;

  @Field(() => Int, { description: 'Journeys (one session on one lot) that reached this step in order.' })
  journeys!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'journeys / the previous step’s journeys (null on the first step, or when the previous had none).',
  })
  conversionFromPrevious!: number | null;

  @Field(() => Float, { nullable: true, description: 'journeys / the first step’s journeys (null when it had none).' })
  conversionFromFirst!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Median seconds from the previous step to this one, over the journeys that reached it (within 10 % or a second; null on the first step or without journeys).',
  })
  medianSecondsFromPrevious!: number | null;
}

@ObjectType({ description: 'A funnel of one breakdown value.' })
export class FunnelGroup {
  @Field({ description: 'The source (or NONE), the category, or the variant.' })
  key!: string;

  @Field(() => [FunnelStepFigures])
  steps!: FunnelStepFigures[];
}

@ObjectType({
  description:
    'Journeys (one session on one lot) through ordered steps. A journey counts at a step when it did every step up to it, each no earlier than the one before, within CONVERSION_ATTRIBUTION_WINDOW_DAYS of its first step and before the lot ended (a purchase may follow the end: a won auction is paid then).',
})
export class Funnel {
  @Field(() => EffectiveTimeRange, { description: 'Journeys that began in these whole UTC days.' })
  range!: EffectiveTimeRange;

  @Field(() => [FunnelStepFigures])
  steps!: FunnelStepFigures[];

  @Field(() => [FunnelGroup], {
    description: 'One funnel per breakdown value, largest first; empty without a breakdown.',
  })
  breakdown!: FunnelGroup[];
}
