/**
 * Reads item-day rollups (`rollups.model.ts`) straight from their BSON bytes, as the driver returns
 * them with `raw: true`.
 *
 * Why: a busy item-day holds ~300 hour × source counters and up to a few thousand sketch registers,
 * each a field of a nested document. Deserialised by the driver, a page of 50 items over 7 days is
 * 350 such documents and ~500,000 JavaScript properties built only to be summed or merged once.
 * Measured on DocumentDB at 1M events (`bench:analytics`, Node's CPU profile), that page spent
 * ~170 ms decoding them, ~50 ms collecting the garbage and ~70 ms summing and merging the objects,
 * of a ~350 ms median, while the engine found the documents in ~10 ms. Walking the bytes and
 * folding each value into the counters or registers as it is read builds none of them: the same
 * page then took ~75 ms.
 *
 * Only what these documents hold is interpreted (embedded documents, numbers, the item's ObjectId
 * and the day's date); every other BSON type is skipped by its size, so a field added later does
 * not break the reads.
 */

import { mergeEncodedSketch } from './uniqueSketch';

/** BSON element types used here (bsonspec.org). */
const DOUBLE = 0x01;
const STRING = 0x02;
const DOCUMENT = 0x03;
const ARRAY = 0x04;
const BINARY = 0x05;
const OBJECT_ID = 0x07;
const BOOLEAN = 0x08;
const DATE = 0x09;
const REGEX = 0x0b;
const DB_POINTER = 0x0c;
const CODE = 0x0d;
const SYMBOL = 0x0e;
const CODE_WITH_SCOPE = 0x0f;
const INT32 = 0x10;
const TIMESTAMP = 0x11;
const INT64 = 0x12;
const DECIMAL128 = 0x13;

/** Value sizes of the fixed-size types; the others are computed in {@link valueSize}. */
const FIXED_SIZE: Readonly<Record<number, number>> = {
  [DOUBLE]: 8,
  [OBJECT_ID]: 12,
  [BOOLEAN]: 1,
  [DATE]: 8,
  [INT32]: 4,
  [TIMESTAMP]: 8,
  [INT64]: 8,
  [DECIMAL128]: 16,
  0x06: 0, // undefined
  0x0a: 0, // null
  0x7f: 0, // max key
  0xff: 0, // min key
};

/** One BSON document (or sub-document) with its `DataView` for reading little-endian numbers. */
interface Bytes {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** Where an item-day document's parts are, read by {@link readItemDay}. */
export interface RawItemDay {
  /** The item's id as 24 hex digits. */
  readonly itemId: string;
  /** Start of the UTC day. */
  readonly day: Date;
  /** Offset of the `hours` sub-document in the bytes, when present. */
  readonly hours?: number;
  /** Offset of the `sessions` sketch sub-document (the registers as fields, older documents), when present. */
  readonly sessions?: number;
  /** Offset of the `users` sketch sub-document, when present. */
  readonly users?: number;
  /** The bytes of the encoded `sessionSketch` (see `encodeSketch`), when present. */
  readonly sessionSketch?: Uint8Array;
  /** The bytes of the encoded `userSketch`, when present. */
  readonly userSketch?: Uint8Array;
  /** The bytes the offsets point into. */
  readonly source: Bytes;
}

function valueSize({ bytes, view }: Bytes, type: number, at: number): number {
  const fixed = FIXED_SIZE[type];
  if (fixed !== undefined) return fixed;
  switch (type) {
    case STRING:
    case CODE:
    case SYMBOL:
      return 4 + view.getInt32(at, true);
    case DOCUMENT:
    case ARRAY:
    case CODE_WITH_SCOPE:
      return view.getInt32(at, true);
    case BINARY:
      return 5 + view.getInt32(at, true);
    case DB_POINTER:
      return 4 + view.getInt32(at, true) + 12;
    case REGEX: {
      let end = at;
      while (bytes[end] !== 0) end++;
      end++;
      while (bytes[end] !== 0) end++;
      return end + 1 - at;
    }
    default:
      throw new Error(`item-day document: unknown BSON type 0x${type.toString(16)} at ${at}`);
  }
}

/**
 * Calls `visit` with each element of the document starting at `start`: its type, where its name
 * starts and ends (exclusive) and where its value starts.
 */
function forEachElement(
  source: Bytes,
  start: number,
  visit: (type: number, nameStart: number, nameEnd: number, valueAt: number) => void,
): void {
  const { bytes, view } = source;
  const end = start + view.getInt32(start, true) - 1; // the document's terminating 0
  let at = start + 4;
  while (at < end) {
    const type = bytes[at++]!;
    const nameStart = at;
    while (bytes[at] !== 0) at++;
    const nameEnd = at++;
    visit(type, nameStart, nameEnd, at);
    at += valueSize(source, type, at);
  }
}

/** A number element's value; NaN for any other type (counters and ranks are int32, int64 or double). */
function numberAt({ view }: Bytes, type: number, at: number): number {
  if (type === INT32) return view.getInt32(at, true);
  if (type === DOUBLE) return view.getFloat64(at, true);
  if (type === INT64) return view.getUint32(at, true) + view.getInt32(at + 4, true) * 2 ** 32;
  return NaN;
}

/** The name as a non-negative integer when it is one ("0".."4095", "23"), otherwise -1. */
function indexName(bytes: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 9) return -1;
  let value = 0;
  for (let at = start; at < end; at++) {
    const digit = bytes[at]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const utf8 = new TextDecoder();

/** The name as a string (source names are short ASCII, decoded without TextDecoder when they are). */
function nameString(bytes: Uint8Array, start: number, end: number): string {
  let name = '';
  for (let at = start; at < end; at++) {
    const byte = bytes[at]!;
    if (byte >= 0x80) return utf8.decode(bytes.subarray(start, end));
    name += String.fromCharCode(byte);
  }
  return name;
}

/** True when the name equals `expected` (ASCII). */
function nameIs(bytes: Uint8Array, start: number, end: number, expected: string): boolean {
  if (end - start !== expected.length) return false;
  for (let index = 0; index < expected.length; index++)
    if (bytes[start + index] !== expected.charCodeAt(index)) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * Finds the parts of one item-day document (fields in any order; others skipped). Throws when it
 * has no `itemId` ObjectId or no `day` date, which every rollup written by the tracking flush has.
 */
export function readItemDay(bytes: Uint8Array): RawItemDay {
  const source: Bytes = { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  let itemId: string | undefined;
  let day: Date | undefined;
  const parts: {
    hours?: number;
    sessions?: number;
    users?: number;
    sessionSketch?: Uint8Array;
    userSketch?: Uint8Array;
  } = {};
  forEachElement(source, 0, (type, nameStart, nameEnd, at) => {
    if (type === OBJECT_ID && nameIs(bytes, nameStart, nameEnd, 'itemId')) {
      itemId = '';
      for (let index = at; index < at + 12; index++) itemId += HEX[bytes[index]!];
    } else if (type === DATE && nameIs(bytes, nameStart, nameEnd, 'day')) {
      day = new Date(numberAt(source, INT64, at));
    } else if (type === DOCUMENT) {
      for (const part of ['hours', 'sessions', 'users'] as const)
        if (nameIs(bytes, nameStart, nameEnd, part)) parts[part] = at;
    } else if (type === BINARY) {
      // int32 length, subtype byte, then the bytes: a view, not a copy.
      for (const part of ['sessionSketch', 'userSketch'] as const)
        if (nameIs(bytes, nameStart, nameEnd, part))
          parts[part] = bytes.subarray(at + 5, at + 5 + source.view.getInt32(at, true));
    }
  });
  if (itemId === undefined || day === undefined) throw new Error('item-day document without itemId or day');
  return { itemId, day, ...parts, source };
}

/**
 * Calls `visit` for every (hour, source) of the `hours` part with its impressions and clicks (0
 * when absent). Hours that are not integers are skipped, as are non-numeric counters.
 */
export function forEachHourCounter(
  document: RawItemDay,
  visit: (hour: number, source: string, impressions: number, clicks: number) => void,
): void {
  if (document.hours === undefined) return;
  const { source } = document;
  const { bytes } = source;
  forEachElement(source, document.hours, (hourType, hourStart, hourEnd, hourAt) => {
    const hour = indexName(bytes, hourStart, hourEnd);
    if (hourType !== DOCUMENT || hour < 0) return;
    forEachElement(source, hourAt, (sourceType, sourceStart, sourceEnd, sourceAt) => {
      if (sourceType !== DOCUMENT) return;
      let impressions = 0;
      let clicks = 0;
      forEachElement(source, sourceAt, (counterType, counterStart, counterEnd, counterAt) => {
        const value = numberAt(source, counterType, counterAt);
        if (Number.isNaN(value)) return;
        if (nameIs(bytes, counterStart, counterEnd, 'impressions')) impressions = value;
        else if (nameIs(bytes, counterStart, counterEnd, 'clicks')) clicks = value;
      });
      visit(hour, nameString(bytes, sourceStart, sourceEnd), impressions, clicks);
    });
  });
}

/**
 * Merges the `sessions` or `users` sketch of the document into dense registers in place (the
 * larger rank per register wins, as `mergeSketch` does for a deserialised sketch): the encoded
 * sketch and, in a document written before sketches were encoded, the registers as fields;
 * registers outside the array and non-numeric ranks are ignored.
 */
export function mergeRawSketch(registers: Uint8Array, document: RawItemDay, sketch: 'sessions' | 'users'): void {
  const encoded = document[sketch === 'sessions' ? 'sessionSketch' : 'userSketch'];
  if (encoded) mergeEncodedSketch(registers, encoded);
  const start = document[sketch];
  if (start === undefined) return;
  const { source } = document;
  forEachElement(source, start, (type, nameStart, nameEnd, at) => {
    const register = indexName(source.bytes, nameStart, nameEnd);
    const rank = numberAt(source, type, at);
    if (register >= 0 && register < registers.length && rank > registers[register]!) registers[register] = rank;
  });
}
