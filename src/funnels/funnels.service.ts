import DataLoader from 'dataloader';
import { Types } from 'mongoose';
import { Role } from '../auth/apiKey';
import { forbidden, type Viewer } from '../auth/viewer';
import type { ItemRangeKey } from '../analytics/analytics.service';
import type { EffectiveTimeRange } from '../analytics/timeRange';
import { pollChanges, type LiveReads } from '../live/polling';
import { DAY_MS, startOfDay } from '../shared/clock';
import type { GraphQLError } from 'graphql';
import type { ExperimentsService } from '../experiments/experiments.service';
import { badUserInput, ErrorCode } from '../shared/errors';
import type { FunnelBuilder } from './funnelBuilder';
import { FunnelScope, type CountedJourneys, type FunnelDayRecord } from './funnel.model';
import type { FunnelsRepository } from './funnels.repository';
import { depthReached, FunnelStep, histogramMedianMs, pairKey, addHistogram, type Histogram } from './journeys';
import { FunnelBreakdown, type Funnel, type FunnelFilter, type FunnelStepFigures } from './funnels.types';

/** The steps of a funnel when none are given: all of them. */
export const ALL_STEPS: readonly FunnelStep[] = Object.freeze(Object.values(FunnelStep));

/**
 * Per-request loaders: the funnel rows of every lot of a page in one read per range, and the
 * declared variants of an experiment once.
 */
export interface FunnelLoaders {
  readonly itemRows: DataLoader<ItemRangeKey, FunnelDayRecord[], string>;
  readonly declaredVariants: DataLoader<string, string[]>;
}

/**
 * Funnels read from the day rows the builder keeps (one read per funnel, whatever the range, the
 * steps or the breakdown), and the builder itself.
 */
export class FunnelsService {
  constructor(
    private readonly repository: FunnelsRepository,
    private readonly builder: FunnelBuilder,
    /** Where a funnel of an experiment finds its declared variants. */
    private readonly experiments: Pick<ExperimentsService, 'checkKey' | 'declaredVariants'>,
    private readonly live: LiveReads,
  ) {}

  /** Builds what was received up to `FUNNEL_SETTLE_MS` ago now (the periodic job calls it too). */
  catchUp(): Promise<number> {
    return this.builder.catchUp();
  }

  /**
   * The marketplace's funnel, or one category's or seller's; with `filter.experiment`, the journeys
   * tagged in that experiment only. A SELLER key reads its own lots only, and no experiment.
   *
   * @throws BAD_USER_INPUT for steps out of order or repeated, or a breakdown the filter does not
   *   allow; FORBIDDEN for a SELLER naming another seller or an experiment; NOT_FOUND for an
   *   experiment not defined
   */
  async funnel(
    viewer: Viewer,
    range: EffectiveTimeRange,
    steps: readonly FunnelStep[] | null | undefined,
    breakdown: FunnelBreakdown | null | undefined,
    filter: FunnelFilter | null | undefined,
  ): Promise<Funnel> {
    const { ordered, sellerId, experiment } = this.checkArguments(viewer, steps, breakdown, filter);
    const days = wholeDays(range);
    const [rows, variants] = await Promise.all([
      this.repository.rows({
        scope: sellerId !== undefined ? FunnelScope.SELLER : FunnelScope.CATEGORY,
        ...days,
        ...(filter?.category != null ? { category: filter.category } : {}),
        ...(sellerId !== undefined ? { sellerId } : {}),
      }),
      experiment === undefined ? undefined : this.experiments.declaredVariants(experiment, 'filter.experiment'),
    ]);
    return evaluate(
      rows,
      ordered,
      breakdown ?? null,
      days,
      experiment === undefined ? undefined : { experiment, variants: variants! },
    );
  }

  /**
   * The steps in order, the seller whose lots count (none: the marketplace's) and the experiment
   * whose journeys count (none: all), without a read: what a subscription checks before it opens.
   *
   * @throws BAD_USER_INPUT for steps out of order or repeated, a malformed experiment key, VARIANT
   *   without an experiment or SOURCE with one; FORBIDDEN for a SELLER naming another seller or an
   *   experiment
   */
  checkArguments(
    viewer: Viewer,
    steps: readonly FunnelStep[] | null | undefined,
    breakdown: FunnelBreakdown | null | undefined,
    filter: FunnelFilter | null | undefined,
  ): { ordered: readonly FunnelStep[]; sellerId: string | undefined; experiment: string | undefined } {
    const ordered = validSteps(steps);
    let sellerId = filter?.sellerId ?? undefined;
    if (viewer.role === Role.SELLER) {
      // A SELLER key without a seller (none is made so) must not fall through to the marketplace.
      if (!viewer.sellerId || (sellerId !== undefined && sellerId !== viewer.sellerId))
        throw forbidden("A SELLER key reads the funnels of its own seller's lots only.");
      sellerId = viewer.sellerId;
    }
    const experiment = this.checkExperiment(viewer, breakdown, filter?.experiment ?? undefined, 'filter.experiment');
    return { ordered, sellerId, experiment };
  }

  /**
   * {@link funnel}, live: at once, then whenever it changes, read once per `LiveReads.intervalMs`
   * (the range resolved again each time, so a relative one moves with the clock); the funnel of an
   * experiment not defined yet counts nothing until it is. Check the arguments first
   * ({@link checkArguments}).
   */
  watch(
    viewer: Viewer,
    range: () => EffectiveTimeRange,
    steps: readonly FunnelStep[] | null | undefined,
    breakdown: FunnelBreakdown | null | undefined,
    filter: FunnelFilter | null | undefined,
  ): AsyncIterableIterator<Funnel> {
    return pollChanges(
      async () => {
        const resolved = range();
        try {
          return await this.funnel(viewer, resolved, steps, breakdown, filter);
        } catch (error) {
          if ((error as GraphQLError).extensions?.code !== ErrorCode.NOT_FOUND) throw error;
          return evaluate([], validSteps(steps), null, wholeDays(resolved));
        }
      },
      this.live.intervalMs,
      this.live.onError,
    );
  }

  /**
   * One lot's funnel, from the rows the request's loader read for every lot of the page at once.
   *
   * @throws as {@link checkArguments}, and BAD_USER_INPUT for a CATEGORY breakdown (a lot has one)
   */
  async itemFunnel(
    viewer: Viewer,
    loaders: FunnelLoaders,
    key: ItemRangeKey,
    steps: readonly FunnelStep[] | null | undefined,
    breakdown: FunnelBreakdown | null | undefined,
    experimentKey: string | null | undefined,
  ): Promise<Funnel> {
    const ordered = validSteps(steps);
    if (breakdown === FunnelBreakdown.CATEGORY)
      throw badUserInput(
        'breakdown',
        'A lot has one category: break its funnel down by SOURCE or VARIANT, or leave breakdown out.',
      );
    const experiment = this.checkExperiment(viewer, breakdown, experimentKey ?? undefined, 'experiment');
    const [rows, variants] = await Promise.all([
      loaders.itemRows.load(key),
      experiment === undefined ? undefined : loaders.declaredVariants.load(experiment),
    ]);
    return evaluate(
      rows,
      ordered,
      breakdown ?? null,
      wholeDays(key.range),
      experiment === undefined ? undefined : { experiment, variants: variants! },
    );
  }

  /**
   * The experiment a funnel is of, if any.
   *
   * @throws FORBIDDEN for a SELLER naming one (experiments are the marketplace's); BAD_USER_INPUT
   *   for a malformed key, VARIANT without one or SOURCE with one
   */
  private checkExperiment(
    viewer: Viewer,
    breakdown: FunnelBreakdown | null | undefined,
    experiment: string | undefined,
    field: string,
  ): string | undefined {
    if (experiment === undefined) {
      if (breakdown === FunnelBreakdown.VARIANT)
        throw badUserInput(
          field,
          `breakdown: VARIANT needs ${field}: the key of the experiment whose variants to compare.`,
        );
      return undefined;
    }
    if (viewer.role === Role.SELLER)
      throw forbidden("Experiments are the marketplace's: a funnel of one needs an ADMIN or ANALYST key.");
    this.experiments.checkKey(experiment, field);
    if (breakdown === FunnelBreakdown.SOURCE)
      throw badUserInput(
        'breakdown',
        // One lot has one category.
        `A funnel of an experiment breaks down by ${field === 'experiment' ? 'VARIANT, or not at all' : 'VARIANT or CATEGORY'} (its journeys are counted by variant, not source).`,
      );
    return experiment;
  }

  /** Loaders for one request. */
  createLoaders(): FunnelLoaders {
    return {
      itemRows: new DataLoader(
        async (keys) => {
          const byRange = new Map<string, { days: { from: Date; to: Date }; itemIds: Set<string> }>();
          for (const key of keys) {
            const days = wholeDays(key.range);
            const id = `${days.from.getTime()}|${days.to.getTime()}`;
            const group = byRange.get(id) ?? { days, itemIds: new Set<string>() };
            group.itemIds.add(key.itemId);
            byRange.set(id, group);
          }
          const read: Array<{ key: string; row: FunnelDayRecord }> = [];
          for (const [id, { days, itemIds }] of byRange)
            for (const row of await this.repository.rows({
              scope: FunnelScope.ITEM,
              ...days,
              itemIds: [...itemIds]
                .filter((itemId) => Types.ObjectId.isValid(itemId))
                .map((itemId) => new Types.ObjectId(itemId)),
            }))
              read.push({ key: `${row.itemId!.toHexString()}|${id}`, row });
          const rows = Map.groupBy(read, ({ key }) => key);
          return keys.map((key) => {
            const days = wholeDays(key.range);
            return (rows.get(`${key.itemId}|${days.from.getTime()}|${days.to.getTime()}`) ?? []).map(({ row }) => row);
          });
        },
        { cacheKeyFn: (key) => `${key.itemId}|${key.range.from.getTime()}|${key.range.to.getTime()}` },
      ),
      // One experiment per field in practice; a key refused is refused for each lot alike.
      declaredVariants: new DataLoader(
        (experiments) =>
          Promise.all(
            experiments.map((experiment) =>
              this.experiments.declaredVariants(experiment).catch((error: unknown) => error as Error),
            ),
          ),
        { batch: false },
      ),
    };
  }
}

/** The steps asked for: 2 to 6, each once, in the funnel's order. */
function validSteps(steps: readonly FunnelStep[] | null | undefined): readonly FunnelStep[] {
  if (steps == null) return ALL_STEPS;
  const positions = steps.map((step) => ALL_STEPS.indexOf(step));
  if (steps.length < 2 || positions.some((position, index) => index > 0 && position <= positions[index - 1]!))
    throw badUserInput(
      'steps',
      `steps must be 2 to 6 different steps in the funnel's order (${ALL_STEPS.join(' → ')}), e.g. [IMPRESSION, BID, PURCHASE].`,
    );
  return steps;
}

/** The whole UTC days a range touches: journeys are counted by the day they began. */
function wholeDays(range: EffectiveTimeRange): { from: Date; to: Date } {
  return { from: startOfDay(range.from), to: new Date(Math.ceil(range.to.getTime() / DAY_MS) * DAY_MS) };
}

/** Step counts and the durations into each step, added up. */
interface Tally {
  readonly journeys: number[];
  readonly durations: Histogram[];
}

/** The experiment a funnel counts the journeys of, and its declared variants. */
interface ExperimentScope {
  readonly experiment: string;
  readonly variants: readonly string[];
}

/**
 * A funnel from day rows: every entry reaches a depth of the funnel, fixed by its signature. With
 * an experiment, its declared variants' entries only, and every variant listed in a VARIANT
 * breakdown, those without journeys too.
 */
export function evaluate(
  rows: readonly FunnelDayRecord[],
  steps: readonly FunnelStep[],
  breakdown: FunnelBreakdown | null,
  days: { from: Date; to: Date },
  scope?: ExperimentScope,
): Funnel {
  const blank = (): Tally => ({ journeys: steps.map(() => 0), durations: steps.map(() => ({})) });
  const total = blank();
  const groups = new Map<string, Tally>(
    breakdown === FunnelBreakdown.VARIANT && scope ? scope.variants.map((variant) => [variant, blank()]) : [],
  );
  const counted = (row: FunnelDayRecord): Array<{ key: string | null; entry: CountedJourneys }> => {
    if (scope)
      return (row.variants ?? [])
        .filter((entry) => entry.experiment === scope.experiment && scope.variants.includes(entry.variant))
        .map((entry) => ({
          key:
            breakdown === FunnelBreakdown.VARIANT
              ? entry.variant
              : breakdown === FunnelBreakdown.CATEGORY
                ? row.category
                : null,
          entry,
        }));
    return row.entries.map((entry) => ({
      key:
        breakdown === FunnelBreakdown.SOURCE
          ? entry.source
          : breakdown === FunnelBreakdown.CATEGORY
            ? row.category
            : null,
      entry,
    }));
  };
  for (const row of rows)
    for (const { key, entry } of counted(row)) {
      const depth = depthReached(entry.signature, steps);
      if (depth === 0) continue;
      let group: Tally | undefined;
      if (key !== null) {
        group = groups.get(key);
        if (!group) groups.set(key, (group = blank()));
      }
      for (let index = 0; index < depth; index++) {
        total.journeys[index] = total.journeys[index]! + entry.count;
        if (group) group.journeys[index] = group.journeys[index]! + entry.count;
        if (index === 0) continue;
        // Reached in order, so stored in this order (ties keep the funnel's order).
        const histogram = entry.durations[pairKey(steps[index - 1]!, steps[index]!)];
        if (!histogram) continue;
        addHistogram(total.durations[index]!, histogram);
        if (group) addHistogram(group.durations[index]!, histogram);
      }
    }
  return {
    range: days,
    steps: figures(steps, total),
    breakdown: [...groups.entries()]
      .sort((a, b) => b[1].journeys[0]! - a[1].journeys[0]! || a[0].localeCompare(b[0]))
      .map(([key, tally]) => ({ key, steps: figures(steps, tally) })),
  };
}

function figures(steps: readonly FunnelStep[], tally: Tally): FunnelStepFigures[] {
  const ratio = (value: number, of: number | undefined) => (of ? value / of : null);
  return steps.map((step, index) => {
    const median = index === 0 ? null : histogramMedianMs(tally.durations[index]);
    return {
      step,
      journeys: tally.journeys[index]!,
      conversionFromPrevious: index === 0 ? null : ratio(tally.journeys[index]!, tally.journeys[index - 1]),
      conversionFromFirst: ratio(tally.journeys[index]!, tally.journeys[0]),
      medianSecondsFromPrevious: median === null ? null : Math.round(median) / 1000,
    };
  });
}
