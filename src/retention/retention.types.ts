import { Field, Int, ObjectType } from 'type-graphql';
import { RetentionDataType } from './retention.repository';

/** GraphQL shape of one data type's purge counts. */
@ObjectType({ description: 'What a purge did (or, in a dry run, would do) to one kind of tracking data.' })
export class PurgeCount {
  @Field(() => RetentionDataType)
  dataType!: RetentionDataType;

  @Field({ description: 'Documents dated before this are expired.' })
  olderThan!: Date;

  @Field(() => Int, { description: 'Deleted; in a dry run, expired now (would be deleted).' })
  count!: number;

  @Field(() => Int, { description: 'Archived to ARCHIVE_DIR before deletion (raw events only).' })
  archived!: number;

  @Field(() => String, {
    nullable: true,
    description: 'Why this type stopped early, e.g. the archive could not be written: that batch was not deleted.',
  })
  error!: string | null;
}

/** GraphQL shape of a purge report. */
@ObjectType({ description: 'The result of purgeExpiredData, per kind of tracking data.' })
export class PurgeReport {
  @Field()
  dryRun!: boolean;

  @Field()
  ranAt!: Date;

  @Field(() => [PurgeCount])
  types!: PurgeCount[];
}

/** GraphQL shape of an erasure report. */
@ObjectType({ description: 'What eraseSubject removed. Rollup counters stay: they hold no personal data.' })
export class ErasureReport {
  @Field(() => Int, {
    description:
      'Sessions whose events were erased: the given session, or every session the user was seen in (their anonymous events too).',
  })
  sessions!: number;

  @Field(() => Int, { description: 'Counted raw events deleted.' })
  countedEvents!: number;

  @Field(() => Int, { description: 'Raw audit rows (rejected, rate-limited, invalid, flagged events) deleted.' })
  auditEvents!: number;

  @Field(() => Int, { description: "Recorded searches of the subject's sessions deleted." })
  searchEvents!: number;

  @Field(() => Int, { description: "Conversions (views, watches, bids, purchases) of the subject's sessions deleted." })
  conversions!: number;

  @Field(() => Int, {
    description:
      "Funnel journeys of the subject's sessions deleted (the funnels' day counts stay, like the item counters).",
  })
  funnelJourneys!: number;

  @Field(() => Int, {
    description:
      'Bidder-weeks of the subject (a user, or its sessions when bidding without one) deleted from the bidder cohorts.',
  })
  bidderWeeks!: number;

  @Field(() => Int, {
    description:
      "Experiment exposures of the subject's sessions deleted (the variants' sums are recounted without them when the experiment next gets events).",
  })
  experimentExposures!: number;

  @Field(() => Int, { description: 'Events removed from archives (rewritten without them).' })
  archivedEvents!: number;

  @Field(() => Int, { description: 'Archive files rewritten.' })
  archiveFiles!: number;
}
