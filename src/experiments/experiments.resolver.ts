import { Arg, Authorized, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { requireRole } from '../auth/viewer';
import { openOnIterate } from '../live/multiplexer';
import { Role } from '../auth/apiKey';
import { ConversionKind } from '../conversions/conversionEvent.model';
import type { GavelContext } from '../graphql/context';
import { ExperimentDefinition, ExperimentInput, ExperimentResults } from './experiments.types';

/** The marketplace's experiments (ANALYST). */
@Resolver()
export class ExperimentsResolver {
  @Authorized(Role.ANALYST)
  @Query(() => ExperimentResults, {
    description:
      'An experiment’s variants compared with control: exposures, CTR and conversion per variant, differences with 95 % and always-valid intervals, CUPED, chance to beat control, and a sample-ratio check. Needs an ADMIN or ANALYST key.',
  })
  experimentResults(
    @Ctx() { services }: GavelContext,
    @Arg('experiment', { description: 'The key tracking events were tagged with.' }) experiment: string,
    @Arg('control', () => String, {
      nullable: true,
      description: 'The control variant (default: the one named "control", else the first by name).',
    })
    control?: string | null,
    @Arg('conversion', () => ConversionKind, {
      defaultValue: ConversionKind.BID,
      description: 'What counts as converting: a session with a conversion of this kind after its exposure.',
    })
    conversion: ConversionKind = ConversionKind.BID,
  ): Promise<ExperimentResults> {
    return services.experiments.results(experiment, control, conversion);
  }

  @Authorized(Role.ANALYST)
  @Mutation(() => ExperimentDefinition, {
    description:
      'Defines (or redefines) an experiment: the variants its pages tag events with, their planned weights, and its control. Only defined experiments and declared variants count in experimentResults: tracking is public, and a tag alone must not create results. Define it before the pages tag events (events tagged before are not counted). Needs an ADMIN or ANALYST key.',
  })
  defineExperiment(
    @Ctx() { services, viewer }: GavelContext,
    @Arg('input', () => ExperimentInput) input: ExperimentInput,
  ): Promise<ExperimentDefinition> {
    return services.experiments.define(viewer, input);
  }

  @Authorized(Role.ANALYST)
  @Query(() => [ExperimentDefinition], {
    description: 'The defined experiments, by key. Needs an ADMIN or ANALYST key.',
  })
  experiments(@Ctx() { services }: GavelContext): Promise<ExperimentDefinition[]> {
    return services.experiments.list();
  }

  @Authorized(Role.ANALYST)
  @Subscription(() => ExperimentResults, {
    nullable: true,
    description:
      'experimentResults, live: at once, then whenever they change, read at most once per FUNNEL_REFRESH_MS (how often they are built); null while the experiment is not defined. Needs an ADMIN or ANALYST key.',
    // Checked at subscribe, so that no stream is opened (or read) for a caller or arguments refused.
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ExperimentArgs, GavelContext>) => {
      requireRole(context.viewer, [Role.ANALYST], 'Live experiment results');
      const { experiments } = context.services;
      experiments.checkKey(args.experiment);
      return openOnIterate(() => experiments.watch(args.experiment, null, args.conversion ?? ConversionKind.BID));
    },
  })
  experimentResultsUpdated(
    @Root() results: ExperimentResults | null,
    @Arg('experiment', { description: 'The key tracking events were tagged with.' }) _experiment: string,
    @Arg('conversion', () => ConversionKind, { defaultValue: ConversionKind.BID }) _conversion?: ConversionKind,
  ): ExperimentResults | null {
    return results;
  }
}

/** The arguments of `experimentResultsUpdated` (against the defined control). */
interface ExperimentArgs {
  experiment: string;
  conversion?: ConversionKind;
}
