/**
 * The documented accuracy of unique counts (see `src/analytics/uniqueSketch.ts`): within 5 % of
 * the exact count (about three standard errors), and within 2 below 40 distinct values.
 */
export function withinSketchError(estimate: number, exact: number): boolean {
  return Math.abs(estimate - exact) <= Math.max(2, 0.05 * exact);
}
