import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'How many of a cohort bid again some weeks after their first bid.' })
export class CohortRetention {
  @Field(() => Int, { description: 'Weeks after the cohort’s week (0: the cohort’s own week).' })
  weeksLater!: number;

  @Field(() => Int, { description: 'Bidders of the cohort who bid in that week.' })
  bidders!: number;

  @Field(() => Float, { description: 'bidders / the cohort’s size.' })
  share!: number;
}

@ObjectType({ description: 'The bidders whose first bid fell in one week, and how many bid again later.' })
export class BidderCohort {
  @Field({ description: 'Monday 00:00 UTC of the week of their first bid.' })
  week!: Date;

  @Field(() => Int)
  bidders!: number;

  @Field(() => [CohortRetention], {
    description:
      'One entry per week from the cohort’s own through the last week asked for (a row of the retention matrix).',
  })
  retention!: CohortRetention[];
}

@ObjectType({ description: 'How one week’s bidders relate to the week before.' })
export class BidderLifecycle {
  @Field({ description: 'Monday 00:00 UTC.' })
  week!: Date;

  @Field(() => Int, { description: 'Bidders who bid this week (new + returning + resurrecting).' })
  active!: number;

  @Field(() => Int, { description: 'Bid this week for the first time.' })
  new!: number;

  @Field(() => Int, { description: 'Bid this week and the week before.' })
  returning!: number;

  @Field(() => Int, { description: 'Bid this week, not the week before, but some week earlier.' })
  resurrecting!: number;

  @Field(() => Int, { description: 'Bid the week before, not this week.' })
  dormant!: number;
}

@ObjectType({
  description:
    'Bidders by the week of their first bid (a bidder is the user given with a bid, else its session). Built with the funnels, so the last FUNNEL_SETTLE_MS of bids are not in it yet; a first bid older than the retention period is no longer known.',
})
export class BidderCohorts {
  @Field(() => [BidderCohort], { description: 'One per week asked for, oldest first.' })
  cohorts!: BidderCohort[];

  @Field(() => [BidderLifecycle], { description: 'One per week asked for, oldest first.' })
  lifecycle!: BidderLifecycle[];
}
