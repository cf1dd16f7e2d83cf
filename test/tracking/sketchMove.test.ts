import 'reflect-metadata';
import { Types, mongo } from 'mongoose';
import { createAnalyticsRepository } from '../../src/analytics/analytics.repository';
import { itemDayId } from '../../src/analytics/rollups.model';
import {
  SKETCH_REGISTERS,
  addToSketch,
  encodeSketch,
  estimateDistinct,
  mergeSketches,
} from '../../src/analytics/uniqueSketch';
import { createLogger } from '../../src/shared/logger';
import { SketchMove } from '../../src/tracking/sketchMove';
import { createTrackingRepository } from '../../src/tracking/tracking.repository';
import { ItemAnalyticsDocument } from '../generated/graphql';
import { insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';

const DAY = new Date('2026-03-02T00:00:00.000Z');
const NEXT_DAY = new Date(DAY.getTime() + 86_400_000);
let app: TestApp;
let items: string[];

beforeAll(async () => {
  app = await startTestApp({ periodicJobs: false, env: { GAVEL_SEED_DEMO: 'false' } });
  items = await insertDemoItems(app, 3, 5);
});
afterAll(() => app.stop());

const rows = () => app.database.connection.collection<{ _id: string } & Record<string, unknown>>('item_days');
const sketchDocuments = () => app.database.connection.collection<{ _id: string }>('item_day_sketches');
const sessionsOf = (prefix: string, count: number) => Array.from({ length: count }, (_, n) => `${prefix}-${n}`);
const sparseOf = (values: string[]) => Object.fromEntries(addToSketch(new Map(), values));
const denseOf = (values: string[]) => {
  const registers = new Uint8Array(SKETCH_REGISTERS);
  for (const [register, rank] of addToSketch(new Map(), values)) registers[register] = rank;
  return registers;
};
const estimate = (values: string[]) => estimateDistinct(mergeSketches([sparseOf(values)]));

/**
 * A rollup row as Gavel stored it before the sketches moved out: the oldest form (registers as
 * fields) for `fields`, the encoded form (with its write token) for `encoded`.
 */
async function insertLegacyRow(item: string, sketches: { fields?: string[]; encoded?: string[]; users?: string[] }) {
  const itemId = new Types.ObjectId(item);
  await rows().insertOne({
    _id: itemDayId(itemId, DAY),
    itemId,
    day: DAY,
    category: '',
    hours: { '9': { HOME: { impressions: 1 } } },
    ...(sketches.fields ? { sessions: sparseOf(sketches.fields) } : {}),
    ...(sketches.encoded
      ? { sessionSketch: new mongo.Binary(encodeSketch(denseOf(sketches.encoded))), sketchWrite: new Types.ObjectId() }
      : {}),
    ...(sketches.users ? { userSketch: new mongo.Binary(encodeSketch(denseOf(sketches.users))) } : {}),
  });
}

async function uniqueSessions(item: string): Promise<number> {
  const response = await execute(app, ItemAnalyticsDocument, {
    id: item,
    range: { from: DAY.toISOString(), to: NEXT_DAY.toISOString() },
  });
  return response.data!.auctionItem!.analytics!.uniqueSessions;
}

const legacyFieldsOf = async (item: string) => {
  const row = await rows().findOne({ _id: itemDayId(item, DAY) });
  return ['sessionSketch', 'userSketch', 'sessions', 'users', 'sketchWrite'].filter((field) => row && field in row);
};

describe('unique sketches of an older Gavel, stored in the rollup rows', () => {
  it('are read beside the sketch documents while the move is pending, and not after', async () => {
    const [item] = items;
    await insertLegacyRow(item!, { fields: sessionsOf('a-old', 20), encoded: sessionsOf('a-enc', 30) });
    // This version's writes go to the sketch document only.
    await createTrackingRepository(app.database.connection).mergeSketches([
      {
        itemId: new Types.ObjectId(item),
        day: DAY,
        sessions: addToSketch(new Map(), sessionsOf('a-new', 25)),
        users: new Map(),
      },
    ]);
    let pending = true;
    const repository = createAnalyticsRepository(app.database.connection, { legacySketches: () => pending });
    const read = async () => (await repository.uniques([new Types.ObjectId(item)], DAY, NEXT_DAY)).get(item!)?.sessions;
    expect(await read()).toBe(
      estimate([...sessionsOf('a-old', 20), ...sessionsOf('a-enc', 30), ...sessionsOf('a-new', 25)]),
    );
    pending = false;
    expect(await read()).toBe(estimate(sessionsOf('a-new', 25)));
  });

  it('are moved into the sketch documents, merged with what this version wrote, and taken off the rows', async () => {
    // The test app's start found nothing to move and recorded it: as on a database of an older Gavel, no record.
    await app.database.connection.collection('gavel_migrations').deleteMany({});
    const [first, second] = items;
    await insertLegacyRow(second!, { encoded: sessionsOf('b-enc', 40), users: ['b-user-1', 'b-user-2'] });
    const move = new SketchMove(
      app.database.connection,
      createTrackingRepository(app.database.connection),
      createLogger('silent'),
    );
    expect(move.pending()).toBe(true);
    expect(await move.run()).toBe(2);
    expect(move.pending()).toBe(false);
    expect(await legacyFieldsOf(first!)).toEqual([]);
    expect(await legacyFieldsOf(second!)).toEqual([]);
    // The counters stay where they were.
    expect((await rows().findOne({ _id: itemDayId(second!, DAY) }))!.hours).toEqual({
      '9': { HOME: { impressions: 1 } },
    });
    // Read through the API, from the sketch documents only.
    expect(await uniqueSessions(first!)).toBe(
      estimate([...sessionsOf('a-old', 20), ...sessionsOf('a-enc', 30), ...sessionsOf('a-new', 25)]),
    );
    expect(await uniqueSessions(second!)).toBe(estimate(sessionsOf('b-enc', 40)));
    const analytics = await execute(app, ItemAnalyticsDocument, {
      id: second!,
      range: { from: DAY.toISOString(), to: NEXT_DAY.toISOString() },
    });
    expect(analytics.data!.auctionItem!.analytics!.uniqueUsers).toBe(2);
    // A pass that moved something does not record the move as done: the next one checks again,
    // finds nothing, and records it, after which starts skip the scan.
    expect(
      await app.database.connection
        .collection('gavel_migrations')
        .countDocuments({ _id: 'item-day-sketches-moved' as never }),
    ).toBe(0);
    expect(await move.run()).toBe(0);
    expect(
      await app.database.connection
        .collection('gavel_migrations')
        .countDocuments({ _id: 'item-day-sketches-moved' as never }),
    ).toBe(1);
  });

  it('leave a row an older instance wrote to during the move for the next start, losing no register', async () => {
    await app.database.connection.collection('gavel_migrations').deleteMany({});
    const [, , third] = items;
    await insertLegacyRow(third!, { encoded: sessionsOf('c-enc', 10) });
    const tracking = createTrackingRepository(app.database.connection);
    const itemId = new Types.ObjectId(third);
    const move = new SketchMove(
      app.database.connection,
      {
        // An instance of the older version writes the row's sketch while the move merges it.
        mergeSketches: async (sketches) => {
          await tracking.mergeSketches(sketches);
          await rows().updateOne(
            { _id: itemDayId(third!, DAY) },
            {
              $set: {
                sessionSketch: new mongo.Binary(encodeSketch(denseOf([...sessionsOf('c-enc', 10), 'c-late']))),
                sketchWrite: new Types.ObjectId(),
              },
            },
          );
        },
      },
      createLogger('silent'),
    );
    expect(await move.run()).toBe(1);
    expect(await legacyFieldsOf(third!)).toEqual(['sessionSketch', 'sketchWrite']);
    // The next start moves it.
    const next = new SketchMove(app.database.connection, tracking, createLogger('silent'));
    expect(await next.run()).toBe(1);
    expect(await legacyFieldsOf(third!)).toEqual([]);
    expect(await uniqueSessions(third!)).toBe(estimate([...sessionsOf('c-enc', 10), 'c-late']));
    expect(await sketchDocuments().countDocuments({ itemId })).toBe(1);
  });
});
