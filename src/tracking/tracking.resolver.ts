import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GavelContext } from '../graphql/context';
import { EventType } from './trackingEvent.model';
import { ClickInput, ImpressionInput, TrackingResult, TrackingSession } from './tracking.types';

/** Tracking mutations: the client's address and user agent come from the request, never the input. */
@Resolver()
export class TrackingResolver {
  @Mutation(() => TrackingSession, {
    description:
      'Starts a tracking session: send its sessionId with every event (and as x-session-id). Give userId for a signed-in user: the session is bound to that one user, and only its events carrying that userId count toward uniqueUsers and userAnalytics; start a new session when the user changes (sign-in, sign-out). Rate limited per address (TRACKING_NEW_SESSIONS_PER_MINUTE): RATE_LIMITED with extensions.retryAfterMs.',
  })
  startSession(
    @Ctx() { services, client }: GavelContext,
    @Arg('userId', () => ID, {
      nullable: true,
      description:
        "The signed-in user's id (1 to 128 letters, digits or _ . : -); leave it out for a visitor who is not signed in. The session carries a keyed hash of it, never the id.",
    })
    userId?: string | null,
  ): Promise<TrackingSession> {
    return services.tracking.startSession(client, userId);
  }

  @Mutation(() => TrackingResult, {
    description: 'Reports impressions (1 to TRACKING_MAX_BATCH); returns once they are stored.',
  })
  trackImpressions(
    @Arg('events', () => [ImpressionInput]) events: ImpressionInput[],
    @Ctx() { services, client }: GavelContext,
  ): Promise<TrackingResult> {
    return services.tracking.track(EventType.IMPRESSION, events, client);
  }

  @Mutation(() => TrackingResult, {
    description: 'Reports clicks (1 to TRACKING_MAX_BATCH); returns once they are stored.',
  })
  trackClicks(
    @Arg('events', () => [ClickInput]) events: ClickInput[],
    @Ctx() { services, client }: GavelContext,
  ): Promise<TrackingResult> {
    return services.tracking.track(EventType.CLICK, events, client);
  }

  @Mutation(() => TrackingResult, { description: 'Reports one impression.' })
  trackImpression(
    @Arg('event', () => ImpressionInput) event: ImpressionInput,
    @Ctx() { services, client }: GavelContext,
  ): Promise<TrackingResult> {
    return services.tracking.track(EventType.IMPRESSION, [event], client);
  }

  @Mutation(() => TrackingResult, { description: 'Reports one click.' })
  trackClick(
    @Arg('event', () => ClickInput) event: ClickInput,
    @Ctx() { services, client }: GavelContext,
  ): Promise<TrackingResult> {
    return services.tracking.track(EventType.CLICK, [event], client);
  }
}
