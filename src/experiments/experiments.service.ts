import { type ConversionKind } from '../conversions/conversionEvent.model';
import type { GraphQLError } from 'graphql';
import type { LiveReads } from '../funnels/funnels.service';
import { pollChanges } from '../live/polling';
import { badUserInput, ErrorCode, notFound } from '../shared/errors';
import { EXPERIMENT_KEY_PATTERN, type MeasuredKind } from './exposure.model';
import type { ExperimentsRepository } from './experiments.repository';
import type { ExperimentResults, ExperimentVariant } from './experiments.types';
import {
  chanceToBeatControl,
  clickThroughDifference,
  conversionDifference,
  cupedConversionDifference,
  SAMPLE_RATIO_THRESHOLD,
  sampleRatioPValue,
  sequentialConversionDifference,
  type VariantSums,
} from './statistics';

/** The variant taken as control when none is named and one is called so. */
const DEFAULT_CONTROL = 'control';

/** Experiment results, from the variant rows the funnel builder keeps (one read per experiment). */
export class ExperimentsService {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly live: LiveReads,
  ) {}

  /**
   * {@link results}, live: at once, then whenever they change, read once per
   * `LiveReads.intervalMs`; null while the experiment has no exposure yet. Check the key first
   * ({@link checkKey}).
   */
  watch(
    experiment: string,
    control: string | null | undefined,
    conversion: ConversionKind,
  ): AsyncIterableIterator<ExperimentResults | null> {
    return pollChanges(
      async () => {
        try {
          return await this.results(experiment, control, conversion);
        } catch (error) {
          // Not started yet: the dashboard waits for the first exposures.
          if ((error as GraphQLError).extensions?.code === ErrorCode.NOT_FOUND) return null;
          throw error;
        }
      },
      this.live.intervalMs,
      this.live.onError,
    );
  }

  /** @throws BAD_USER_INPUT for a malformed experiment key */
  checkKey(experiment: string): void {
    if (!EXPERIMENT_KEY_PATTERN.test(experiment))
      throw badUserInput(
        'experiment',
        'experiment must be 1 to 64 letters, digits or _ . : - (the key tracking was sent).',
      );
  }

  /**
   * Every variant of `experiment` against control (`control`, else the variant named "control",
   * else the first by name), for conversions of `conversion` kind.
   *
   * @throws BAD_USER_INPUT for a malformed key or an unknown control; NOT_FOUND before any exposure
   */
  async results(
    experiment: string,
    control: string | null | undefined,
    conversion: ConversionKind,
  ): Promise<ExperimentResults> {
    this.checkKey(experiment);
    const rows = await this.repository.variantRows(experiment);
    if (rows.length === 0)
      throw notFound(
        `No exposures of experiment "${experiment}" yet: tag tracking events with it (experiment and variant), and allow FUNNEL_SETTLE_MS for them to count.`,
        'experiment',
      );
    const names = rows.map((row) => row.variant);
    const controlName = control ?? (names.includes(DEFAULT_CONTROL) ? DEFAULT_CONTROL : names[0]!);
    if (!names.includes(controlName))
      throw badUserInput('control', `control must be one of the variants: ${names.join(', ')}.`);
    const kind = conversion as unknown as MeasuredKind;
    const sumsOf = new Map(rows.map((row) => [row.variant, row.sums[kind]]));
    const controlSums = sumsOf.get(controlName)!;
    const ordered = [controlName, ...names.filter((name) => name !== controlName)];
    const pValue = sampleRatioPValue(ordered.map((name) => sumsOf.get(name)!.sessions));
    return {
      experiment,
      control: controlName,
      conversion,
      conflictedSessions: rows.reduce((sum, row) => sum + row.conflicted, 0),
      sampleRatio: { pValue, mismatch: pValue < SAMPLE_RATIO_THRESHOLD },
      variants: ordered.map((name) =>
        variantFigures(name, sumsOf.get(name)!, name === controlName ? null : controlSums),
      ),
    };
  }
}

function variantFigures(variant: string, sums: VariantSums, control: VariantSums | null): ExperimentVariant {
  return {
    variant,
    sessions: sums.sessions,
    impressions: sums.impressions,
    clicks: sums.clicks,
    clickThroughRate: sums.impressions === 0 ? null : sums.clicks / sums.impressions,
    conversions: sums.conversions,
    conversionRate: sums.sessions === 0 ? null : sums.conversions / sums.sessions,
    versusControl: control && {
      conversion: conversionDifference(control, sums),
      cupedConversion: cupedConversionDifference(control, sums),
      sequentialConversion: sequentialConversionDifference(control, sums),
      chanceToBeatControl: chanceToBeatControl(control, sums),
      clickThroughRate: clickThroughDifference(control, sums),
    },
  };
}
