/** Milliseconds in an hour: analytics buckets are UTC hours. */
export const HOUR_MS = 3_600_000;
/** Milliseconds in a day: days are sums of 24 hour buckets. */
export const DAY_MS = 24 * HOUR_MS;

/** Start of the UTC hour containing `date`. */
export function startOfHour(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

/** Start of the UTC day containing `date`. */
export function startOfDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

/** A source of the current time, injected everywhere time matters so tests control it. */
export interface Clock {
  /** The current instant. */
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to: for tests of cooldowns, windows and buckets. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the clock to an instant. */
  set(instant: Date | string): void {
    this.current = new Date(instant).getTime();
  }
}
