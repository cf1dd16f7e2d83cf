import { type ConversionKind } from '../conversions/conversionEvent.model';
import type { GraphQLError } from 'graphql';
import { pollChanges, type LiveReads } from '../live/polling';
import { badUserInput, ErrorCode, notFound } from '../shared/errors';
import { FunnelStep } from '../funnels/journeys';
import type { Viewer } from '../auth/viewer';
import type { Clock } from '../shared/clock';
import {
  EXPERIMENT_KEY_PATTERN,
  MEASURED_KINDS,
  type ExperimentDefinitionRecord,
  type MeasuredKind,
  type VariantRowRecord,
} from './exposure.model';
import { MAX_VARIANTS, type ExperimentsRepository } from './experiments.repository';
import type { ExperimentDefinition, ExperimentInput, ExperimentResults, ExperimentVariant } from './experiments.types';
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

/** Experiment results, from the variant rows the funnel builder keeps (one read per experiment). */
export class ExperimentsService {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly clock: Clock,
    private readonly live: LiveReads,
  ) {}

  /**
   * {@link results}, live: at once, then whenever they change, read once per
   * `LiveReads.intervalMs`; null while the experiment is not defined. Check the key first
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
          // Not defined yet: the dashboard waits for it.
          if ((error as GraphQLError).extensions?.code === ErrorCode.NOT_FOUND) return null;
          throw error;
        }
      },
      this.live.intervalMs,
      this.live.onError,
    );
  }

  /** @throws BAD_USER_INPUT for a malformed experiment key */
  checkKey(experiment: string, field = 'experiment'): void {
    if (!EXPERIMENT_KEY_PATTERN.test(experiment))
      throw badUserInput(field, `${field} must be 1 to 64 letters, digits or _ . : - (the key tracking was sent).`);
  }

  /**
   * The variants `experiment` declares, in their order (a funnel broken down by variant shows each).
   *
   * @throws BAD_USER_INPUT for a malformed key; NOT_FOUND for an experiment not defined
   */
  async declaredVariants(experiment: string, field = 'experiment'): Promise<string[]> {
    this.checkKey(experiment, field);
    const definition = await this.repository.definition(experiment);
    if (!definition) throw notDefined(experiment, field);
    return definition.variants.map((variant) => variant.name);
  }

  /**
   * Every declared variant of `experiment` against control (`control`, else the defined one), for
   * conversions of `conversion` kind; the split is tested against the planned weights.
   *
   * @throws BAD_USER_INPUT for a malformed key or an undeclared control; NOT_FOUND for an experiment not defined
   */
  async results(
    experiment: string,
    control: string | null | undefined,
    conversion: ConversionKind,
  ): Promise<ExperimentResults> {
    this.checkKey(experiment);
    const [definition, rows] = await Promise.all([
      this.repository.definition(experiment),
      this.repository.variantRows(experiment),
    ]);
    if (!definition) throw notDefined(experiment);
    const names = definition.variants.map((variant) => variant.name);
    const controlName = control ?? definition.control;
    if (!names.includes(controlName))
      throw badUserInput('control', `control must be one of the variants: ${names.join(', ')}.`);
    const rowOf = new Map(rows.map((row) => [row.variant, row]));
    // A variant without a row yet (no exposure since it was declared) has none of anything.
    const figuresOf = (name: string) => rowOf.get(name) ?? emptyRow(experiment, name);
    const sumsOf = (name: string) => figuresOf(name).sums[MEASURED_KIND_OF[conversion]];
    const ordered = [controlName, ...names.filter((name) => name !== controlName)];
    const weightOf = new Map(definition.variants.map((variant) => [variant.name, variant.weight]));
    const pValue = sampleRatioPValue(
      ordered.map((name) => sumsOf(name).sessions),
      ordered.map((name) => weightOf.get(name)!),
    );
    return {
      experiment,
      control: controlName,
      conversion,
      conflictedSessions: ordered.reduce((sum, name) => sum + figuresOf(name).conflicted, 0),
      sampleRatio: { pValue, mismatch: pValue < SAMPLE_RATIO_THRESHOLD },
      variants: ordered.map((name) =>
        variantFigures(figuresOf(name), sumsOf(name), name === controlName ? null : sumsOf(controlName)),
      ),
    };
  }

  /**
   * Defines (or redefines) an experiment: its variants with their planned weights and its control.
   * Its rows are recounted at once for the variants now declared.
   *
   * @throws BAD_USER_INPUT for a malformed key or variant, fewer than 2 or more than
   *   {@link MAX_VARIANTS} variants, a repeated name, a weight not above 0, or an undeclared control
   */
  async define(viewer: Viewer, input: ExperimentInput): Promise<ExperimentDefinition> {
    this.checkKey(input.key, 'key');
    const variants = input.variants.map((variant) => ({ name: variant.name, weight: variant.weight ?? 1 }));
    if (variants.length < 2 || variants.length > MAX_VARIANTS)
      throw badUserInput('variants', `variants must hold 2 to ${MAX_VARIANTS} variants.`);
    for (const { name, weight } of variants) {
      if (!EXPERIMENT_KEY_PATTERN.test(name))
        throw badUserInput(
          'variants',
          'A variant name must be 1 to 64 letters, digits or _ . : - (as the pages tag it).',
        );
      if (!Number.isFinite(weight) || weight <= 0 || weight > MAX_WEIGHT)
        throw badUserInput(
          'variants',
          `A variant's weight must be above 0 and at most ${MAX_WEIGHT} (its planned share of sessions).`,
        );
    }
    const names = variants.map((variant) => variant.name);
    if (new Set(names).size !== names.length) throw badUserInput('variants', 'Each variant is named once.');
    const control = input.control ?? names[0]!;
    if (!names.includes(control))
      throw badUserInput('control', `control must be one of the variants: ${names.join(', ')}.`);
    const definition = {
      _id: input.key,
      variants,
      control,
      updatedAt: this.clock.now(),
      updatedBy: viewer.keyId ?? 'unknown',
    };
    await this.repository.define(definition);
    await this.repository.recountVariants(definition, definition.updatedAt);
    return toDefinition(definition);
  }

  /** Every defined experiment, by key. */
  async list(): Promise<ExperimentDefinition[]> {
    return (await this.repository.definitions()).map(toDefinition);
  }
}

function notDefined(experiment: string, field = 'experiment'): GraphQLError {
  return notFound(
    `No experiment "${experiment}" is defined: define it with defineExperiment (its variants and control), then tag tracking events with it.`,
    field,
  );
}

/** The largest planned weight of a variant (weights are relative: 1 and 1, or 90 and 10). */
const MAX_WEIGHT = 1_000_000;

const MEASURED_KIND_OF: Record<ConversionKind, MeasuredKind> = {
  ITEM_VIEW: 'ITEM_VIEW',
  WATCH: 'WATCH',
  BID: 'BID',
  PURCHASE: 'PURCHASE',
};

function toDefinition(record: ExperimentDefinitionRecord): ExperimentDefinition {
  return { key: record._id, variants: record.variants, control: record.control, updatedAt: record.updatedAt };
}

/** The row of a declared variant no session has been exposed to yet. */
function emptyRow(experiment: string, variant: string): VariantRowRecord {
  const zero: VariantSums = {
    sessions: 0,
    impressions: 0,
    impressionsSquares: 0,
    clicks: 0,
    clicksSquares: 0,
    impressionsClicks: 0,
    conversions: 0,
    pre: 0,
    preSquares: 0,
    preConversions: 0,
  };
  return {
    _id: `${experiment}|${variant}`,
    experiment,
    variant,
    conflicted: 0,
    clickedSessions: 0,
    sums: Object.fromEntries(MEASURED_KINDS.map((kind) => [kind, zero])) as Record<MeasuredKind, VariantSums>,
    updatedAt: new Date(0),
  };
}

function variantFigures(row: VariantRowRecord, sums: VariantSums, control: VariantSums | null): ExperimentVariant {
  const share = (count: number) => (sums.sessions === 0 ? null : count / sums.sessions);
  return {
    variant: row.variant,
    funnel: [
      { step: FunnelStep.CLICK, sessions: row.clickedSessions, share: share(row.clickedSessions) },
      ...MEASURED_KINDS.map((kind) => ({
        step: FunnelStep[kind],
        sessions: row.sums[kind].conversions,
        share: share(row.sums[kind].conversions),
      })),
    ],
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
