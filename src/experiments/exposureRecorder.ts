import type { Clock } from '../shared/clock';
import { exposuresOf } from './exposures';
import type { ExperimentsRepository } from './experiments.repository';

/**
 * Keeps the exposures and variant rows current as the funnel builder reads new events: every
 * session with a newly read tagged event, or a new conversion while exposed, gets its exposures
 * recomputed whole from all its events, and every experiment they are in its rows recounted.
 */
export class ExposureRecorder {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * @param taggedSessions - sessions with a newly read event tagged with an experiment
   * @param convertingSessions - sessions with a newly read conversion (those exposed are recomputed)
   */
  async refresh(taggedSessions: ReadonlySet<string>, convertingSessions: ReadonlySet<string>): Promise<void> {
    const sessions = new Set(taggedSessions);
    const others = [...convertingSessions].filter((session) => !sessions.has(session));
    if (others.length > 0) for (const session of await this.repository.exposedSessions(others)) sessions.add(session);
    if (sessions.size === 0) return;
    const { touches, conversions } = await this.repository.sessionActivity([...sessions]);
    const exposures = [...sessions].flatMap((session) =>
      exposuresOf(session, touches.get(session) ?? [], conversions.get(session) ?? []),
    );
    await this.repository.writeExposures(exposures);
    for (const experiment of new Set(exposures.map((exposure) => exposure.experiment)))
      await this.repository.recountVariants(experiment, this.clock.now());
  }
}
