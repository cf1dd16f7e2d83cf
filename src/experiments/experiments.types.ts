import { Field, Float, Int, ObjectType } from 'type-graphql';
import { ConversionKind } from '../conversions/conversionEvent.model';

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

  @Field(() => VariantComparison, { nullable: true, description: 'Null on control.' })
  versusControl!: VariantComparison | null;
}

@ObjectType({ description: 'Whether the sessions split between the variants as an even assignment would.' })
export class SampleRatioCheck {
  @Field(() => Float, { description: 'Chi-square goodness-of-fit p-value against an even split.' })
  pValue!: number;

  @Field({
    description:
      'True below p = 0.001: the assignment or the tracking is broken (a variant that crashes, a bot in one arm); do not trust the other figures.',
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

  @Field(() => [ExperimentVariant], { description: 'Control first, then the others by name.' })
  variants!: ExperimentVariant[];
}
