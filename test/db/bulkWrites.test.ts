import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import {
  BulkWriteOutcomeUnknownError,
  bulkWriteRetryingConflicts,
  upsertsRetryingRaces,
} from '../../src/db/bulkWrites';
import { testEngineSharding } from '../support/testApp';

// Two clients, so that their commands run on two connections and can deadlock each other (on an
// engine with row locks: DocumentDB; the others serialize them).
let first: mongo.MongoClient;
let second: mongo.MongoClient;
const databaseName = `test_${randomBytes(6).toString('hex')}`;
const KEYS = 60;
const ROUNDS = 4;

beforeAll(async () => {
  first = await mongo.MongoClient.connect(process.env.GAVEL_TEST_MONGODB_URI!);
  second = await mongo.MongoClient.connect(process.env.GAVEL_TEST_MONGODB_URI!);
});
afterAll(async () => {
  await first.db(databaseName).dropDatabase();
  await Promise.all([first.close(), second.close()]);
});

// Not on the distributed engine: there, commands that lock across workers in opposite orders wait
// for its distributed deadlock detection, minutes rather than a second (a run timed out at 120 s).
const itWhereDeadlocksResolve = testEngineSharding() === 'distributed' ? it.skip : it;

describe('bulkWriteRetryingConflicts on writes that conflict with each other', () => {
  itWhereDeadlocksResolve(
    'never repeats a non-idempotent command that failed as a whole: no increment is applied twice',
    async () => {
      const collection = (client: mongo.MongoClient) =>
        client.db(databaseName).collection<{ _id: string; n: number }>('counters');
      const ids = Array.from({ length: KEYS }, (_, n) => `k${String(n).padStart(3, '0')}`);
      await collection(first).insertMany(ids.map((_id) => ({ _id, n: 0 })));
      let acknowledged = 0;
      let unknown = 0;
      const increment = async (counters: mongo.Collection<{ _id: string; n: number }>, order: string[]) => {
        for (let round = 0; round < ROUNDS; round++) {
          try {
            await bulkWriteRetryingConflicts(
              counters,
              order.map((_id) => ({ updateOne: { filter: { _id }, update: { $inc: { n: 1 } } } })),
            );
            acknowledged += order.length;
          } catch (error) {
            // The only failure allowed: the outcome is unknown, and the caller is told so.
            expect(error).toBeInstanceOf(BulkWriteOutcomeUnknownError);
            unknown += order.length;
          }
        }
      };
      // Opposite orders: on DocumentDB some commands deadlock, and a deadlocked command keeps what it
      // applied before the deadlock although the driver reports nothing applied (one run here: 420
      // acknowledged, one command of 60 failed having applied 27; repeating it would have stored 507).
      // Engines that serialize the commands fail none, and then the count is exact.
      await Promise.all([increment(collection(first), ids), increment(collection(second), [...ids].reverse())]);
      const stored = (await collection(first).find().toArray()).reduce((sum, counter) => sum + counter.n, 0);
      expect(stored).toBeGreaterThanOrEqual(acknowledged);
      // Repeating a failed command would exceed this.
      expect(stored).toBeLessThanOrEqual(acknowledged + unknown);
    },
    // Each deadlock costs DocumentDB seconds to detect and the commands retry: 35 s in one CI run,
    // over 120 s in another on the same machine.
    300_000,
  );
});

describe('upsertsRetryingRaces', () => {
  type Doc = { _id: string; writers?: string[]; email?: string };
  const collection = (client: mongo.MongoClient, name: string) => client.db(databaseName).collection<Doc>(name);

  it('creates each new document once when two writers upsert the same ones at once, each write kept', async () => {
    const ids = Array.from({ length: 50 }, (_, n) => `u${String(n).padStart(3, '0')}`);
    const upserts = (writer: string) =>
      ids.map((_id) => ({
        updateOne: { filter: { _id }, update: { $addToSet: { writers: writer } }, upsert: true },
      }));
    await Promise.all([
      upsertsRetryingRaces(collection(first, 'raced'), upserts('first'), 'raced documents'),
      upsertsRetryingRaces(collection(second, 'raced'), upserts('second'), 'raced documents'),
    ]);
    const stored = await collection(first, 'raced').find().sort({ _id: 1 }).toArray();
    expect(stored.map((doc) => doc._id)).toEqual(ids);
    for (const doc of stored) expect([...doc.writers!].sort()).toEqual(['first', 'second']);
  });

  it('throws, naming the documents and the code, when a write keeps meeting a duplicate key', async () => {
    const people = collection(first, 'people');
    await people.createIndex({ email: 1 }, { unique: true });
    await people.insertOne({ _id: 'a', email: 'taken@example.com' });
    await expect(
      upsertsRetryingRaces(
        people,
        [{ updateOne: { filter: { _id: 'b' }, update: { $set: { email: 'taken@example.com' } }, upsert: true } }],
        'people',
      ),
    ).rejects.toThrow('1 people could not be written (codes 11000)');
    expect(await people.countDocuments({ _id: 'b' })).toBe(0);
  });
});
