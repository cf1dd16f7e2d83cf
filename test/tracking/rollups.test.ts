import 'reflect-metadata';
import mongoose, { Types, type mongo } from 'mongoose';
import { itemDayId } from '../../src/analytics/rollups.model';
import { SKETCH_REGISTERS, addToSketch, mergeEncodedSketch } from '../../src/analytics/uniqueSketch';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { seededRandom } from '../../src/catalog/demoCatalog';
import { ManualClock } from '../../src/shared/clock';
import { createLogger } from '../../src/shared/logger';
import { recoverRollups } from '../../src/tracking/maintenance';
import {
  createTrackingRepository,
  type NewTrackingEvent,
  type TrackingRepository,
} from '../../src/tracking/tracking.repository';
import { EventType, TrackingOutcome } from '../../src/tracking/trackingEvent.model';
import { itemDayIncrements, TrackingWriter } from '../../src/tracking/trackingWriter';
import { TrackClicksDocument, TrackImpressionsDocument, type TrafficSource } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { rollupsWritten, storedCounters } from '../support/rollups';
import { execute, startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
const GRACE = 300_000;
const clock = new ManualClock('2026-04-01T22:10:00.000Z');
let app: TestApp;
let items: string[];
let repository: TrackingRepository;

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: {
      GAVEL_SEED_DEMO: 'false',
      TRACKING_ROLLUP_RECOVERY_GRACE_MS: String(GRACE),
      // Only the startup round runs during the test; the test runs recovery itself.
      MAINTENANCE_INTERVAL_MS: '86400000',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
    },
  });
  items = await insertDemoItems(app, 12, 11);
  repository = createTrackingRepository(app.database.connection);
});
afterAll(() => app.stop());

const events = () => app.database.connection.collection('tracking_events');
const hourOf = (date: Date) => Math.floor(date.getTime() / HOUR) * HOUR;

type Counts = Record<string, { impressions: number; clicks: number }>;

/** Counters recomputed from the raw accepted events: what the rollups must hold. */
async function recount(): Promise<Counts> {
  const counts: Counts = {};
  for (const event of await events().find({ outcome: 'ACCEPTED' }).toArray()) {
    const key = `${(event.itemId as Types.ObjectId).toHexString()}|${hourOf(event.receivedAt as Date)}|${event.source as string}`;
    counts[key] ??= { impressions: 0, clicks: 0 };
    if (event.type === 'IMPRESSION') counts[key].impressions++;
    else counts[key].clicks++;
  }
  return counts;
}

/** The counters of the rollup documents as `item|hour|source`, leaving out buckets a rebuild zeroed. */
async function rollups(): Promise<Counts> {
  const counts: Counts = {};
  for (const { itemId, hourBucket, source, impressions, clicks } of await storedCounters(app.database.connection)) {
    if (impressions !== 0 || clicks !== 0) counts[`${itemId}|${hourBucket}|${source}`] = { impressions, clicks };
  }
  return counts;
}

type Sketches = Record<string, { sessions: Record<string, number>; users: Record<string, number> }>;

/** The sketch registers the accepted events' distinct sessions and users give, per (item, UTC day). */
async function sketchesRecount(): Promise<Sketches> {
  const values: Record<string, { sessions: Set<string>; users: Set<string> }> = {};
  for (const event of await events().find({ outcome: 'ACCEPTED' }).toArray()) {
    const key = itemDayId(event.itemId as Types.ObjectId, event.receivedAt as Date);
    values[key] ??= { sessions: new Set(), users: new Set() };
    values[key].sessions.add(event.sessionId as string);
    if (event.userId && !event.userNotCounted) values[key].users.add(event.userId as string);
  }
  return Object.fromEntries(
    Object.entries(values).map(([key, { sessions, users }]) => [
      key,
      {
        sessions: Object.fromEntries(addToSketch(new Map(), sessions)),
        users: Object.fromEntries(addToSketch(new Map(), users)),
      },
    ]),
  );
}

/** Registers (register → rank) of an encoded sketch as stored, or of none. */
function decoded(stored: mongo.Binary | undefined): Record<string, number> {
  const registers = mergeEncodedSketch(new Uint8Array(SKETCH_REGISTERS), stored?.value() ?? new Uint8Array());
  return Object.fromEntries([...registers.entries()].filter(([, rank]) => rank > 0).map(([i, rank]) => [i, rank]));
}

/** The stored sketch registers per (item, day). */
async function storedSketches(): Promise<Sketches> {
  const rows = await app.database.connection.collection('item_day_sketches').find().toArray();
  return Object.fromEntries(
    rows.map((row) => [
      row._id as unknown as string,
      { sessions: decoded(row.sessions as mongo.Binary), users: decoded(row.users as mongo.Binary) },
    ]),
  );
}

/** Journal entries not closed: flushes that did not confirm their increments. */
const openEntries = () => app.database.connection.collection('rollup_journal').countDocuments();

/** What a flush does before it crashes: journal entry, events stored, and the increments if asked. */
async function crashedFlush(stored: NewTrackingEvent[], { incremented }: { incremented: boolean }): Promise<void> {
  await repository.openJournal(
    stored.map(({ itemId, receivedAt }) => ({ itemId: itemId!, hourBucket: new Date(hourOf(receivedAt)) })),
  );
  await repository.insertEvents(stored);
  if (incremented) await repository.incrementItemDays(itemDayIncrements(stored.map((event) => ({ event }))));
}

/** A counted event as a flush stores it before incrementing the counters. */
function countedEvent(itemId: string, sessionId: string, receivedAt: Date, source = 'HOME'): NewTrackingEvent {
  return {
    _id: new Types.ObjectId(),
    type: EventType.IMPRESSION,
    itemId: new Types.ObjectId(itemId),
    sessionId,
    source,
    receivedAt,
    ip: '127.0.0.1',
    outcome: TrackingOutcome.ACCEPTED,
    dedupKey: `IMPRESSION:${sessionId}:${itemId}:${Math.floor(receivedAt.getTime() / 30_000)}`,
  };
}

/**
 * A writer on the test clock with the test's grace, flushing at once; its flushes write their
 * sketches too (`sketchIntervalMs` 0), so a flush's journal entry is closed when it answers.
 */
const graceWriter = (sketchIntervalMs = 0) =>
  new TrackingWriter(
    repository,
    { flushIntervalMs: 1, maxBatch: 100, rollupGraceMs: GRACE, sketchIntervalMs },
    createLogger('silent'),
    () => undefined,
    clock,
  );

const recover = () => recoverRollups(repository, createAuctionItemRepository(app.database.connection), clock, GRACE);

describe('rollups', () => {
  it('equal a recount of the accepted events after a mixed workload across hours and days', async () => {
    const random = seededRandom(4);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const sources: TrafficSource[] = ['SEARCH', 'ITEM_PAGE', 'HOME', 'RECOMMENDATION'];
    let acknowledged = 0;
    for (let step = 0; step < 40; step++) {
      // Crosses midnight and several hour boundaries; some steps repeat within a cooldown window.
      clock.advance(Math.floor(random() * 12 * 60_000));
      const sessionId = `mix-${Math.floor(random() * 6)}`;
      const userId = random() < 0.5 ? `user-${Math.floor(random() * 4)}` : undefined;
      const headers = random() < 0.1 ? { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' } : BROWSER;
      const shown = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(items));
      const source = pick(sources);
      // The same request twice at once: one counts, the other is a duplicate.
      const responses = await Promise.all(
        [0, 1].map(() =>
          execute(
            app,
            TrackImpressionsDocument,
            { events: shown.map((itemId, position) => ({ itemId, sessionId, userId, source, position })) },
            headers,
          ),
        ),
      );
      for (const response of responses) acknowledged += response.data!.trackImpressions.accepted;
      const clicked = [...shown.filter(() => random() < 0.5), ...(random() < 0.3 ? [pick(items)] : [])];
      if (clicked.length > 0) {
        const response = await execute(
          app,
          TrackClicksDocument,
          { events: clicked.map((itemId) => ({ itemId, sessionId, userId, source })) },
          headers,
        );
        acknowledged += response.data!.trackClicks.accepted;
      }
    }
    expect(acknowledged).toBeGreaterThan(50);
    expect(await events().countDocuments({ outcome: 'ACCEPTED' })).toBe(acknowledged);
    expect(await events().countDocuments({ outcome: { $in: ['REJECTED_BOT', 'FLAGGED'] } })).toBeGreaterThan(0);
    // The sketches are written within TRACKING_SKETCH_INTERVAL_MS; each entry closes after its flush's.
    await rollupsWritten(app.database.connection);
    expect(await rollups()).toEqual(await recount());
    expect(await storedSketches()).toEqual(await sketchesRecount());
  });

  it('are repaired exactly once after a crash between storing events and incrementing counters', async () => {
    clock.set('2026-04-05T09:00:00.000Z');
    const hour = new Date('2026-04-05T09:00:00.000Z');
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [{ itemId: items[0]!, sessionId: 'crash-0', source: 'HOME' }] },
      BROWSER,
    );
    await rollupsWritten(app.database.connection);
    // Crash before the $inc: stored, not counted.
    const lost = [1, 2, 3].map((n) => countedEvent(items[n]!, `crash-${n}`, new Date(hour.getTime() + n * 60_000)));
    await crashedFlush(lost, { incremented: false });
    // Crash after the $inc but before the journal entry was closed: counted already.
    const counted = countedEvent(items[0]!, 'crash-4', new Date(hour.getTime() + 4 * 60_000));
    await crashedFlush([counted], { incremented: true });
    expect(await rollups()).not.toEqual(await recount());

    // Not while the hour is open, nor within the grace after it closed: a flush that
    // decided to count before half the grace may still be incrementing it.
    clock.set(new Date(hour.getTime() + HOUR + GRACE - 1));
    expect(await recover()).toBe(0);
    expect(await openEntries()).toBe(2);

    clock.set(new Date(hour.getTime() + HOUR + GRACE));
    // Four (item, hour) buckets: items 0 to 3 in this hour.
    expect(await recover()).toBe(4);
    expect(await openEntries()).toBe(0);
    const repaired = await rollups();
    expect(repaired).toEqual(await recount());
    expect(await storedSketches()).toEqual(await sketchesRecount());

    // Idempotent: rebuilding again changes nothing.
    await repository.rebuildBucket(new Types.ObjectId(items[0]), hour, '');
    expect(await recover()).toBe(0);
    expect(await rollups()).toEqual(repaired);
  });

  it('are left to the recovery, not incremented, for events of an hour closed longer than half the grace', async () => {
    clock.set('2026-04-06T12:00:00.000Z');
    const writer = graceWriter();
    const late = countedEvent(items[5]!, 'late-flush', new Date('2026-04-06T10:59:59.000Z'));
    const onTime = countedEvent(items[5]!, 'on-time-flush', new Date('2026-04-06T11:59:59.000Z'));
    expect(await writer.write([{ event: late }, { event: onTime }])).toEqual(['stored', 'stored']);
    await writer.close();
    // The on-time event is counted, the late one is not; the flush's journal entry stays open.
    const counted = (await storedCounters(app.database.connection, [items[5]!])).map((counter) => counter.hourBucket);
    expect(counted).toContain(hourOf(onTime.receivedAt));
    expect(counted).not.toContain(hourOf(late.receivedAt));
    expect(await openEntries()).toBe(1);
    // The entry is recovered once its newest hour (11:00) has settled too; the rebuild of both
    // buckets counts the late event and leaves the on-time one as it was.
    expect(await recover()).toBe(0);
    clock.set(new Date(hourOf(onTime.receivedAt) + HOUR + GRACE));
    expect(await recover()).toBe(2);
    expect(await openEntries()).toBe(0);
    expect(await rollups()).toEqual(await recount());
  });

  it('are incremented by a flush until half the grace after the hour closed, and not from then on', async () => {
    const hour = new Date('2026-04-08T08:00:00.000Z');
    const hourEnd = hour.getTime() + HOUR;
    const writer = graceWriter();
    const countedHours = async () =>
      (await storedCounters(app.database.connection, [items[8]!])).filter((c) => c.hourBucket === hour.getTime());
    clock.set(new Date(hourEnd + GRACE / 2 - 1));
    await writer.write([{ event: countedEvent(items[8]!, 'boundary-in', new Date(hour.getTime() + 1_000)) }]);
    expect((await countedHours()).map((c) => c.impressions)).toEqual([1]);
    expect(await openEntries()).toBe(0);
    clock.set(new Date(hourEnd + GRACE / 2));
    await writer.write([{ event: countedEvent(items[8]!, 'boundary-out', new Date(hour.getTime() + 2_000)) }]);
    await writer.close();
    expect((await countedHours()).map((c) => c.impressions)).toEqual([1]);
    expect(await openEntries()).toBe(1);
    clock.set(new Date(hourEnd + GRACE));
    expect(await recover()).toBe(1);
    expect((await countedHours()).map((c) => c.impressions)).toEqual([2]);
  });

  it('are rebuilt by a restarted instance at startup', async () => {
    const crashedAt = new Date('2026-04-07T15:20:00.000Z');
    await crashedFlush([countedEvent(items[6]!, 'restart-1', crashedAt, 'SEARCH')], { incremented: false });
    const restarted = await startTestApp({
      clock: new ManualClock(new Date(hourOf(crashedAt) + HOUR + GRACE)),
      databaseName: app.databaseName,
      env: { GAVEL_SEED_DEMO: 'false', TRACKING_ROLLUP_RECOVERY_GRACE_MS: String(GRACE) },
    });
    try {
      // The startup round runs in the background: wait for it, with a deadline.
      await rollupsWritten(app.database.connection, 30_000);
      expect(await openEntries()).toBe(0);
      expect(await rollups()).toEqual(await recount());
    } finally {
      await restarted.stop();
    }
  });
});

describe('unique sketches', () => {
  /** The stored registers of one item-day, decoded. */
  const sketchOf = async (itemId: string, day: Date) => (await storedSketches())[itemDayId(itemId, day)];

  it('are written at most once per interval: later flushes answer first, their journal entries open until written', async () => {
    const hour = new Date('2026-04-09T10:00:00.000Z');
    clock.set(new Date(hour.getTime() + 60_000));
    const writer = graceWriter(60_000);
    const batches = [0, 1, 2].map((batch) =>
      [0, 1, 2, 3].map((n) => ({
        event: countedEvent(items[9]!, `deferred-${batch}-${n}`, new Date(hour.getTime() + 1_000 * batch)),
      })),
    );
    const registersOf = (sessions: string[]) => Object.fromEntries(addToSketch(new Map(), sessions));
    const sessionsOf = (upTo: number) => batches.slice(0, upTo).flatMap((batch) => batch.map((r) => r.event.sessionId));
    // The first flush after a quiet interval writes its sketches before it answers.
    expect(await writer.write(batches[0]!)).toEqual(['stored', 'stored', 'stored', 'stored']);
    expect(await openEntries()).toBe(0);
    expect((await sketchOf(items[9]!, hour))!.sessions).toEqual(registersOf(sessionsOf(1)));
    // The next ones, within the interval (a minute here), are counted at once; their sketches wait.
    for (const batch of batches.slice(1))
      expect(await writer.write(batch)).toEqual(['stored', 'stored', 'stored', 'stored']);
    const counters = await storedCounters(app.database.connection, [items[9]!]);
    expect(counters.filter((c) => c.hourBucket === hour.getTime()).map((c) => c.impressions)).toEqual([12]);
    expect(await openEntries()).toBe(2);
    expect((await sketchOf(items[9]!, hour))!.sessions).toEqual(registersOf(sessionsOf(1)));
    // The interval's end (here: shutdown) writes them, each item-day once, and closes the entries.
    await writer.close();
    expect(await openEntries()).toBe(0);
    expect(await sketchOf(items[9]!, hour)).toEqual((await sketchesRecount())[itemDayId(items[9]!, hour)]);
  });

  it('are rebuilt by the recovery when the process stops before writing them', async () => {
    const hour = new Date('2026-04-10T10:00:00.000Z');
    clock.set(new Date(hour.getTime() + 60_000));
    const writer = graceWriter(60_000);
    const [first, second] = [0, 1].map((batch) =>
      [0, 1, 2].map((n) => ({ event: countedEvent(items[10]!, `stopped-${batch}-${n}`, hour) })),
    );
    expect(await writer.write(first!)).toEqual(['stored', 'stored', 'stored']);
    expect(await writer.write(second!)).toEqual(['stored', 'stored', 'stored']);
    expect(await openEntries()).toBe(1);
    // The process "stops" here: its pending sketches are never written.
    clock.set(new Date(hour.getTime() + HOUR + GRACE));
    expect(await recover()).toBe(1);
    expect(await openEntries()).toBe(0);
    expect(await sketchOf(items[10]!, hour)).toEqual((await sketchesRecount())[itemDayId(items[10]!, hour)]);
    expect(await rollups()).toEqual(await recount());
    await writer.close(); // the abandoned writer's own write changes nothing
    expect(await sketchOf(items[10]!, hour)).toEqual((await sketchesRecount())[itemDayId(items[10]!, hour)]);
  });

  it('lose no register when several instances write the same item-day at once', async () => {
    const day = new Date('2026-04-11T00:00:00.000Z');
    const itemId = new Types.ObjectId(items[11]);
    await repository.incrementItemDays([{ itemId, day, category: '', counters: [] }]);
    // Three instances, each with its own memory of what it wrote, merging different sessions.
    const instances = [0, 1, 2].map(() => createTrackingRepository(app.database.connection));
    const all: string[] = [];
    for (let round = 0; round < 15; round++)
      await Promise.all(
        instances.map((instance, index) => {
          const sessions = Array.from({ length: 40 }, (_, n) => `cas-${round}-${index}-${n}`);
          all.push(...sessions);
          return instance.mergeSketches([
            { itemId, day, sessions: addToSketch(new Map(), sessions), users: new Map() },
          ]);
        }),
      );
    expect((await sketchOf(items[11]!, day))!.sessions).toEqual(Object.fromEntries(addToSketch(new Map(), all)));
  });

  it('are written again after a write that failed, however much this instance remembers', async () => {
    const day = new Date('2026-04-13T00:00:00.000Z');
    const itemId = new Types.ObjectId(items[11]);
    await repository.incrementItemDays([{ itemId, day, category: '', counters: [] }]);
    // An instance on a connection of its own, which goes away between two writes.
    const connection = mongoose.createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: app.databaseName });
    await connection.asPromise();
    try {
      const instance = createTrackingRepository(connection);
      const sketch = (sessions: string[]) => ({
        itemId,
        day,
        sessions: addToSketch(new Map(), sessions),
        users: new Map(),
      });
      await instance.mergeSketches([sketch(['first'])]);
      await connection.close();
      await expect(instance.mergeSketches([sketch(['second'])])).rejects.toThrow();
      await connection.openUri(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: app.databaseName });
      // The retry of the same registers (as the sketch writer does) must write them, not trust the failed write.
      await instance.mergeSketches([sketch(['second'])]);
      expect((await sketchOf(items[11]!, day))!.sessions).toEqual(
        Object.fromEntries(addToSketch(new Map(), ['first', 'second'])),
      );
    } finally {
      await connection.close();
    }
  });
});
