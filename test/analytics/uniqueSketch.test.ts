import {
  SKETCH_REGISTERS,
  addToSketch,
  encodeSketch,
  estimateDistinct,
  mergeEncodedSketch,
  mergeSketch,
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

  it.each([1, 2, 10, 39, 100, 1_000, 5_000, 10_000, 12_000, 20_000])(
    'estimate sets of %i distinct values within the documented error, without bias',
    (count) => {
      const errors = Array.from({ length: 10 }, (_, set) => {
        const result = estimate(stored(addToSketch(new Map(), values(`set${set}`, 0, count))));
        expect({ count, result, within: withinSketchError(result, count) }).toMatchObject({ within: true });
        return (result - count) / count;
      });
      // Ten sets per size: the root mean square error near the 1.6 % standard error, the mean near 0
      // (the raw HyperLogLog estimate is biased by several % around 2.5–5 × 4,096 values).
      const rmse = Math.sqrt(errors.reduce((sum, error) => sum + error ** 2, 0) / errors.length);
      const bias = errors.reduce((sum, error) => sum + error, 0) / errors.length;
      expect({ count, rmse: rmse < 0.025, bias: Math.abs(bias) < 0.015 }).toEqual({ count, rmse: true, bias: true });
    },
  );

  it('estimates 100,000 distinct values within the documented error', () => {
    const result = estimate(stored(addToSketch(new Map(), values('large', 0, 100_000))));
    expect({ result, within: withinSketchError(result, 100_000) }).toMatchObject({ within: true });
  });

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
  describe('encoded for storage', () => {
    const dense = (sketch: Map<number, number>) => mergeSketch(new Uint8Array(SKETCH_REGISTERS), stored(sketch));
    const decode = (encoded: Uint8Array) => mergeEncodedSketch(new Uint8Array(SKETCH_REGISTERS), encoded);

    it.each([0, 1, 50, 1_000, 5_000, 100_000])('give back the registers of %i values', (count) => {
      const registers = dense(addToSketch(new Map(), values('e', 0, count)));
      const encoded = encodeSketch(registers);
      expect(decode(encoded)).toEqual(registers);
      const filled = registers.filter((rank) => rank > 0).length;
      // Sparse (3 bytes a register) while that is smaller than one byte per register, dense after.
      expect(encoded.length).toBe(3 * filled < SKETCH_REGISTERS ? 3 * filled : SKETCH_REGISTERS);
    });

    it('switch to dense exactly where sparse stops being smaller', () => {
      const registers = new Uint8Array(SKETCH_REGISTERS);
      for (let register = 0; register < 1_365; register++) registers[register * 3] = 7;
      expect(encodeSketch(registers).length).toBe(4_095);
      registers[1] = 2;
      expect(encodeSketch(registers).length).toBe(SKETCH_REGISTERS);
      expect(decode(encodeSketch(registers))).toEqual(registers);
    });

    it('merge into registers already there (the larger rank wins) and ignore bytes of another shape', () => {
      const registers = new Uint8Array(SKETCH_REGISTERS);
      registers[5] = 9;
      const other = new Uint8Array(SKETCH_REGISTERS);
      other[5] = 3;
      other[6] = 4;
      expect([...mergeEncodedSketch(registers, encodeSketch(other)).subarray(5, 7)]).toEqual([9, 4]);
      const before = Uint8Array.from(registers);
      for (const junk of [new Uint8Array(1), new Uint8Array(4_097), Uint8Array.from([0xff, 0xff, 9])])
        expect(mergeEncodedSketch(registers, junk)).toEqual(before);
    });
  });
});
