import { createHash } from 'node:crypto';

/**
 * HyperLogLog sketches for unique sessions and users.
 *
 * Exact distinct counts over a multi-day range need every distinct key of every day in the range
 * (a session active on two days counts once), so their cost grows with the traffic. A sketch has
 * a fixed size: {@link SKETCH_REGISTERS} registers, each the largest "rank" (position of the first
 * 1-bit of the value's hash) seen among the values hashed to it. Sketches merge by taking the
 * maximum per register, in any order and any number of times: every instance merges its counted
 * events into the stored (item, day) sketch (`tracking/sketchWriter.ts`), and a range merges the
 * sketches of its days.
 *
 * Error bound: relative standard error ≈ 1.04 / √4096 ≈ 1.6 % at every cardinality (Ertl's
 * estimator, below); small sets come out exact or nearly so. test/analytics/uniqueSketch.test.ts
 * measures the error over many sets of each size. Changing the precision invalidates stored
 * sketches.
 */
export const SKETCH_PRECISION = 12;

/** Registers per sketch: 2^{@link SKETCH_PRECISION}. */
export const SKETCH_REGISTERS = 2 ** SKETCH_PRECISION;

/** A sketch as stored: register index → rank, registers still at 0 left out (sparse). */
export type StoredSketch = Record<string, number>;

/** Where one value lands in a sketch. */
export interface SketchEntry {
  /** Index of the register, 0 to {@link SKETCH_REGISTERS} − 1. */
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

/** Raises sparse registers `target` to `source`'s ranks where those are larger, in place; returns `target`. */
export function raiseSketch(target: Map<number, number>, source: ReadonlyMap<number, number>): Map<number, number> {
  for (const [register, rank] of source) if ((target.get(register) ?? 0) < rank) target.set(register, rank);
  return target;
}

/** Merges a stored sketch into dense registers in place (registers outside the sketch ignored); returns them. */
export function mergeSketch(registers: Uint8Array, sketch: StoredSketch | undefined): Uint8Array {
  for (const [register, rank] of Object.entries(sketch ?? {})) {
    const index = Number(register);
    if (index >= 0 && index < SKETCH_REGISTERS && rank > registers[index]!) registers[index] = rank;
  }
  return registers;
}

/** Merges stored sketches (e.g. the days of a range) into new dense registers. */
export function mergeSketches(sketches: Iterable<StoredSketch | undefined>): Uint8Array {
  const registers = new Uint8Array(SKETCH_REGISTERS);
  for (const sketch of sketches) mergeSketch(registers, sketch);
  return registers;
}

/** Bytes per register of the sparse encoding: its index (2 bytes, big-endian) and its rank. */
const SPARSE_ENTRY_BYTES = 3;

/**
 * The registers as stored in an item-day's binary sketch field: sparse while that is smaller —
 * (index, rank) pairs of the non-zero registers, 3 bytes each, in index order — and dense beyond —
 * one byte per register, exactly {@link SKETCH_REGISTERS} bytes (a sparse encoding is a multiple of
 * 3 and shorter, so the length tells which). A full sketch is 4 KiB, where registers as fields of
 * a sub-document took ~50 KiB, and the engine rewrites a document's every byte on each update.
 */
export function encodeSketch(registers: Uint8Array): Uint8Array {
  let filled = 0;
  for (const rank of registers) if (rank > 0) filled++;
  if (filled * SPARSE_ENTRY_BYTES >= SKETCH_REGISTERS) return Uint8Array.from(registers);
  const encoded = new Uint8Array(filled * SPARSE_ENTRY_BYTES);
  let at = 0;
  for (let register = 0; register < registers.length; register++) {
    const rank = registers[register]!;
    if (rank === 0) continue;
    encoded[at++] = register >>> 8;
    encoded[at++] = register & 0xff;
    encoded[at++] = rank;
  }
  return encoded;
}

/**
 * Merges a sketch encoded by {@link encodeSketch} into dense registers in place (the larger rank
 * per register wins); returns them. Bytes of any other length, or registers out of range, are
 * ignored rather than trusted.
 */
export function mergeEncodedSketch(registers: Uint8Array, encoded: Uint8Array): Uint8Array {
  if (encoded.length === SKETCH_REGISTERS) {
    for (let register = 0; register < SKETCH_REGISTERS; register++)
      if (encoded[register]! > registers[register]!) registers[register] = encoded[register]!;
  } else if (encoded.length % SPARSE_ENTRY_BYTES === 0) {
    for (let at = 0; at < encoded.length; at += SPARSE_ENTRY_BYTES) {
      const register = (encoded[at]! << 8) | encoded[at + 1]!;
      const rank = encoded[at + 2]!;
      if (register < registers.length && rank > registers[register]!) registers[register] = rank;
    }
  }
  return registers;
}

/** Merges sparse registers (as {@link addToSketch} builds them) into dense registers in place; true if any rose. */
export function mergeEntries(registers: Uint8Array, entries: ReadonlyMap<number, number>): boolean {
  let rose = false;
  for (const [register, rank] of entries)
    if (register >= 0 && register < registers.length && rank > registers[register]!) {
      registers[register] = rank;
      rose = true;
    }
  return rose;
}

/** Largest rank a register can hold minus one (Ertl's q): 64 hash bits minus the index bits. */
const MAX_RANK_BITS = 64 - SKETCH_PRECISION;

/** Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) · 2^(k−1), for the empty-register share x in [0, 1). */
function sigma(x: number): number {
  let power = x;
  let weight = 1;
  let sum = x;
  for (;;) {
    power *= power;
    const next = sum + power * weight;
    if (next === sum) return sum;
    sum = next;
    weight *= 2;
  }
}

/** Ertl's τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² · 2^−k) / 3, for the saturated-register share x. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let root = x;
  let weight = 1;
  let sum = 1 - x;
  for (;;) {
    root = Math.sqrt(root);
    weight /= 2;
    const next = sum - (1 - root) ** 2 * weight;
    if (next === sum) return sum / 3;
    sum = next;
  }
}

/**
 * The estimated number of distinct values of merged registers, rounded: Ertl's improved
 * estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), unbiased
 * from a handful of values to billions without empirical bias tables or a switch between
 * linear counting and the raw HyperLogLog estimate (whose bias peaks around that switch).
 */
export function estimateDistinct(registers: Uint8Array): number {
  const m = SKETCH_REGISTERS;
  const histogram = new Array<number>(MAX_RANK_BITS + 2).fill(0);
  for (const rank of registers) histogram[Math.min(rank, MAX_RANK_BITS + 1)]!++;
  if (histogram[0] === m) return 0;
  let z = m * tau(1 - histogram[MAX_RANK_BITS + 1]! / m);
  for (let rank = MAX_RANK_BITS; rank >= 1; rank--) z = 0.5 * (z + histogram[rank]!);
  z += m * sigma(histogram[0]! / m);
  return Math.round((m * m) / (2 * Math.LN2 * z));
}
