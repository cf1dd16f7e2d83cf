/**
 * The funnel's arithmetic, with no database: what a journey (one session on one lot) reached, as a
 * compact signature, and how signatures, counted per day, answer any ordered funnel.
 *
 * A journey keeps the first time it did each step. A funnel of ordered steps s1 → s2 → … counts a
 * journey at step k when it did s1 … sk, each first occurrence no earlier than the one before,
 * all within the conversion window after the journey's first step, and — but for a purchase, which
 * a won auction pays after the end — before the lot ended.
 */

/** The funnel's steps, in their natural order. */
export enum FunnelStep {
  IMPRESSION = 'IMPRESSION',
  CLICK = 'CLICK',
  ITEM_VIEW = 'ITEM_VIEW',
  WATCH = 'WATCH',
  BID = 'BID',
  PURCHASE = 'PURCHASE',
}

/** One letter per step in signatures and histogram keys. */
const LETTER: Record<FunnelStep, string> = {
  [FunnelStep.IMPRESSION]: 'I',
  [FunnelStep.CLICK]: 'C',
  [FunnelStep.ITEM_VIEW]: 'V',
  [FunnelStep.WATCH]: 'W',
  [FunnelStep.BID]: 'B',
  [FunnelStep.PURCHASE]: 'P',
};

/** The first time (ms) a journey did each step it did. */
export type StepTimes = Partial<Record<FunnelStep, number>>;

/** What the counting rules need to know about a journey's lot. */
export interface JourneyLot {
  readonly endsAt: number;
}

/**
 * The steps a journey counts, in order of their first occurrence: those within `windowMs` of its
 * first step and before its lot ended (a purchase may follow the end). Ties keep the natural order.
 */
export function countedSteps(times: StepTimes, lot: JourneyLot, windowMs: number): Array<[FunnelStep, number]> {
  const inLot = Object.values(FunnelStep)
    .filter((step) => times[step] !== undefined)
    .map((step) => [step, times[step]!] as [FunnelStep, number])
    .filter(([step, at]) => step === FunnelStep.PURCHASE || at < lot.endsAt);
  if (inLot.length === 0) return [];
  const start = Math.min(...inLot.map(([, at]) => at));
  return inLot.filter(([, at]) => at <= start + windowMs).sort((a, b) => a[1] - b[1]);
}

/**
 * The signature of a journey's counted steps: their letters in order of first occurrence, `<`
 * between two at different times and `=` between two at the same instant (`I<C=V<B`). Journeys
 * with one signature reach the same depth of every funnel, so counting signatures is enough.
 */
export function signatureOf(steps: ReadonlyArray<[FunnelStep, number]>): string {
  return steps
    .map(([step, at], index) => (index === 0 ? '' : at === steps[index - 1]![1] ? '=' : '<') + LETTER[step])
    .join('');
}

/** Step letter → its rank in a signature (ties share a rank). */
function ranks(signature: string): Map<string, number> {
  const result = new Map<string, number>();
  let rank = 0;
  for (let index = 0; index < signature.length; index++) {
    const char = signature[index]!;
    if (char === '<') rank++;
    else if (char !== '=') result.set(char, rank);
  }
  return result;
}

/**
 * How many steps of `funnel` a journey with this signature reached: the longest prefix whose steps
 * it did, each first occurrence no earlier than the previous step's.
 */
export function depthReached(signature: string, funnel: readonly FunnelStep[]): number {
  const rankOf = ranks(signature);
  let previous = -1;
  for (let index = 0; index < funnel.length; index++) {
    const rank = rankOf.get(LETTER[funnel[index]!]);
    if (rank === undefined || rank < previous) return index;
    previous = rank;
  }
  return funnel.length;
}

/** Key of the time between two steps in a histogram map: their letters (`IB`: impression to bid). */
export function pairKey(from: FunnelStep, to: FunnelStep): string {
  return LETTER[from] + LETTER[to];
}

/**
 * Buckets of the time between two steps: bucket `b` holds durations of `[2^(b/4) - 1, 2^((b+1)/4) - 1)`
 * seconds, so each spans about 19 % of its value (0: under a fifth of a second; 87: about 35 days).
 * A median read from them is within 10 % of the exact one, or a second.
 */
export function durationBucket(ms: number): number {
  return Math.max(0, Math.floor(4 * Math.log2(ms / 1000 + 1)));
}

/** The middle of a bucket, in milliseconds (geometric, as the buckets are). */
export function bucketMiddleMs(bucket: number): number {
  return (Math.pow(2, (bucket + 0.5) / 4) - 1) * 1000;
}

/**
 * The times between every two counted steps of a journey, as pairs in step order (`from` first),
 * bucketed: what a day's row adds up so that a median between any two funnel steps can be read.
 */
export function pairDurations(steps: ReadonlyArray<[FunnelStep, number]>): Array<[string, number]> {
  const pairs: Array<[string, number]> = [];
  for (let from = 0; from < steps.length; from++)
    for (let to = from + 1; to < steps.length; to++)
      pairs.push([pairKey(steps[from]![0], steps[to]![0]), durationBucket(steps[to]![1] - steps[from]![1])]);
  return pairs;
}

/** A bucketed distribution: bucket → count. */
export type Histogram = Record<string, number>;

/** The median of a bucketed distribution (the middle of the bucket holding it); null when empty. */
export function histogramMedianMs(histogram: Histogram | undefined): number | null {
  if (!histogram) return null;
  const buckets = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen * 2 >= total) return bucketMiddleMs(bucket);
  }
  return null;
}

/** Adds `from`'s counts into `into`. */
export function addHistogram(into: Histogram, from: Histogram): void {
  for (const [bucket, count] of Object.entries(from)) into[bucket] = (into[bucket] ?? 0) + count;
}

/**
 * The field name of an experiment tag in a journey's `tags`: the key and the variant, a space
 * between them (neither may hold one) and their dots escaped, so that it is one path segment.
 */
export function tagField(experiment: string, variant: string): string {
  return `${experiment} ${variant}`.replaceAll('.', '%2E');
}

/**
 * The variant of each defined experiment a journey was tagged in: that of its first touch tagged
 * with a variant the experiment declares now (ties: the first in name order), read back from `tags`
 * (see {@link tagField}).
 */
export function variantsOf(
  tags: Record<string, number> | undefined,
  declared: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, string> {
  const first = new Map<string, { variant: string; at: number }>();
  for (const [field, at] of Object.entries(tags ?? {})) {
    const [experiment, variant] = field.replaceAll('%2E', '.').split(' ') as [string, string];
    if (!declared.get(experiment)?.has(variant)) continue;
    const seen = first.get(experiment);
    if (!seen || at < seen.at || (at === seen.at && variant.localeCompare(seen.variant) < 0))
      first.set(experiment, { variant, at });
  }
  return new Map([...first].map(([experiment, { variant }]) => [experiment, variant]));
}
