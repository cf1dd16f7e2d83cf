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
import { LegacySketches } from '../../src/tracking/legacySketches';
import { createTrackingRepository } from '../../src/tracking/tracking.repository';
import { ItemAnalyticsDocument } from '../generated/graphql';
import { insertDemoItems } from '../support/catalogFixtures';
import { runGavel, type CommandResult } from '../support/serverProcess';
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

/** `gavel rollups move-sketches` as its own process on this file's database. */
function moveSketches(...options: string[]): Promise<CommandResult> {
  return runGavel(['rollups', 'move-sketches', ...options], {
    NODE_ENV: 'test',
    MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
    MONGODB_DB: app.databaseName,
    ...(process.env.MONGODB_SHARDING ? { MONGODB_SHARDING: process.env.MONGODB_SHARDING } : {}),
  });
}

const migrations = () => app.database.connection.collection<{ _id: string }>('gavel_migrations');
const movedRecorded = async () => (await migrations().countDocuments({ _id: 'item-day-sketches-moved' })) === 1;

const legacyFieldsOf = async (item: string) => {
  const row = await rows().findOne({ _id: itemDayId(item, DAY) });
  return ['sessionSketch', 'userSketch', 'sessions', 'users', 'sketchWrite'].filter((field) => row && field in row);
};

describe('unique sketches of an older Gavel, stored in the rollup rows', () => {
  it('are none on a new database: recorded at its first start, so reads never look in the rows', async () => {
    expect(await movedRecorded()).toBe(true);
    const legacy = new LegacySketches(app.database.connection, createTrackingRepository(app.database.connection));
    expect(await legacy.check()).toBe(false);
  });

  it('are read beside the sketch documents while they remain, and not once moved', async () => {
    // As a database an older Gavel wrote to: rows with sketches, no record of a move.
    await migrations().deleteMany({});
    const [item] = items;
    await insertLegacyRow(item!, { fields: sessionsOf('a-old', 20), encoded: sessionsOf('a-enc', 30) });
    const legacy = new LegacySketches(app.database.connection, createTrackingRepository(app.database.connection));
    expect(await legacy.check()).toBe(true);
    // This version's writes go to the sketch document only.
    await createTrackingRepository(app.database.connection).mergeSketches([
      {
        itemId: new Types.ObjectId(item),
        day: DAY,
        sessions: addToSketch(new Map(), sessionsOf('a-new', 25)),
        users: new Map(),
      },
    ]);
    const repository = createAnalyticsRepository(app.database.connection, { legacySketches: () => legacy.remaining() });
    const read = async () => (await repository.uniques([new Types.ObjectId(item)], DAY, NEXT_DAY)).get(item!)?.sessions;
    const all = [...sessionsOf('a-old', 20), ...sessionsOf('a-enc', 30), ...sessionsOf('a-new', 25)];
    // (The rows' registers make a difference to the estimate.)
    expect(estimate(all)).not.toBe(estimate(sessionsOf('a-new', 25)));
    expect(await read()).toBe(estimate(all));
    // Moved by the command an operator runs once every instance runs this version.
    const [, second] = items;
    await insertLegacyRow(second!, { encoded: sessionsOf('b-enc', 40), users: ['b-user-1', 'b-user-2'] });
    const moved = await moveSketches();
    expect(moved.stderr).toContain('Moved the unique sketches of 2 item-days into item_day_sketches');
    expect(moved.code).toBe(0);
    expect(await movedRecorded()).toBe(true);
    expect(await legacyFieldsOf(item!)).toEqual([]);
    expect(await legacyFieldsOf(second!)).toEqual([]);
    // The counters stay where they were.
    expect((await rows().findOne({ _id: itemDayId(second!, DAY) }))!.hours).toEqual({
      '9': { HOME: { impressions: 1 } },
    });
    // The next check (every instance's, within a minute) stops reading the rows: all is in the documents.
    expect(await legacy.check()).toBe(false);
    expect(await read()).toBe(estimate(all));
    expect(await uniqueSessions(second!)).toBe(estimate(sessionsOf('b-enc', 40)));
    const analytics = await execute(app, ItemAnalyticsDocument, {
      id: second!,
      range: { from: DAY.toISOString(), to: NEXT_DAY.toISOString() },
    });
    expect(analytics.data!.auctionItem!.analytics!.uniqueUsers).toBe(2);
    // Options it does not take are refused before anything connects.
    const refused = await moveSketches('--item', items[0]!);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('move-sketches takes no options.');
    // Run again: nothing to move.
    const again = await moveSketches();
    expect(again.stderr).toContain('nothing to move');
    expect(again.code).toBe(0);
    // A row an older version writes after the move was recorded is still moved when asked.
    await rows().deleteOne({ _id: itemDayId(second!, DAY), itemId: new Types.ObjectId(second) });
    await insertLegacyRow(second!, { encoded: ['b-late'] });
    const late = await moveSketches();
    expect(late.stderr).toContain('Moved the unique sketches of 1 item-days');
    expect(await legacyFieldsOf(second!)).toEqual([]);
    expect(await uniqueSessions(second!)).toBe(estimate([...sessionsOf('b-enc', 40), 'b-late']));
  }, 60_000);

  it('are not recorded as moved while an older instance keeps writing them, and no register is lost', async () => {
    await migrations().deleteMany({});
    const [, , third] = items;
    await insertLegacyRow(third!, { encoded: sessionsOf('c-enc', 10) });
    const tracking = createTrackingRepository(app.database.connection);
    let late = 0;
    const legacy = new LegacySketches(app.database.connection, {
      // An instance of the older version writes the row's sketch while each pass merges it.
      mergeSketches: async (sketches: Parameters<typeof tracking.mergeSketches>[0]) => {
        await tracking.mergeSketches(sketches);
        late++;
        await rows().updateOne(
          // With the item: the shard key, which a sharded engine needs to route an update.
          { _id: itemDayId(third!, DAY), itemId: new Types.ObjectId(third) },
          {
            $set: {
              sessionSketch: new mongo.Binary(encodeSketch(denseOf([...sessionsOf('c-enc', 10), `c-late-${late}`]))),
              sketchWrite: new Types.ObjectId(),
            },
          },
        );
      },
    });
    expect(await legacy.check()).toBe(true);
    expect(await legacy.move()).toEqual({ moved: 0, done: false });
    expect(legacy.remaining()).toBe(true);
    expect(await movedRecorded()).toBe(false);
    expect(await legacyFieldsOf(third!)).toEqual(['sessionSketch', 'sketchWrite']);
    // Read from both places meanwhile: every register counted, the latest one from the row.
    const repository = createAnalyticsRepository(app.database.connection, { legacySketches: () => legacy.remaining() });
    const sessions = async () =>
      (await repository.uniques([new Types.ObjectId(third)], DAY, NEXT_DAY)).get(third!)?.sessions;
    expect(await sessions()).toBe(estimate([...sessionsOf('c-enc', 10), 'c-late-1', 'c-late-2', 'c-late-3']));
    // Once the older instance is gone, the command moves the rest.
    const moved = await moveSketches();
    expect(moved.code).toBe(0);
    expect(await legacyFieldsOf(third!)).toEqual([]);
    expect(await uniqueSessions(third!)).toBe(
      estimate([...sessionsOf('c-enc', 10), 'c-late-1', 'c-late-2', 'c-late-3']),
    );
    expect(await sketchDocuments().countDocuments({ itemId: new Types.ObjectId(third) })).toBe(1);
  }, 60_000);
});
