import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { Role } from '../auth/apiKey';
import type { GavelContext } from '../graphql/context';
import { ConversionInput, ConversionResult } from './conversions.types';

/** Conversions come from the marketplace's backend, with an INGEST (or ADMIN) key; never from browsers. */
@Resolver()
export class ConversionsResolver {
  @Authorized(Role.INGEST)
  @Mutation(() => ConversionResult, {
    description:
      "Reports conversions (1 to TRACKING_MAX_BATCH) from the marketplace backend: each checked against its lot and attributed to the session's first and last counted touch of the item. Returns once the accepted ones are stored. Needs an INGEST or ADMIN key.",
  })
  trackConversions(
    @Arg('events', () => [ConversionInput]) events: ConversionInput[],
    @Ctx() { services }: GavelContext,
  ): Promise<ConversionResult> {
    return services.conversions.track(events);
  }
}
