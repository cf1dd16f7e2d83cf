import 'reflect-metadata';
import { Types, type mongo } from 'mongoose';
import { itemDayId } from '../../src/analytics/rollups.model';
import { ManualClock } from '../../src/shared/clock';
import { uncountedEventKey } from '../../src/tracking/trackingEvent.model';
import {
  AnalyticsOverviewDocument,
  EraseSubjectDocument,
  ItemAnalyticsDocument,
  PurgeExpiredDataDocument,
  TrackImpressionsDocument,
  UserAnalyticsDocument,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';

const DAY = 86_400_000;
/**
 * Noon two days ahead of the real clock. Three types' collections also carry TTL indexes, which the
 * engine applies on its own clock (DocumentDB every minute): with "now" ahead of it, the documents
 * these tests place around each cutoff are all days away from the engine's expiry, so only the
 * purge under test deletes them (with a date in the past the engine deleted some first).
 */
const NOW = new Date(Math.floor(Date.now() / DAY) * DAY + 2 * DAY + DAY / 2).toISOString();
const clock = new ManualClock(NOW);
const BATCH = 7;
let app: TestApp;
let items: string[];

beforeAll(async () => {
  app = await startTestApp({
    clock,
    periodicJobs: false,
    // eraseSubject's deletes are counted.
    monitorCommands: true,
    env: {
      GAVEL_SEED_DEMO: 'false',
      PURGE_BATCH_SIZE: String(BATCH),
      TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
      TRACKING_IP_EVENTS_PER_MINUTE: '10000000',
    },
  });
  items = await insertDemoItems(app, 5, 3);
});
afterAll(() => app.stop());
beforeEach(async () => {
  clock.set(NOW);
  for (const name of [
    'tracking_events',
    'tracking_audit_aggregates',
    'item_days',
    'item_day_sketches',
    'rollup_journal',
    'erasure_records',
  ])
    await app.database.connection.collection(name).deleteMany({});
});

const collection = (name: string) => app.database.connection.collection(name);
const at = (daysAgo: number, ms = 0) => new Date(new Date(NOW).getTime() - daysAgo * DAY + ms);

/** A stored raw event as the tracking pipeline writes it. */
function rawEvent(receivedAt: Date, outcome = 'ACCEPTED', extra: Record<string, unknown> = {}) {
  const _id = new Types.ObjectId();
  return {
    _id,
    // Every stored event has a key in the unique { itemId, dedupKey } index; these never collide.
    dedupKey: uncountedEventKey(_id),
    type: 'IMPRESSION',
    itemId: new Types.ObjectId(items[0]),
    sessionId: 's-seed',
    source: 'SEARCH',
    receivedAt,
    ip: 'pseudonym',
    outcome,
    ...extra,
  };
}

const purge = async (dryRun?: boolean) => {
  const response = await execute(app, PurgeExpiredDataDocument, { dryRun });
  expect(response.errors).toBeUndefined();
  return Object.fromEntries(response.data!.purgeExpiredData.types.map((entry) => [entry.dataType, entry]));
};

describe('retention per data type (defaults: counted 90 d, audit 30 d, rollups 760 d, journal 7 d)', () => {
  it('expires exactly what is older than each cutoff, dry run first, and is idempotent', async () => {
    // Per type: one a millisecond past the cutoff (expired), one exactly at it and one just inside (kept).
    await collection('tracking_events').insertMany([
      rawEvent(at(90, -1)),
      rawEvent(at(90)),
      rawEvent(at(89)),
      rawEvent(at(30, -1), 'FLAGGED'),
      rawEvent(at(30), 'REJECTED_BOT'),
      rawEvent(at(29), 'INVALID'),
      // An audit row between the two retentions: expired as audit although a counted one of that age stays.
      rawEvent(at(60), 'RATE_LIMITED'),
    ] as never[]);
    await collection('tracking_audit_aggregates').insertMany([
      { _id: 'old' as never, ip: 'p', minute: at(30, -60_000), type: 'CLICK', outcome: 'FLAGGED', count: 3 },
      { _id: 'new' as never, ip: 'p', minute: at(30), type: 'CLICK', outcome: 'FLAGGED', count: 1 },
    ]);
    const dayOf = (date: Date) => new Date(Math.floor(date.getTime() / DAY) * DAY);
    // The rollup of a day goes once the whole day is older than 760 days.
    const expiredDay = dayOf(at(761, -1));
    const keptDay = new Date(expiredDay.getTime() + DAY);
    await collection('item_days').insertMany(
      [expiredDay, keptDay].map((day) => ({
        _id: itemDayId(items[0]!, day) as never,
        itemId: new Types.ObjectId(items[0]),
        day,
        category: 'c',
        hours: { 1: { SEARCH: { impressions: 1 } } },
      })),
    );
    // Their unique sketches, kept apart under the same `_id`, go with them.
    await collection('item_day_sketches').insertMany(
      [expiredDay, keptDay].map((day) => ({
        _id: itemDayId(items[0]!, day) as never,
        itemId: new Types.ObjectId(items[0]),
        day,
        sessions: new Uint8Array([1, 2, 3]),
        write: new Types.ObjectId(),
      })),
    );
    await collection('rollup_journal').insertMany([
      { buckets: [], lastHourBucket: at(7, -1) },
      { buckets: [], lastHourBucket: at(7) },
    ]);
    // Searches: kept as long as counted events; their per query counts a day longer (whole days).
    await collection('search_events').insertMany(
      [at(90, -1), at(90), at(89)].map((when) => ({
        at: when,
        query: 'q',
        filterKey: '',
        resultCount: 1,
        hasMore: false,
        latencyMs: 1,
      })),
    );
    const expiredSearchDay = dayOf(at(91, -1));
    await collection('search_days').insertMany(
      [expiredSearchDay, new Date(expiredSearchDay.getTime() + DAY)].map((day) => ({
        _id: `${day.toISOString().slice(0, 10)}:q` as never,
        day,
        query: 'q',
        filterKey: '',
        searches: 1,
      })),
    );
    // The lists drawn from them, the same days.
    await collection('search_day_lists').insertMany(
      [expiredSearchDay, new Date(expiredSearchDay.getTime() + DAY)].map((day) => ({
        _id: day.toISOString().slice(0, 10) as never,
        day,
        top: [{ query: 'q', filterKey: '', value: 1 }],
      })),
    );
    // Conversions: raw events too, kept as long as the counted ones, by when they happened.
    await collection('conversion_events').insertMany(
      [at(90, -1), at(90)].map((when, index) => ({
        itemId: new Types.ObjectId(items[0]),
        eventId: `retention-${index}`,
        kind: 'WATCH',
        sessionId: 's-retention',
        occurredAt: when,
        receivedAt: when,
        sellerId: 'seller',
        category: 'c',
      })),
    );
    // Funnel journeys name their session: kept a day longer than the raw events, whole days; their
    // day rows hold counts only, kept as the rollups.
    await collection('funnel_journeys').insertMany(
      [dayOf(at(91, -1)), new Date(dayOf(at(91, -1)).getTime() + DAY)].map((day, index) => ({
        _id: `journey-${index}` as never,
        itemId: new Types.ObjectId(items[0]),
        sessionId: 's-retention',
        sellerId: 'seller',
        category: 'c',
        endsAt: new Date(NOW),
        steps: { IMPRESSION: day.getTime() },
        touches: {},
        day,
      })),
    );
    await collection('funnel_days').insertMany(
      [expiredDay, keptDay].map((day) => ({
        _id: `item:${items[0]}:${day.toISOString().slice(0, 10)}` as never,
        scope: 'item',
        day,
        itemId: new Types.ObjectId(items[0]),
        category: 'c',
        sellerId: 'seller',
        entries: [],
      })),
    );
    // Bidder-weeks name their user or sessions: a week goes once it is whole older than the raw events.
    await collection('cohort_bidder_weeks').insertMany(
      [at(97, -1), at(97)].map((week, index) => ({
        _id: `u:retention|${index}` as never,
        bidder: 'u:retention',
        userId: 'retention',
        sessionId: ['s-retention'],
        week,
      })),
    );
    // Exposures name their session: kept a day longer than the raw events.
    await collection('experiment_exposures').insertMany(
      [at(91, -1), at(91)].map((exposedAt, index) => ({
        _id: `hero|s-retention-${index}` as never,
        experiment: 'hero',
        sessionId: `s-retention-${index}`,
        variant: 'control',
        variants: 1,
        exposedAt,
        figures: {},
      })),
    );
    const expected = {
      COUNTED_EVENTS: 1,
      AUDIT_EVENTS: 2,
      CONVERSIONS: 1,
      FUNNEL_JOURNEYS: 1,
      FUNNEL_ROLLUPS: 1,
      BIDDER_WEEKS: 1,
      EXPERIMENT_EXPOSURES: 1,
      AUDIT_AGGREGATES: 1,
      ROLLUPS: 1,
      ROLLUP_JOURNAL: 1,
      SEARCH_EVENTS: 1,
      SEARCH_ROLLUPS: 1,
      SEARCH_LISTS: 1,
    };

    const dry = await purge(true);
    expect(Object.fromEntries(Object.entries(dry).map(([type, entry]) => [type, entry.count]))).toEqual(expected);
    expect(await collection('tracking_events').countDocuments()).toBe(7);

    const done = await purge();
    expect(Object.fromEntries(Object.entries(done).map(([type, entry]) => [type, entry.count]))).toEqual(expected);
    expect(done.COUNTED_EVENTS!.olderThan).toBe(at(90).toISOString());
    const left = await collection('tracking_events')
      .find({}, { sort: { receivedAt: 1 } })
      .toArray();
    expect(left.map((event) => [(event.receivedAt as Date).toISOString(), event.outcome])).toEqual([
      [at(90).toISOString(), 'ACCEPTED'],
      [at(89).toISOString(), 'ACCEPTED'],
      [at(30).toISOString(), 'REJECTED_BOT'],
      [at(29).toISOString(), 'INVALID'],
    ]);
    expect(await collection('tracking_audit_aggregates').distinct('_id')).toEqual(['new']);
    expect((await collection('item_days').find().toArray()).map((doc) => (doc.day as Date).getTime())).toEqual([
      keptDay.getTime(),
    ]);
    expect(await collection('item_day_sketches').distinct('_id')).toEqual([itemDayId(items[0]!, keptDay)]);
    expect(await collection('rollup_journal').countDocuments()).toBe(1);
    expect(await collection('conversion_events').distinct('eventId')).toEqual(['retention-1']);
    expect(await collection('funnel_journeys').distinct('_id')).toEqual(['journey-1']);
    expect(await collection('funnel_days').countDocuments()).toBe(1);
    expect(await collection('cohort_bidder_weeks').distinct('_id')).toEqual(['u:retention|1']);
    expect(await collection('experiment_exposures').distinct('_id')).toEqual(['hero|s-retention-1']);

    const again = await purge();
    expect(Object.values(again).map((entry) => entry.count)).toEqual(Object.values(expected).map(() => 0));
    expect(await collection('search_days').countDocuments()).toBe(1);
    expect(await collection('search_day_lists').countDocuments()).toBe(1);

    // A millisecond later the ones exactly at the cutoffs expire too.
    clock.advance(1);
    const next = await purge();
    expect(next.COUNTED_EVENTS!.count).toBe(1);
    expect(next.AUDIT_EVENTS!.count).toBe(1);
    expect(next.AUDIT_AGGREGATES!.count).toBe(1);
    expect(next.ROLLUP_JOURNAL!.count).toBe(1);
    expect(next.SEARCH_EVENTS!.count).toBe(1);
  });

  it('runs on one instance at a time: a purge lease held elsewhere skips the run and deletes nothing', async () => {
    await collection('tracking_events').insertOne(rawEvent(at(100)) as never);
    await collection('retention_leases').insertOne({
      _id: 'purge' as never,
      holder: 'other-instance',
      until: at(0, 60_000),
    });
    const skipped = await purge();
    expect(skipped.COUNTED_EVENTS).toMatchObject({ count: 0, error: expect.stringMatching(/another instance/) });
    expect(await collection('tracking_events').countDocuments()).toBe(1);
    // The other instance stalled: its lease expires and this one takes over.
    clock.advance(60_001);
    const done = await purge();
    expect(done.COUNTED_EVENTS).toMatchObject({ count: 1, error: null });
    // Released at the end of the run.
    expect(await collection('retention_leases').countDocuments()).toBe(0);
  });

  it('purges in batches during ingestion: every expired event deleted, every new one kept', async () => {
    const expired = 200;
    await collection('tracking_events').insertMany(
      Array.from({ length: expired }, (_, i) => rawEvent(at(100, i), i % 3 === 0 ? 'FLAGGED' : 'ACCEPTED')) as never[],
    );
    const track = (round: number) =>
      execute(
        app,
        TrackImpressionsDocument,
        {
          events: items.map((itemId, position) => ({
            itemId,
            sessionId: `s-live-${round}`,
            source: 'SEARCH' as const,
            position,
          })),
        },
        BROWSER,
      );
    const [report, ...tracked] = await Promise.all([
      purge(),
      ...Array.from({ length: 20 }, (_, round) => track(round)),
    ]);
    const accepted = tracked.reduce((sum, response) => sum + response.data!.trackImpressions.accepted, 0);
    expect(accepted).toBe(20 * items.length);
    // Batches of 7: many rounds, and the counts add up exactly.
    expect(report.COUNTED_EVENTS!.count + report.AUDIT_EVENTS!.count).toBe(expired);
    expect(report.AUDIT_EVENTS!.count).toBe(Math.ceil(expired / 3));
    expect(await collection('tracking_events').countDocuments({ receivedAt: { $lt: at(30) } })).toBe(0);
    expect(await collection('tracking_events').countDocuments({ receivedAt: new Date(NOW) })).toBe(accepted);
  });

  it('analytics over a range past raw retention answer from rollups; userAnalytics says raw events are gone', async () => {
    const day = new Date(Math.floor(at(200).getTime() / DAY) * DAY);
    await collection('item_days').insertOne({
      _id: itemDayId(items[1]!, day) as never,
      itemId: new Types.ObjectId(items[1]),
      day,
      category: 'c',
      hours: { 5: { SEARCH: { impressions: 40, clicks: 4 } } },
    });
    await purge();
    const range = { from: day.toISOString(), to: new Date(day.getTime() + DAY).toISOString() };
    const item = await execute(app, ItemAnalyticsDocument, { id: items[1]!, range });
    expect(item.errors).toBeUndefined();
    expect(item.data!.auctionItem!.analytics).toMatchObject({ impressions: 40, clicks: 4 });
    const overview = await execute(app, AnalyticsOverviewDocument, { range });
    expect(overview.data!.analyticsOverview).toMatchObject({ impressions: 40, clicks: 4 });

    const user = await execute(app, UserAnalyticsDocument, { userId: 'u-1', range });
    expect(errorCodes(user)).toEqual(['BAD_USER_INPUT']);
    expect(user.errors![0]!.extensions).toMatchObject({ field: 'range', reason: 'RAW_EVENTS_EXPIRED' });
    expect(user.errors![0]!.message).toMatch(/RETENTION_DAYS/);
    // Within raw retention it answers.
    const recent = await execute(app, UserAnalyticsDocument, { userId: 'u-1', range: { last: 'P30D' } });
    expect(recent.errors).toBeUndefined();
    // Past the rollups' retention too, every analytics range is refused.
    const ancient = await execute(app, AnalyticsOverviewDocument, {
      range: { from: at(800).toISOString(), to: at(799).toISOString() },
    });
    expect(errorCodes(ancient)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('TTL indexes', () => {
  const ttlOf = async (name: string, index: string) =>
    (
      (await collection(name).listIndexes().toArray()).find((entry) => entry.name === index) as
        { expireAfterSeconds?: number } | undefined
    )?.expireAfterSeconds;

  it('are created at startup and follow a changed setting on restart, without a crash', async () => {
    expect(await ttlOf('item_days', 'day_1')).toBe(761 * 86_400);
    expect(await ttlOf('item_day_sketches', 'sketch_day')).toBe(761 * 86_400);
    expect(await ttlOf('tracking_audit_aggregates', 'minute_1')).toBe(30 * 86_400);
    expect(await ttlOf('rollup_journal', 'lastHourBucket_1')).toBe(7 * 86_400);
    // Raw events have none: they are archived before deletion.
    expect(await ttlOf('tracking_events', 'outcome_1_receivedAt_1')).toBeUndefined();

    const second = await startTestApp({
      databaseName: app.databaseName,
      periodicJobs: false,
      env: { GAVEL_SEED_DEMO: 'false', RETENTION_ROLLUP_DAYS: '400', RETENTION_AUDIT_DAYS: '10' },
    });
    try {
      expect(await ttlOf('item_days', 'day_1')).toBe(401 * 86_400);
      expect(await ttlOf('item_day_sketches', 'sketch_day')).toBe(401 * 86_400);
      expect(await ttlOf('tracking_audit_aggregates', 'minute_1')).toBe(10 * 86_400);
      expect(await ttlOf('rollup_journal', 'lastHourBucket_1')).toBe(7 * 86_400);
    } finally {
      await second.stop();
    }
  });

  it('upgrade a database made before per-type retention: plain indexes become TTL, the old receivedAt index goes', async () => {
    const databaseName = `${app.databaseName}_old`;
    const old = app.database.connection.useDb(databaseName);
    await old.collection('item_days').createIndex({ day: 1 }, { name: 'day_1' });
    await old.collection('rollup_journal').createIndex({ lastHourBucket: 1 }, { name: 'lastHourBucket_1' });
    await old.collection('tracking_events').createIndex({ receivedAt: 1 }, { name: 'receivedAt_1' });
    const upgraded = await startTestApp({ databaseName, periodicJobs: false, env: { GAVEL_SEED_DEMO: 'false' } });
    try {
      const indexes = async (name: string) =>
        (await upgraded.database.connection.collection(name).listIndexes().toArray()) as Array<{
          name: string;
          expireAfterSeconds?: number;
        }>;
      expect((await indexes('item_days')).find((index) => index.name === 'day_1')?.expireAfterSeconds).toBe(
        761 * 86_400,
      );
      expect(
        (await indexes('rollup_journal')).find((index) => index.name === 'lastHourBucket_1')?.expireAfterSeconds,
      ).toBe(7 * 86_400);
      expect((await indexes('tracking_events')).map((index) => index.name)).not.toContain('receivedAt_1');
    } finally {
      // Stopped first: its background work (the sketch move) must not race the drop.
      await upgraded.stop();
      await old.dropDatabase();
    }
  });
});

describe('privacy', () => {
  const trackAs = (sessionId: string, userId?: string, headers: Record<string, string> = BROWSER) =>
    execute(
      app,
      TrackImpressionsDocument,
      { events: [{ itemId: items[2]!, sessionId, userId, source: 'SEARCH' }] },
      headers,
    );

  it('stores client addresses as daily keyed hashes, never in clear', async () => {
    await trackAs('s-ip-1');
    await trackAs('s-ip-2');
    // A bot: refused, kept as an audit row and in the aggregates, under the same pseudonym.
    await trackAs('s-ip-3', undefined, { 'user-agent': 'curl/8.0' });
    clock.advance(DAY);
    await trackAs('s-ip-4');
    const stored = await collection('tracking_events')
      .find({}, { sort: { sessionId: 1 } })
      .toArray();
    const ips = stored.map((event) => event.ip as string);
    expect(ips).toHaveLength(4);
    for (const ip of ips) {
      expect(ip).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(ip).not.toMatch(/127\.0\.0\.1|::1/);
    }
    expect(ips[0]).toBe(ips[1]);
    expect(ips[2]).toBe(ips[0]);
    // Another UTC day: another key, so the days cannot be linked.
    expect(ips[3]).not.toBe(ips[0]);
    // Refused events past the row budget and duplicates are only counted, under the pseudonym too.
    await trackAs('s-ip-4');
    await app.services.tracking.flushAuditAggregates();
    const aggregated = await collection('tracking_audit_aggregates').find({}).toArray();
    expect(aggregated.map((row) => row.outcome)).toContain('DUPLICATE');
    for (const row of aggregated) expect(row.ip).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("eraseSubject removes every raw event of the subject and its sessions, and nothing of anyone else's", async () => {
    const mine = [
      rawEvent(at(1), 'ACCEPTED', { userId: 'user-a', sessionId: 's-a1' }),
      rawEvent(at(2), 'ACCEPTED', { userId: 'user-a', sessionId: 's-a2' }),
      rawEvent(at(3), 'FLAGGED', { userId: 'user-a', sessionId: 's-a2' }),
      // Before user-a signed in: the same session, no user id.
      rawEvent(at(1), 'FLAGGED', { sessionId: 's-a1' }),
    ];
    const others = [
      rawEvent(at(1), 'ACCEPTED', { userId: 'user-b', sessionId: 's-b' }),
      rawEvent(at(1), 'FLAGGED', { sessionId: 's-b' }),
      rawEvent(at(1), 'ACCEPTED', { userId: 'user-ab', sessionId: 's-c' }),
      rawEvent(at(1), 'ACCEPTED', { sessionId: 's-a' }),
    ];
    await collection('tracking_events').insertMany([...mine, ...others] as never[]);
    const erased = await execute(app, EraseSubjectDocument, { userId: 'user-a' });
    expect(erased.errors).toBeUndefined();
    expect(erased.data!.eraseSubject).toEqual({
      sessions: 2,
      countedEvents: 2,
      auditEvents: 2,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: 0,
      archiveFiles: 0,
    });
    const left = (await collection('tracking_events').find().toArray()).map((event) => String(event._id)).sort();
    expect(left).toEqual(others.map((event) => String(event._id)).sort());

    // By session: that session's events only, with or without a user id; user-b's other sessions stay.
    const bySession = await execute(app, EraseSubjectDocument, { sessionId: 's-b' });
    expect(bySession.data!.eraseSubject).toEqual({
      sessions: 1,
      countedEvents: 1,
      auditEvents: 1,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: 0,
      archiveFiles: 0,
    });
    expect(await collection('tracking_events').countDocuments()).toBe(2);

    // The erasure records: who, when, what; the subject only as a pseudonym.
    const records = await collection('erasure_records')
      .find({}, { sort: { _id: 1 } })
      .toArray();
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      by: 'open',
      subjectKind: 'userId',
      sessions: 2,
      countedEvents: 2,
      auditEvents: 2,
    });
    expect(records[0]!.at).toEqual(new Date(NOW));
    expect(JSON.stringify(records)).not.toMatch(/user-a|s-a1|s-b/);
  });

  it('eraseSubject reaches a user id seen in thousands of sessions (erased 1,000 sessions per query)', async () => {
    // User ids come from clients: anyone can spread one over many sessions.
    const sessions = Array.from({ length: 2_500 }, (_, i) => `s-many-${i}`);
    await collection('tracking_events').insertMany(
      sessions.flatMap((sessionId) => [
        rawEvent(at(1), 'ACCEPTED', { userId: 'user-many', sessionId }),
        rawEvent(at(1), 'ACCEPTED', { sessionId }),
      ]) as never[],
    );
    await collection('tracking_events').insertOne(rawEvent(at(1), 'ACCEPTED', { sessionId: 's-many' }) as never);
    const deletes: number[] = [];
    const countDeleted = (event: { commandName: string; command: mongo.Document }) => {
      if (event.commandName === 'delete' && event.command.delete === 'tracking_events')
        for (const { q } of event.command.deletes as Array<{ q: mongo.Document }>)
          deletes.push(q._id?.$in?.length ?? Infinity);
    };
    app.database.connection.getClient().on('commandStarted', countDeleted);
    const erased = await execute(app, EraseSubjectDocument, { userId: 'user-many' });
    app.database.connection.getClient().off('commandStarted', countDeleted);
    expect(erased.errors).toBeUndefined();
    expect(erased.data!.eraseSubject).toMatchObject({ sessions: 2_500, countedEvents: 5_000 });
    // In bounded batches: no delete names more than 1,000 events (or a filter without ids).
    expect(deletes.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...deletes)).toBeLessThanOrEqual(1_000);
    const left = await collection('tracking_events').find().toArray();
    expect(left.map((event) => event.sessionId)).toEqual(['s-many']);
  });

  it('eraseSubject refuses a missing or doubled subject without touching the data', async () => {
    // Any single value is taken, malformed ones too (test/retention/refusedIds.test.ts).
    await collection('tracking_events').insertOne(rawEvent(at(1), 'ACCEPTED', { userId: 'user-z' }) as never);
    for (const variables of [{}, { userId: 'user-z', sessionId: 's-seed' }]) {
      const response = await execute(app, EraseSubjectDocument, variables);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    }
    expect(await collection('tracking_events').countDocuments()).toBe(1);
    expect(await collection('erasure_records').countDocuments()).toBe(0);
  });
});
