import { mongo, Types } from 'mongoose';
import { forEachHourCounter, mergeRawSketch, readItemDay } from '../../src/analytics/itemDayBson';
import type { HourSourceCounters } from '../../src/analytics/rollups.model';
import { SKETCH_REGISTERS, encodeSketch, mergeSketch, type StoredSketch } from '../../src/analytics/uniqueSketch';
import { seededRandom } from '../../src/catalog/demoCatalog';

const { BSON } = mongo;
const DAY = new Date('2026-05-10T00:00:00.000Z');
const bytes = (document: Record<string, unknown>): Uint8Array => BSON.serialize(document);

/** Every (hour, source) counter the raw reader visits, as `hour|source` → [impressions, clicks]. */
function rawCounters(document: Uint8Array): Map<string, [number, number]> {
  const counters = new Map<string, [number, number]>();
  forEachHourCounter(readItemDay(document), (hour, source, impressions, clicks) =>
    counters.set(`${hour}|${source}`, [impressions, clicks]),
  );
  return counters;
}

/** The same from the deserialised object, as the repository read it before the raw reader. */
function objectCounters(hours: Record<string, Record<string, HourSourceCounters>>): Map<string, [number, number]> {
  const counters = new Map<string, [number, number]>();
  for (const [hour, sources] of Object.entries(hours))
    for (const [source, { impressions, clicks }] of Object.entries(sources))
      counters.set(`${hour}|${source}`, [impressions ?? 0, clicks ?? 0]);
  return counters;
}

const rawSketch = (document: Uint8Array, sketch: 'sessions' | 'users') => {
  const registers = new Uint8Array(SKETCH_REGISTERS);
  mergeRawSketch(registers, readItemDay(document), sketch);
  return registers;
};

describe('item-day documents read from BSON bytes', () => {
  it('give the same counters and sketches as the deserialised documents', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 20; round++) {
      const hours: Record<string, Record<string, HourSourceCounters>> = {};
      for (let hour = 0; hour < 24; hour++) {
        if (random() < 0.3) continue;
        const sources: Record<string, HourSourceCounters> = {};
        for (const source of ['SEARCH', 'ITEM_PAGE', 'HOME', 'OTHER'])
          if (random() < 0.7)
            sources[source] = {
              impressions: Math.floor(random() * 500),
              ...(random() < 0.5 ? { clicks: Math.floor(random() * 50) } : {}),
            };
        hours[hour] = sources;
      }
      const sessions: StoredSketch = {};
      for (let i = 0; i < 1000; i++) sessions[Math.floor(random() * SKETCH_REGISTERS)] = 1 + Math.floor(random() * 20);
      const itemId = new Types.ObjectId();
      const document = bytes({ _id: `${itemId.toHexString()}:2026-05-10`, itemId, day: DAY, hours, sessions });

      const read = readItemDay(document);
      expect(read.itemId).toBe(itemId.toHexString());
      expect(read.day).toEqual(DAY);
      expect(rawCounters(document)).toEqual(objectCounters(hours));
      expect(rawSketch(document, 'sessions')).toEqual(mergeSketch(new Uint8Array(SKETCH_REGISTERS), sessions));
      expect(rawSketch(document, 'users')).toEqual(new Uint8Array(SKETCH_REGISTERS));
    }
  });

  it('read counters and ranks stored as int32, double or int64', () => {
    const document = bytes({
      itemId: new Types.ObjectId(),
      day: DAY,
      hours: {
        '3': { SEARCH: { impressions: new BSON.Int32(7), clicks: new BSON.Double(2) } },
        '4': { HOME: { impressions: BSON.Long.fromNumber(5_000_000_000), clicks: new BSON.Double(1.5) } },
      },
      users: { '0': new BSON.Int32(3), '1': new BSON.Double(4), '4095': BSON.Long.fromNumber(9) },
    });
    expect(rawCounters(document)).toEqual(
      new Map([
        ['3|SEARCH', [7, 2]],
        ['4|HOME', [5_000_000_000, 1.5]],
      ]),
    );
    const users = rawSketch(document, 'users');
    expect([users[0], users[1], users[4095]]).toEqual([3, 4, 9]);
  });

  it('find the fields in any order and skip fields and values of other types', () => {
    const itemId = new Types.ObjectId();
    const document = bytes({
      sessions: { '12': 5, note: 'not a register', '13': 'not a rank', '99999': 7 },
      extra: [1, 'two', { three: 3 }],
      hours: {
        '1': { SEARCH: { impressions: 2, clicks: 1, label: 'x', flag: true } },
        later: { SEARCH: { impressions: 100 } },
        '2': 'not an hour',
        '5': { ITEM_PAGE: 'not counters', HOME: { impressions: 4 } },
      },
      binary: new BSON.Binary(Buffer.from([1, 2, 3])),
      pattern: new BSON.BSONRegExp('a.*b', 'i'),
      amount: BSON.Decimal128.fromString('1.5'),
      stamp: new BSON.Timestamp({ t: 1, i: 2 }),
      nothing: null,
      day: DAY,
      category: 'lamps',
      itemId,
    });
    expect(readItemDay(document).itemId).toBe(itemId.toHexString());
    expect(rawCounters(document)).toEqual(
      new Map([
        ['1|SEARCH', [2, 1]],
        ['5|HOME', [4, 0]],
      ]),
    );
    const sessions = rawSketch(document, 'sessions');
    expect(sessions[12]).toBe(5);
    expect(sessions.reduce((sum, rank) => sum + rank, 0)).toBe(5);
  });

  it('merge the encoded sketch and, in an older document, the registers stored as fields', () => {
    const encoded = new Uint8Array(SKETCH_REGISTERS);
    encoded[1] = 4;
    encoded[2] = 6;
    const document = bytes({
      itemId: new Types.ObjectId(),
      day: DAY,
      sessionSketch: new BSON.Binary(encodeSketch(encoded)),
      sessions: { '2': 9, '3': 1 },
    });
    expect([...rawSketch(document, 'sessions').subarray(0, 5)]).toEqual([0, 4, 9, 1, 0]);
    expect(rawSketch(document, 'users')).toEqual(new Uint8Array(SKETCH_REGISTERS));
  });

  it('visit nothing for absent parts and refuse a document without its item or day', () => {
    const document = bytes({ itemId: new Types.ObjectId(), day: DAY });
    expect(rawCounters(document).size).toBe(0);
    expect(rawSketch(document, 'sessions')).toEqual(new Uint8Array(SKETCH_REGISTERS));
    expect(() => readItemDay(bytes({ day: DAY }))).toThrow('without itemId or day');
    expect(() => readItemDay(bytes({ itemId: 'not an ObjectId', day: DAY }))).toThrow('without itemId or day');
  });
});
