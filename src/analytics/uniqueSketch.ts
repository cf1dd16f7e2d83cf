import { createHash } from 'node:crypto';

/**
 * HyperLogLog sketches for unique sessions and users.
 *
 * Exact distinct counts over a multi-day range need every distinct key of every day in the range
 * (a session active on two days counts once), so their cost grows with the traffic. A sketch has
 * a fixed size: {@link SKETCH_REGISTERS} registers, each the largest "rank" (position of the first
 * 1-bit of the value's hash) seen among the values hashed to it. Sketches merge by taking the
 * maximum per register, which is what MongoDB's `$max` update operator does atomically: every
 * tracking flush, on every instance, merges its values into the stored (item, day) sketch with
 * one upsert, and a range merges the sketches of its days.
 *
 * Error bound: relative standard error 1.04 / √4096 ≈ 1.6 % (Flajolet et al., 2007); below about
 * 10,000 distinct values the linear-counting estimate is used, which is within a few values of
 * the exact count (see test/analytics/uniqueSketch.test.ts for the measured errors). Changing the
 * precision invalidates stored sketches.
 */
export const SKETCH_PRECISION = 12;

/** Registers per sketch: 2^{@link SKETCH_PRECISION}. */
export const SKETCH_REGISTERS = 2 ** SKETCH_PRECISION;

/** A sketch as stored: register index → rank, registers still at 0 left out (sparse). */
export type StoredSketch = Record<string, number>;

/** Where one value lands in a sketch. */
export interface SketchEntry {
  readonly register: number;
  /** 1 + the number of leading zero bits of the rest of the hash (1..53). */
  readonly rank: number;
}

const REST_BITS = 32 - SKETCH_PRECISION;

/**
 * The register and rank of a value: the first {@link SKETCH_PRECISION} bits of its MD5 hash pick
 * the register, the following 52 bits give the rank. MD5 is used for its uniform bits and because
 * Node has it built in, not for security; any instance computes the same entry for the same value.
 */
export function sketchEntry(value: string): SketchEntry {
  const hash = createHash('md5').update(value).digest();
  const high = hash.readUInt32BE(0);
  const low = hash.readUInt32BE(4);
  const register = high >>> REST_BITS;
  const rest = (high << SKETCH_PRECISION) >>> 0;
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : REST_BITS + Math.clz32(low) + 1;
  return { register, rank };
}

/** Adds values to a sparse sketch in place (the largest rank per register wins); returns it. */
export function addToSketch(sketch: Map<number, number>, values: Iterable<string>): Map<number, number> {
  for (const value of values) {
    const { register, rank } = sketchEntry(value);
    if ((sketch.get(register) ?? 0) < rank) sketch.set(register, rank);
  }
  return sketch;
}

/** Merges stored sketches (e.g. the days of a range) into dense registers. */
export function mergeSketches(sketches: Iterable<StoredSketch | undefined>): Uint8Array {
  const registers = new Uint8Array(SKETCH_REGISTERS);
  for (const sketch of sketches) {
    if (!sketch) continue;
    for (const [register, rank] of Object.entries(sketch)) {
      const index = Number(register);
      if (index >= 0 && index < SKETCH_REGISTERS && rank > registers[index]!) registers[index] = rank;
    }
  }
  return registers;
}

const ALPHA = 0.7213 / (1 + 1.079 / SKETCH_REGISTERS);

/**
 * The estimated number of distinct values of merged registers, rounded: the HyperLogLog raw
 * estimate, or linear counting (m · ln(m / empty registers)) while that is below 2.5 · m, where
 * it is the more accurate of the two. 64-bit hashes need no large-range correction.
 */
export function estimateDistinct(registers: Uint8Array): number {
  let sum = 0;
  let empty = 0;
  for (const rank of registers) {
    sum += 2 ** -rank;
    if (rank === 0) empty++;
  }
  const m = SKETCH_REGISTERS;
  const raw = (ALPHA * m * m) / sum;
  if (raw <= 2.5 * m && empty > 0) return Math.round(m * Math.log(m / empty));
  return Math.round(raw);
}
