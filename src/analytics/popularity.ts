/**
 * Impressions below this are stored exactly; from it on, to {@link SIGNIFICANT_DIGITS} digits.
 */
const EXACT_BELOW = 100;
const SIGNIFICANT_DIGITS = 2;

/**
 * The popularity score stored for an item with `impressions` over the popularity window: exact
 * below 100, then rounded down to two significant digits (1,234 → 1,200; 98,765 → 98,000), so a
 * step is at most a tenth of the score.
 *
 * Why: every stored change rewrites the item and every index entry it has (16), and a busy item's
 * count moves on every refresh. Two items within a step of each other may then sort either way
 * (by id, as any tie), which nobody notices in an order by popularity; in exchange, a refresh
 * writes the items that moved a step — what changed in the order — instead of every item that got
 * an impression.
 */
export function popularityScore(impressions: number): number {
  if (!(impressions > 0)) return 0;
  const whole = Math.floor(impressions);
  if (whole < EXACT_BELOW) return whole;
  const step = 10 ** (String(whole).length - SIGNIFICANT_DIGITS);
  return whole - (whole % step);
}
