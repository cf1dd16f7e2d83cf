/**
 * The statistics of experiment results, from per-variant sums (what the variant rows keep), by the
 * methods of GrowthBook's stats engine (gbstats): Welch's t-interval of a difference of means, the
 * delta method for a ratio (CTR), CUPED regression adjustment with a pooled theta, the
 * always-valid interval of Waudby-Smith et al. (2023), a Gaussian posterior under a flat prior for
 * the chance to beat control, and a chi-square test of the split. test/experiments checks every
 * figure against gbstats itself (fixtures computed offline).
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** One variant's sessions, summed: n and the sums (and sums of squares and products) of each per-session figure. */
export interface VariantSums {
  /** Exposed sessions. */
  readonly sessions: number;
  /** Impressions tagged with the experiment, and their squares per session. */
  readonly impressions: number;
  readonly impressionsSquares: number;
  /** Clicks tagged with the experiment, and their squares per session. */
  readonly clicks: number;
  readonly clicksSquares: number;
  /** Σ impressions × clicks per session. */
  readonly impressionsClicks: number;
  /** Sessions that converted after their exposure (0 or 1 each). */
  readonly conversions: number;
  /** The covariate: counted events of the session before its exposure, their squares, and their products with conversion. */
  readonly pre: number;
  readonly preSquares: number;
  readonly preConversions: number;
}

/** A difference between a variant and control with its two-sided interval. */
export interface Estimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly pValue: number;
}

/** A mean and its variance (of one observation), as gbstats' statistics give them. */
interface Moments {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

const sampleVariance = (n: number, sum: number, squares: number) =>
  n <= 1 ? 0 : (squares - (sum * sum) / n) / (n - 1);

/** A conversion rate: Bernoulli, variance p(1 − p). */
function proportion(sums: VariantSums): Moments {
  const mean = sums.sessions === 0 ? 0 : sums.conversions / sums.sessions;
  return { n: sums.sessions, mean, variance: mean * (1 - mean) };
}

/** Clicks per impression over sessions, by the delta method. */
function clickThroughRate(sums: VariantSums): Moments {
  const n = sums.sessions;
  const clicks = { mean: n === 0 ? 0 : sums.clicks / n, variance: sampleVariance(n, sums.clicks, sums.clicksSquares) };
  const shown = {
    mean: n === 0 ? 0 : sums.impressions / n,
    variance: sampleVariance(n, sums.impressions, sums.impressionsSquares),
  };
  const mean = sums.impressions === 0 ? 0 : sums.clicks / sums.impressions;
  if (shown.mean === 0 || n <= 1) return { n, mean, variance: 0 };
  const covariance = (sums.impressionsClicks - (sums.clicks * sums.impressions) / n) / (n - 1);
  const variance =
    clicks.variance / shown.mean ** 2 -
    (2 * covariance * clicks.mean) / shown.mean ** 3 +
    (clicks.mean ** 2 * shown.variance) / shown.mean ** 4;
  return { n, mean, variance };
}

/** CUPED's theta: the pooled covariance of conversion with the covariate over the covariate's variance. */
export function cupedTheta(a: VariantSums, b: VariantSums): number {
  const n = a.sessions + b.sessions;
  const conversions = a.conversions + b.conversions;
  const post = n === 0 ? 0 : conversions / n;
  const pre = sampleVariance(n, a.pre + b.pre, a.preSquares + b.preSquares);
  if (pre === 0 || post * (1 - post) === 0 || n <= 1) return 0;
  const covariance = (a.preConversions + b.preConversions - (conversions * (a.pre + b.pre)) / n) / (n - 1);
  return covariance / pre;
}

/** A conversion rate adjusted by CUPED: Y − θ·X, with its variance. */
function adjusted(sums: VariantSums, theta: number): Moments & { unadjusted: number } {
  const post = proportion(sums);
  const n = sums.sessions;
  const preMean = n === 0 ? 0 : sums.pre / n;
  if (n <= 1) return { n, mean: post.mean - theta * preMean, variance: 0, unadjusted: post.mean };
  const preVariance = sampleVariance(n, sums.pre, sums.preSquares);
  const covariance = (sums.preConversions - (sums.conversions * sums.pre) / n) / (n - 1);
  return {
    n,
    mean: post.mean - theta * preMean,
    variance: post.variance + theta * theta * preVariance - 2 * theta * covariance,
    unadjusted: post.mean,
  };
}

/** The variance of the difference of two means. */
const differenceVariance = (a: Moments, b: Moments) => a.variance / a.n + b.variance / b.n;

/**
 * Welch's two-sided t-interval (level `1 − alpha`) of `b − a`; null when it cannot be computed
 * (a variant without sessions or without variance, or a control rate of 0, as gbstats).
 */
function welch(a: Moments & { unadjusted?: number }, b: Moments, alpha: number): Estimate | null {
  if ((a.unadjusted ?? a.mean) === 0 || a.mean === 0 || a.variance <= 0 || b.variance <= 0) return null;
  const variance = differenceVariance(a, b);
  const value = b.mean - a.mean;
  const dof = variance ** 2 / (b.variance ** 2 / (b.n ** 2 * (b.n - 1)) + a.variance ** 2 / (a.n ** 2 * (a.n - 1)));
  const width = tQuantile(1 - alpha / 2, dof) * Math.sqrt(variance);
  const statistic = Math.abs(value) / Math.sqrt(variance);
  return { value, low: value - width, high: value + width, pValue: 2 * (1 - tCdf(statistic, dof)) };
}

/** The difference in conversion rate of `treatment` over `control`, with its interval. */
export function conversionDifference(control: VariantSums, treatment: VariantSums, alpha = 0.05): Estimate | null {
  return welch(proportion(control), proportion(treatment), alpha);
}

/** The difference in click-through rate (clicks per impression), by the delta method. */
export function clickThroughDifference(control: VariantSums, treatment: VariantSums, alpha = 0.05): Estimate | null {
  return welch(clickThroughRate(control), clickThroughRate(treatment), alpha);
}

/** The difference in conversion rate adjusted by CUPED with the sessions' pre-exposure engagement. */
export function cupedConversionDifference(control: VariantSums, treatment: VariantSums, alpha = 0.05): Estimate | null {
  const theta = cupedTheta(control, treatment);
  return welch(adjusted(control, theta), adjusted(treatment, theta), alpha);
}

/**
 * How many sessions the always-valid interval is tuned for: it is narrowest there. GrowthBook's
 * default; an experiment read much earlier or later gets a somewhat wider interval, never a wrong one.
 */
export const SEQUENTIAL_TUNING_SESSIONS = 5_000;

/**
 * The always-valid (sequential) interval of the difference in conversion rate (Waudby-Smith et al.
 * 2023, eq. 9, as gbstats): it holds at every look, so a team may read results while the test
 * runs. Its p-value is the always-valid one (eq. 155). Null where the fixed-horizon one is.
 */
export function sequentialConversionDifference(
  control: VariantSums,
  treatment: VariantSums,
  alpha = 0.05,
): Estimate | null {
  const a = proportion(control);
  const b = proportion(treatment);
  if (a.mean === 0 || a.variance <= 0 || b.variance <= 0) return null;
  const n = a.n + b.n;
  const variance = differenceVariance(a, b);
  const value = b.mean - a.mean;
  const rho = Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / SEQUENTIAL_TUNING_SESSIONS);
  const spread = n * rho * rho + 1;
  const width =
    Math.sqrt(variance * n) * Math.sqrt((2 * spread * Math.log(Math.sqrt(spread) / alpha)) / (n * rho) ** 2);
  const squared = (value * value * n) / variance;
  const evidence = Math.exp((rho * rho * squared) / (2 * spread)) / Math.sqrt(spread);
  return { value, low: value - width, high: value + width, pValue: Math.min(1 / evidence, 1) };
}

/**
 * The posterior probability that `treatment` converts better than `control` (a Gaussian on the
 * difference, flat prior, as gbstats); null without sessions or variance.
 */
export function chanceToBeatControl(control: VariantSums, treatment: VariantSums): number | null {
  const a = proportion(control);
  const b = proportion(treatment);
  if (a.n === 0 || b.n === 0 || a.variance <= 0 || b.variance <= 0) return null;
  return 1 - normalCdf(0, b.mean - a.mean, Math.sqrt(differenceVariance(a, b)));
}

/** The split a test flags as mismatched below this p-value (GrowthBook's and Statsig's threshold). */
export const SAMPLE_RATIO_THRESHOLD = 0.001;

/**
 * The p-value of a chi-square goodness-of-fit test of the sessions per variant against the
 * planned weights (default: an even split) — a sample ratio mismatch: a low one says the
 * assignment or the tracking is broken.
 */
export function sampleRatioPValue(
  sessions: readonly number[],
  weights: readonly number[] = sessions.map(() => 1),
): number {
  const total = sessions.reduce((sum, count) => sum + count, 0);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0 || sessions.length < 2) return 1;
  const statistic = sessions.reduce((sum, count, index) => {
    const expected = (weights[index]! / totalWeight) * total;
    return sum + (count - expected) ** 2 / expected;
  }, 0);
  return 1 - chisquareCdf(statistic, sessions.length - 1);
}
