import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { ConversionKind } from '../conversions/conversionEvent.model';
import { FunnelStep } from '../funnels/journeys';

@InputType({ description: 'A variant of an experiment, as the pages tag it.' })
export class VariantInput {
  @Field({ description: 'The variant name the pages tag events with (1 to 64 letters, digits or _ . : -).' })
  name!: string;

  @Field(() => Float, {
    nullable: true,
    defaultValue: 1,
    description: 'Its planned share of sessions, relative to the others (1 and 1: an even split; 90 and 10).',
  })
  weight?: number;
}

@InputType({ description: 'An experiment: its key, its variants and its control.' })
export class ExperimentInput {
  @Field({ description: 'The key the pages tag events with (1 to 64 letters, digits or _ . : -).' })
  key!: string;

  @Field(() => [VariantInput], { description: '2 to 20 variants.' })
  variants!: VariantInput[];

  @Field(() => String, {
    nullable: true,
    description: 'The variant the others are compared with (default: the first).',
  })
  control?: string | null;
}

@ObjectType({ description: 'A declared variant.' })
export class ExperimentVariantDefinition {
  @Field()
  name!: string;

  @Field(() => Float)
  weight!: number;
}

@ObjectType({ description: 'An experiment as defined: only its declared variants count.' })
export class ExperimentDefinition {
  @Field()
  key!: string;

  @Field(() => [ExperimentVariantDefinition])
  variants!: ExperimentVariantDefinition[];

  @Field()
  control!: string;

  @Field()
  updatedAt!: Date;
}

@ObjectType({ description: 'A difference between a variant and control, with its interval.' })
export class EstimatedDifference {
  @Field(() => Float, { description: 'Variant minus control.' })
  value!: number;

  @Field(() => Float, { description: 'Lower bound of the interval.' })
  low!: number;

  @Field(() => Float, { description: 'Upper bound of the interval.' })
  high!: number;

  @Field(() => Float, { description: 'The two-sided p-value of "no difference".' })
  pValue!: number;
}

@ObjectType({
  description:
    'How a variant compares with control. Null figures could not be estimated (too few sessions, no variance, or a control rate of 0).',
})
export class VariantComparison {
  @Field(() => EstimatedDifference, {
    nullable: true,
    description: 'Conversion rate difference, 95 % interval (Welch). Valid when read once, at the planned end.',
  })
  conversion!: EstimatedDifference | null;

  @Field(() => EstimatedDifference, {
    nullable: true,
    description:
      'The same, adjusted by CUPED with each session’s counted events before its exposure: the same effect, usually a narrower interval.',
  })
  cupedConversion!: EstimatedDifference | null;

  @Field(() => EstimatedDifference, {
    nullable: true,
    description:
      'Always-valid 95 % interval and p-value of the conversion difference: it holds however often and whenever it is read, so a team may stop early when it excludes 0.',
  })
  sequentialConversion!: EstimatedDifference | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Probability that the variant converts better than control (Gaussian posterior, flat prior).',
  })
  chanceToBeatControl!: number | null;

  @Field(() => EstimatedDifference, {
    nullable: true,
    description: 'Click-through rate difference (clicks per impression, delta method), 95 % interval.',
  })
  clickThroughRate!: EstimatedDifference | null;
}

@ObjectType({ description: 'How many of a variant’s sessions reached one step after their exposure.' })
export class ExperimentStep {
  @Field(() => FunnelStep)
  step!: FunnelStep;

  @Field(() => Int)
  sessions!: number;

  @Field(() => Float, { nullable: true, description: 'sessions / the variant’s exposed sessions (null without any).' })
  share!: number | null;
}

@ObjectType({ description: 'One variant of an experiment.' })
export class ExperimentVariant {
  @Field()
  variant!: string;

  @Field(() => Int, { description: 'Sessions exposed to this variant (and to no other of the experiment).' })
  sessions!: number;

  @Field(() => Int, { description: 'Tagged impressions of those sessions.' })
  impressions!: number;

  @Field(() => Int, { description: 'Tagged clicks of those sessions.' })
  clicks!: number;

  @Field(() => Float, { nullable: true, description: 'clicks / impressions (null without impressions).' })
  clickThroughRate!: number | null;

  @Field(() => Int, { description: 'Sessions with a conversion of the measured kind after their exposure.' })
  conversions!: number;

  @Field(() => Float, { nullable: true, description: 'conversions / sessions (null without sessions).' })
  conversionRate!: number | null;

  @Field(() => [ExperimentStep], {
    description:
      'The variant’s funnel by session: exposed sessions that then clicked a tagged item, and that reported each conversion kind (each step counted on its own, in any order).',
  })
  funnel!: ExperimentStep[];

  @Field(() => VariantComparison, { nullable: true, description: 'Null on control.' })
  versusControl!: VariantComparison | null;
}

@ObjectType({ description: 'Whether the sessions split between the variants as an even assignment would.' })
export class SampleRatioCheck {
  @Field(() => Float, { description: 'Chi-square goodness-of-fit p-value against the planned weights.' })
  pValue!: number;

  @Field({
    description:
      'True below p = 0.001 against the planned weights: the assignment or the tracking is broken (a variant that crashes, a bot in one arm); do not trust the other figures.',
  })
  mismatch!: boolean;
}

@ObjectType({
  description:
    'An experiment’s results: the sessions whose tracked events carried its key, by variant. Built with the funnels, so the last FUNNEL_SETTLE_MS of events are not in it yet.',
})
export class ExperimentResults {
  @Field()
  experiment!: string;

  @Field({ description: 'The variant the others are compared with.' })
  control!: string;

  @Field(() => ConversionKind, { description: 'What counts as a conversion.' })
  conversion!: ConversionKind;

  @Field(() => Int, {
    description:
      'Sessions seen in more than one variant: left out of every figure (a high number means a broken assignment).',
  })
  conflictedSessions!: number;

  @Field(() => SampleRatioCheck)
  sampleRatio!: SampleRatioCheck;

  @Field(() => [ExperimentVariant], { description: 'Control first, then the others as declared.' })
  variants!: ExperimentVariant[];
}
