import {
  SKETCH_REGISTERS,
  addToSketch,
  estimateDistinct,
  mergeSketches,
  sketchEntry,
  type StoredSketch,
} from '../../src/analytics/uniqueSketch';
import { withinSketchError } from '../support/sketchBound';

const values = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
const stored = (sketch: Map<number, number>): StoredSketch => Object.fromEntries(sketch);
const estimate = (...sketches: StoredSketch[]) => estimateDistinct(mergeSketches(sketches));

describe('unique sketches', () => {
  it('give 0 for nothing and count a repeated value once', () => {
    expect(estimate()).toBe(0);
    expect(estimate(stored(addToSketch(new Map(), ['s-1', 's-1', 's-1'])))).toBe(1);
  });

  it('place every value in a valid register with a rank the same on every call', () => {
    for (const value of [...values('session', 0, 1000), '', 'ü', 'x'.repeat(10_000)]) {
      const entry = sketchEntry(value);
      expect(entry).toEqual(sketchEntry(value));
      expect(entry.register).toBeGreaterThanOrEqual(0);
      expect(entry.register).toBeLessThan(SKETCH_REGISTERS);
      expect(entry.rank).toBeGreaterThanOrEqual(1);
      expect(entry.rank).toBeLessThanOrEqual(53);
    }
  });

  it.each([1, 2, 10, 39, 100, 300, 1_000, 3_000, 8_000, 10_000, 12_000, 20_000, 50_000, 100_000])(
    'estimate %i distinct values within the documented error',
    (count) => {
      for (const prefix of ['session', 'user']) {
        const result = estimate(stored(addToSketch(new Map(), values(prefix, 0, count))));
        expect({ count, result, within: withinSketchError(result, count) }).toMatchObject({ within: true });
      }
    },
  );

  it('merge days into their union: a value seen on two days counts once', () => {
    const monday = stored(addToSketch(new Map(), values('s', 0, 3_000)));
    const tuesday = stored(addToSketch(new Map(), values('s', 1_500, 4_500)));
    const both = estimate(monday, tuesday);
    expect(withinSketchError(both, 4_500)).toBe(true);
    // Merging is idempotent and order-free, as `$max` upserts from several instances are.
    expect(estimate(tuesday, monday, monday)).toBe(both);
  });

  it('ignore registers outside the sketch (a corrupted or foreign document)', () => {
    const sketch = stored(addToSketch(new Map(), values('s', 0, 50)));
    expect(estimate({ ...sketch, '-1': 60, [String(SKETCH_REGISTERS)]: 60, junk: 60 })).toBe(estimate(sketch));
  });
});
