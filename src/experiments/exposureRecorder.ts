import type { Clock } from '../shared/clock';
import type { ExperimentDefinitionRecord } from './exposure.model';
import { exposuresOf, type DeclaredVariants } from './exposures';
import type { ExperimentsRepository } from './experiments.repository';

/** The defined experiments, by key (one read; what the builder counts tags against). */
export interface Definitions {
  readonly byKey: ReadonlyMap<string, ExperimentDefinitionRecord>;
  readonly declared: DeclaredVariants;
}

/**
 * Keeps the exposures and variant rows current as the funnel builder reads new events: every
 * session with a newly read tagged event, or a new conversion while exposed, gets its exposures
 * recomputed whole from all its events, and every defined experiment they are in its rows
 * recounted. Tags of experiments nobody defined, or of variants not declared, are left out.
 */
export class ExposureRecorder {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly clock: Clock,
  ) {}

  /** The defined experiments and their declared variants, read now. */
  async definitions(): Promise<Definitions> {
    const byKey = new Map((await this.repository.definitions()).map((definition) => [definition._id, definition]));
    return {
      byKey,
      declared: new Map(
        [...byKey].map(([key, definition]) => [key, new Set(definition.variants.map((variant) => variant.name))]),
      ),
    };
  }

  /**
   * Recomputes the exposures of these sessions and recounts their experiments' rows.
   *
   * @param taggedSessions - sessions with a newly read event tagged with a defined experiment
   * @param convertingSessions - sessions with a newly read conversion (those exposed are recomputed)
   * @param definitions - the defined experiments ({@link definitions}, read by the caller)
   * @param stillHeld - whether the builder still holds its lease (checked before writing: a builder
   *   whose lease lapsed must not replace what the new holder wrote from newer events)
   */
  async refresh(
    taggedSessions: ReadonlySet<string>,
    convertingSessions: ReadonlySet<string>,
    { byKey: definitions, declared }: Definitions,
    stillHeld: () => Promise<boolean>,
  ): Promise<void> {
    if (definitions.size === 0) return;
    const sessions = new Set(taggedSessions);
    const others = [...convertingSessions].filter((session) => !sessions.has(session));
    if (others.length > 0) for (const session of await this.repository.exposedSessions(others)) sessions.add(session);
    if (sessions.size === 0) return;
    const { touches, conversions } = await this.repository.sessionActivity([...sessions]);
    const exposures = [...sessions].flatMap((session) =>
      exposuresOf(session, touches.get(session) ?? [], conversions.get(session) ?? [], declared),
    );
    if (exposures.length === 0 || !(await stillHeld())) return;
    await this.repository.writeExposures(exposures);
    for (const experiment of new Set(exposures.map((exposure) => exposure.experiment)))
      await this.repository.recountVariants(definitions.get(experiment)!, this.clock.now());
  }
}
