import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { Role } from '../auth/apiKey';
import type { GavelContext } from '../graphql/context';
import { ErasureReport, PurgeReport } from './retention.types';

/** Operator mutations of retention and privacy; the rules live in `RetentionService`. */
@Resolver()
export class RetentionResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => PurgeReport, {
    description:
      'Purges expired tracking data now (archiving raw events first when ARCHIVE_DIR is set) and returns counts per kind; dryRun only counts. Needs an ADMIN key.',
  })
  purgeExpiredData(
    @Ctx() { services }: GavelContext,
    @Arg('dryRun', () => Boolean, { defaultValue: false }) dryRun: boolean,
  ): Promise<PurgeReport> {
    return services.retention.purge(dryRun);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ErasureReport, {
    description:
      "Erases one subject's raw tracking events (counted and audit) from the database and the archives, and records the erasure (who, when, counts; never the data). Give exactly one of userId or sessionId: any value tracking was sent, refused ones too (found by their keyed pseudonym). Needs an ADMIN key.",
  })
  eraseSubject(
    @Ctx() { services, viewer }: GavelContext,
    @Arg('userId', () => ID, { nullable: true }) userId?: string | null,
    @Arg('sessionId', () => String, { nullable: true }) sessionId?: string | null,
  ): Promise<ErasureReport> {
    return services.retention.erase({ userId, sessionId }, viewer.keyId ?? 'unknown');
  }
}
