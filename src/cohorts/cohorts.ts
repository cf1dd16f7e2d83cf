import { DAY_MS } from '../shared/clock';

/** A week's length. */
export const WEEK_MS = 7 * DAY_MS;

/** Monday 00:00 UTC of the ISO week of `date`. */
export function startOfWeek(date: Date): Date {
  const day = Math.floor(date.getTime() / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday (and days before it count down).
  return new Date((day - ((((day + 3) % 7) + 7) % 7)) * DAY_MS);
}

/** One cohort: the bidders whose first bid fell in `week`, and how many of them bid in each week since. */
export interface CohortRow {
  readonly week: Date;
  readonly bidders: number;
  /** `retained[k]`: the cohort's bidders who bid `k` weeks after their first (`retained[0]` = `bidders`). */
  readonly retained: readonly number[];
}

/** How a week's bidders relate to the week before (PostHog's lifecycle). */
export interface LifecycleRow {
  readonly week: Date;
  /** Bid this week. */
  readonly active: number;
  /** Bid this week for the first time. */
  readonly new: number;
  /** Bid this week and the week before. */
  readonly returning: number;
  /** Bid this week, not the week before, and some week earlier. */
  readonly resurrecting: number;
  /** Bid the week before, not this week. */
  readonly dormant: number;
}

/**
 * The retention matrix and the lifecycle of `weeks` consecutive weeks (given by their Mondays,
 * oldest first) from every bidder-week up to the last of them. A bidder's first week is the
 * earliest of its weeks that is known (kept within the retention period).
 */
export function cohortsOf(
  activity: ReadonlyArray<{ bidder: string; week: Date }>,
  weeks: readonly Date[],
): { cohorts: CohortRow[]; lifecycle: LifecycleRow[] } {
  const weeksOf = new Map<string, Set<number>>();
  for (const { bidder, week } of activity) {
    let set = weeksOf.get(bidder);
    if (!set) weeksOf.set(bidder, (set = new Set()));
    set.add(week.getTime());
  }
  const first = weeks[0]!.getTime();
  const cohorts = weeks.map((week) => ({
    week,
    bidders: 0,
    retained: Array<number>(weeks.length - weeks.indexOf(week)).fill(0),
  }));
  const lifecycle = weeks.map((week) => ({ week, active: 0, new: 0, returning: 0, resurrecting: 0, dormant: 0 }));
  for (const active of weeksOf.values()) {
    const firstWeek = Math.min(...active);
    const cohort = Math.round((firstWeek - first) / WEEK_MS);
    if (cohort >= 0 && cohort < weeks.length) {
      const row = cohorts[cohort]!;
      row.bidders++;
      for (let later = 0; later < row.retained.length; later++)
        if (active.has(firstWeek + later * WEEK_MS)) row.retained[later]!++;
    }
    lifecycle.forEach((row) => {
      const now = row.week.getTime();
      const before = active.has(now - WEEK_MS);
      if (active.has(now)) {
        row.active++;
        if (firstWeek === now) row.new++;
        else if (before) row.returning++;
        else row.resurrecting++;
      } else if (before) row.dormant++;
    });
  }
  return { cohorts, lifecycle };
}
