/**
 * The documented accuracy of one unique count (see `src/analytics/uniqueSketch.ts`): within 5 % of
 * the exact count (three standard errors of 1.6 %), and within 2 below 40 distinct values.
 */
export function withinSketchError(estimate: number, exact: number): boolean {
  return Math.abs(estimate - exact) <= Math.max(2, 0.05 * exact);
}
