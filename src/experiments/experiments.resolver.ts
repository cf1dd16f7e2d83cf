import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/apiKey';
import { ConversionKind } from '../conversions/conversionEvent.model';
import type { GavelContext } from '../graphql/context';
import { ExperimentResults } from './experiments.types';

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
}
