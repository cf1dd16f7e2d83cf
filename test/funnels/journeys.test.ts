import {
  bucketMiddleMs,
  countedSteps,
  depthReached,
  durationBucket,
  FunnelStep,
  histogramMedianMs,
  signatureOf,
  tagField,
  variantsOf,
  type StepTimes,
} from '../../src/funnels/journeys';

const ORDER = Object.values(FunnelStep);
const DAY = 86_400_000;

/** A pseudo-random generator with a seed, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * The definition, written out plainly: the funnel's steps are reached one by one while each has a
 * first occurrence (within the window of the journey's first counted step, before the lot's end
 * but for a purchase) no earlier than the previous one's.
 */
function bruteDepth(times: StepTimes, endsAt: number, windowMs: number, funnel: readonly FunnelStep[]): number {
  const counted = new Map<FunnelStep, number>();
  for (const step of ORDER) {
    const at = times[step];
    if (at !== undefined && (step === FunnelStep.PURCHASE || at < endsAt)) counted.set(step, at);
  }
  if (counted.size === 0) return 0;
  const start = Math.min(...counted.values());
  for (const [step, at] of counted) if (at > start + windowMs) counted.delete(step);
  let previous = -Infinity;
  for (let index = 0; index < funnel.length; index++) {
    const at = counted.get(funnel[index]!);
    if (at === undefined || at < previous) return index;
    previous = at;
  }
  return funnel.length;
}

describe('funnel arithmetic', () => {
  it('reaches the same depth through the signature as the definition does, for 20,000 random journeys and funnels', () => {
    const next = random(7);
    for (let run = 0; run < 20_000; run++) {
      const times: StepTimes = {};
      // Coarse times, so that ties (two steps in one instant) are common.
      for (const step of ORDER) if (next() < 0.6) times[step] = Math.floor(next() * 20) * DAY;
      const endsAt = Math.floor(next() * 25) * DAY;
      const windowMs = (1 + Math.floor(next() * 20)) * DAY;
      const funnel = ORDER.filter(() => next() < 0.6);
      if (funnel.length < 2) continue;
      const signature = signatureOf(countedSteps(times, { endsAt }, windowMs));
      expect([signature, depthReached(signature, funnel)]).toEqual([
        signature,
        bruteDepth(times, endsAt, windowMs, funnel),
      ]);
    }
  });

  it('writes signatures in order of first occurrence, = for a tie, and leaves out what the lot or the window excludes', () => {
    const lot = { endsAt: 10 * DAY };
    expect(signatureOf(countedSteps({ IMPRESSION: 1, CLICK: 2, BID: 2, PURCHASE: 11 * DAY }, lot, 14 * DAY))).toBe(
      'I<C=B<P',
    );
    // A watch after the end is not the lot's; a purchase after the end (a won lot paid) is.
    expect(signatureOf(countedSteps({ IMPRESSION: 1, WATCH: 10 * DAY }, lot, 14 * DAY))).toBe('I');
    // The window runs from the first counted step.
    expect(signatureOf(countedSteps({ IMPRESSION: 0, BID: 3 * DAY }, lot, 2 * DAY))).toBe('I');
    expect(depthReached('I<C=B<P', [FunnelStep.IMPRESSION, FunnelStep.BID, FunnelStep.PURCHASE])).toBe(3);
    expect(depthReached('C<I', [FunnelStep.IMPRESSION, FunnelStep.CLICK])).toBe(1);
    expect(depthReached('', [FunnelStep.IMPRESSION, FunnelStep.CLICK])).toBe(0);
  });

  it('reads a median from the time buckets within 10 % of the exact median, or a second', () => {
    const next = random(11);
    for (let run = 0; run < 500; run++) {
      const durations = Array.from({ length: 1 + Math.floor(next() * 200) }, () =>
        Math.floor(Math.exp(next() * Math.log(30 * DAY))),
      ).sort((a, b) => a - b);
      const histogram: Record<string, number> = {};
      for (const ms of durations) histogram[durationBucket(ms)] = (histogram[durationBucket(ms)] ?? 0) + 1;
      // The lower median: the value at or above which half the journeys are.
      const exact = durations[Math.ceil(durations.length / 2) - 1]!;
      const read = histogramMedianMs(histogram)!;
      expect(Math.abs(read - exact)).toBeLessThanOrEqual(Math.max(0.1 * exact, 1_000));
    }
    expect(histogramMedianMs({})).toBeNull();
    expect(bucketMiddleMs(durationBucket(60_000))).toBeGreaterThan(54_000);
  });
});

describe('experiment tags of a journey', () => {
  it('stores each tag as one field name, dots and all, and reads back the variant of the first touch tagged with a declared variant, per experiment', () => {
    const field = tagField('lot-page.v2', 'wide.photos');
    // One path segment: a dot would make the $min update write a nested field instead.
    expect(field).not.toContain('.');
    const tags = {
      [field]: 2_000,
      [tagField('lot-page.v2', 'control')]: 1_000,
      [tagField('search:ranking', 'b')]: 5_000,
      [tagField('search:ranking', 'a')]: 5_000,
    };
    const declared = new Map([
      ['lot-page.v2', new Set(['control', 'wide.photos'])],
      ['search:ranking', new Set(['a', 'b'])],
    ]);
    expect(variantsOf(tags, declared)).toEqual(
      new Map([
        ['lot-page.v2', 'control'],
        // The same instant: the first in name order.
        ['search:ranking', 'a'],
      ]),
    );
    // A variant no longer declared is passed over for the journey's next tagged one; an
    // experiment no longer defined is left out.
    expect(variantsOf(tags, new Map([['lot-page.v2', new Set(['wide.photos'])]]))).toEqual(
      new Map([['lot-page.v2', 'wide.photos']]),
    );
    expect(variantsOf(undefined, declared)).toEqual(new Map());
  });
});
