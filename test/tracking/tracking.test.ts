import type { mongo } from 'mongoose';
import { ManualClock } from '../../src/shared/clock';
import { TrackClicksDocument, TrackImpressionsDocument, type ImpressionInput } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { countedTotals } from '../support/rollups';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';

// Start on a window boundary (30 s impressions, 5 s clicks) so boundary tests are exact.
const clock = new ManualClock('2026-03-01T12:00:00.000Z');
let app: TestApp;
let items: string[];
let sessionCounter = 0;
const newSession = () => `session-${++sessionCounter}`;

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: {
      GAVEL_SEED_DEMO: 'false',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '150',
      TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    },
  });
  items = await insertDemoItems(app, 20);
});
afterAll(() => app.stop());

const impression = (overrides: Partial<ImpressionInput> = {}): ImpressionInput => ({
  itemId: items[0]!,
  sessionId: 'session-0',
  source: 'SEARCH',
  ...overrides,
});

const events = () => app.database.connection.collection('tracking_events');
const countedImpressions = async (itemId: string) =>
  (await countedTotals(app.database.connection, [itemId])).impressions;

describe('trackImpressions', () => {
  it('accepts an impression, stores it before answering, and counts it in the rollups', async () => {
    const session = newSession();
    const response = await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[1]!, position: 3 })] },
      BROWSER,
    );
    expect(response.data?.trackImpressions).toMatchObject({
      accepted: 1,
      events: [{ index: 0, outcome: 'ACCEPTED', reason: null }],
    });
    const stored = await events().findOne({ sessionId: session });
    expect(stored).toMatchObject({ outcome: 'ACCEPTED', source: 'SEARCH', position: 3, type: 'IMPRESSION' });
    // The flush confirmed its increments: no journal entry left for the recovery.
    expect(await app.database.connection.collection('rollup_journal').countDocuments()).toBe(0);
    expect(stored!.userAgent).toBe(BROWSER['user-agent']);
    expect(await countedImpressions(items[1]!)).toBe(1);
  });

  it('counts exactly one of 100 concurrent identical impressions', async () => {
    const session = newSession();
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        execute(
          app,
          TrackImpressionsDocument,
          { events: [impression({ sessionId: session, itemId: items[2]! })] },
          BROWSER,
        ),
      ),
    );
    const outcomes = responses.map((response) => response.data!.trackImpressions.events[0]!.outcome);
    expect(outcomes.filter((outcome) => outcome === 'ACCEPTED')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'DUPLICATE')).toHaveLength(99);
    expect(await events().countDocuments({ sessionId: session, outcome: 'ACCEPTED' })).toBe(1);
    expect(await countedImpressions(items[2]!)).toBe(1);
  });

  it('keeps one impression per session and item per 30 s window, and counts the next window', async () => {
    const session = newSession();
    const track = async () =>
      (
        await execute(
          app,
          TrackImpressionsDocument,
          { events: [impression({ sessionId: session, itemId: items[3]! })] },
          BROWSER,
        )
      ).data!.trackImpressions.events[0]!.outcome;
    clock.set('2026-03-01T12:01:00.000Z');
    expect(await track()).toBe('ACCEPTED');
    clock.set('2026-03-01T12:01:29.999Z');
    expect(await track()).toBe('DUPLICATE');
    clock.set('2026-03-01T12:01:30.000Z');
    expect(await track()).toBe('ACCEPTED');
    expect(await countedImpressions(items[3]!)).toBe(2);
  });

  it('rejects bots and clients without a user agent, keeping them for audit uncounted', async () => {
    const session = newSession();
    const bot = await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[4]! })] },
      {
        'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      },
    );
    expect(bot.data?.trackImpressions.events[0]).toMatchObject({ outcome: 'REJECTED_BOT' });
    const noAgent = await postRaw<{ trackImpressions: { events: Array<{ outcome: string; reason: string }> } }>(
      app,
      {
        query: 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { events { outcome reason } } }',
        variables: { e: [impression({ sessionId: session, itemId: items[4]! })] },
      },
      { 'user-agent': '' },
    );
    expect(noAgent.data?.trackImpressions.events[0]).toEqual({ outcome: 'REJECTED_BOT', reason: 'missing user agent' });
    expect(await events().countDocuments({ sessionId: session, outcome: 'REJECTED_BOT' })).toBe(2);
    expect(await countedImpressions(items[4]!)).toBe(0);
  });

  it('marks invalid events INVALID with a reason without failing the rest of the batch', async () => {
    const session = newSession();
    const now = clock.now().getTime();
    const response = await execute(
      app,
      TrackImpressionsDocument,
      {
        events: [
          impression({ sessionId: session, itemId: '65f000000000000000000000' }),
          impression({ sessionId: session, itemId: 'not-an-id' }),
          impression({ sessionId: session, itemId: items[5]!, timestamp: new Date(now + 3_600_000).toISOString() }),
          impression({
            sessionId: session,
            itemId: items[5]!,
            timestamp: new Date(now - 400 * 86_400_000).toISOString(),
          }),
          impression({ sessionId: '{"$gt": ""}', itemId: items[5]! }),
          impression({ sessionId: 'x'.repeat(10_000), itemId: items[5]! }),
          impression({ sessionId: session, itemId: items[5]!, position: -1 }),
          impression({ sessionId: session, itemId: items[5]!, userId: 'ȕ\u0000' }),
          impression({ sessionId: session, itemId: items[5]!, timestamp: new Date(now - 60_000).toISOString() }),
        ],
      },
      BROWSER,
    );
    const result = response.data!.trackImpressions;
    expect(result.events.map((event) => event.outcome)).toEqual([...Array(8).fill('INVALID'), 'ACCEPTED']);
    expect(result.events.map((event) => event.reason)).toEqual([
      'no auction item has this itemId',
      'itemId is not a valid item id',
      'timestamp is in the future',
      'timestamp is older than the retention period',
      expect.stringMatching(/sessionId/),
      expect.stringMatching(/sessionId/),
      expect.stringMatching(/position/),
      expect.stringMatching(/userId/),
      null,
    ]);
    expect(result).toMatchObject({ accepted: 1, invalid: 8 });
    const audit = await events()
      .find({ outcome: 'INVALID', reason: /sessionId/ })
      .toArray();
    expect(audit.every((event) => (event.sessionId as string).length <= 256)).toBe(true);
  });

  it('rate-limits a session beyond its budget (150 per minute here)', async () => {
    const session = newSession();
    const batch = items.slice(0, 20).map((itemId) => impression({ sessionId: session, itemId }));
    const results = [];
    for (let round = 0; round < 8; round++) {
      results.push(
        ...(await execute(app, TrackImpressionsDocument, { events: batch }, BROWSER)).data!.trackImpressions.events,
      );
    }
    const limited = results.filter((event) => event.outcome === 'RATE_LIMITED');
    expect(limited).toHaveLength(10);
    expect(limited[0]!.reason).toBe('too many events from this session (TRACKING_SESSION_EVENTS_PER_MINUTE)');
    expect(results.slice(0, 150).some((event) => event.outcome === 'RATE_LIMITED')).toBe(false);
    // With nothing left, the next batch is refused as a whole (test/tracking/budgetRefusal.test.ts).
    const refused = await execute(app, TrackImpressionsDocument, { events: batch }, BROWSER);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // A minute later the bucket is full again.
    clock.advance(60_000);
    const later = await execute(app, TrackImpressionsDocument, { events: batch }, BROWSER);
    expect(later.data!.trackImpressions.rateLimited).toBe(0);
  });

  it('answers BAD_USER_INPUT for an empty or oversized batch and stores nothing', async () => {
    const before = await events().countDocuments();
    const empty = await execute(app, TrackImpressionsDocument, { events: [] }, BROWSER);
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events' });
    const oversized = await execute(
      app,
      TrackImpressionsDocument,
      { events: Array.from({ length: 501 }, () => impression()) },
      BROWSER,
    );
    expect(oversized.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events' });
    const badSource = await postRaw(app, {
      query: 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { accepted } }',
      variables: { e: [{ ...impression(), source: 'TELEPATHY' }] },
    });
    expect(errorCodes(badSource)).toEqual(['BAD_USER_INPUT']);
    expect(await events().countDocuments()).toBe(before);
  });

  it('keeps an existing item valid when its cache entry expires while other items of the batch are looked up', async () => {
    // An instance caches each item for 60 s from its own lookup, so entries expire one by one. A
    // batch naming an expired item and a still cached one looks the first up; the second expires
    // during that lookup and must still count as existing (it was once answered INVALID).
    const lookupClock = new ManualClock('2026-03-01T12:00:00.000Z');
    const other = await startTestApp({
      clock: lookupClock,
      databaseName: app.databaseName,
      monitorCommands: true,
      periodicJobs: false,
      env: { GAVEL_SEED_DEMO: 'false' },
    });
    const client = other.database.connection.getClient();
    let lookups = 0;
    const lookupTakes30s = (event: mongo.CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'auction_items') {
        lookups++;
        lookupClock.advance(30_000);
      }
    };
    try {
      const track = async (itemIds: string[]) => {
        const session = newSession();
        const response = await execute(
          other,
          TrackImpressionsDocument,
          { events: itemIds.map((itemId) => impression({ sessionId: session, itemId })) },
          BROWSER,
        );
        return response.data?.trackImpressions.events.map((event) => event.reason ?? event.outcome);
      };
      expect(await track([items[12]!])).toEqual(['ACCEPTED']);
      lookupClock.advance(30_000);
      expect(await track([items[13]!])).toEqual(['ACCEPTED']);
      lookupClock.advance(31_000); // items[12] expired; items[13] has 29 s left.
      client.on('commandStarted', lookupTakes30s);
      expect(await track([items[12]!, items[13]!])).toEqual(['ACCEPTED', 'ACCEPTED']);
      expect(lookups).toBe(1);
    } finally {
      client.off('commandStarted', lookupTakes30s);
      await other.stop();
    }
  });
});

describe('trackClicks', () => {
  it('counts a click after an impression, flags one without, and keeps one per 5 s window', async () => {
    const session = newSession();
    clock.set('2026-03-01T13:00:00.000Z');
    const click = (itemId: string) =>
      execute(app, TrackClicksDocument, { events: [impression({ sessionId: session, itemId })] }, BROWSER);
    const orphan = await click(items[6]!);
    expect(orphan.data?.trackClicks.events[0]).toMatchObject({
      outcome: 'FLAGGED',
      reason: expect.stringMatching(/without a prior impression/),
    });
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[7]! })] },
      BROWSER,
    );
    expect((await click(items[7]!)).data?.trackClicks.events[0]?.outcome).toBe('ACCEPTED');
    clock.advance(4_999);
    expect((await click(items[7]!)).data?.trackClicks.events[0]?.outcome).toBe('DUPLICATE');
    // The next window's click needs a second impression: the first one's claim is spent.
    clock.advance(1);
    expect((await click(items[7]!)).data?.trackClicks.events[0]?.outcome).toBe('FLAGGED');
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[7]! })] },
      BROWSER,
    );
    clock.advance(30_000);
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[7]! })] },
      BROWSER,
    );
    expect((await click(items[7]!)).data?.trackClicks.events[0]?.outcome).toBe('ACCEPTED');
    expect((await countedTotals(app.database.connection, [items[6]!, items[7]!])).clicks).toBe(2);
    expect(await events().countDocuments({ sessionId: session, outcome: 'FLAGGED' })).toBe(2);
  });

  it('refuses clicks past impressions: one impression then a click every 5.1 s counts one click (CTR <= 1)', async () => {
    const session = newSession();
    clock.set('2026-03-01T14:00:00.000Z');
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[9]! })] },
      BROWSER,
    );
    const outcomes: string[] = [];
    const reasons: Array<string | null | undefined> = [];
    for (let round = 0; round < 6; round++) {
      const response = await execute(
        app,
        TrackClicksDocument,
        { events: [impression({ sessionId: session, itemId: items[9]! })] },
        BROWSER,
      );
      outcomes.push(response.data!.trackClicks.events[0]!.outcome);
      reasons.push(response.data!.trackClicks.events[0]!.reason);
      clock.advance(5_100);
    }
    expect(outcomes).toEqual(['ACCEPTED', 'FLAGGED', 'FLAGGED', 'FLAGGED', 'FLAGGED', 'FLAGGED']);
    expect(reasons[1]).toMatch(/not already clicked/);
    expect(await events().countDocuments({ sessionId: session, type: 'CLICK', outcome: 'ACCEPTED' })).toBe(1);
    const counted = await events().findOne({ sessionId: session, type: 'CLICK', outcome: 'ACCEPTED' });
    const seen = await events().findOne({ sessionId: session, type: 'IMPRESSION', outcome: 'ACCEPTED' });
    expect(seen).toMatchObject({ clicksClaimed: 1 });
    expect(counted!.impressionId).toEqual(seen!._id);
  });

  it('lets two instances racing on one impression count exactly one click between them', async () => {
    const session = newSession();
    clock.set('2026-03-01T15:00:00.000Z');
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[10]! })] },
      BROWSER,
    );
    // The other instance's clock is one click window ahead: its clicks have other dedup keys, so
    // only the impression claim can stop the two instances from each counting one.
    const otherClock = new ManualClock(new Date(clock.now().getTime() + 5_100).toISOString());
    const other = await startTestApp({
      clock: otherClock,
      databaseName: app.databaseName,
      env: { GAVEL_SEED_DEMO: 'false' },
    });
    try {
      const click = (target: TestApp) =>
        execute(
          target,
          TrackClicksDocument,
          { events: [impression({ sessionId: session, itemId: items[10]! })] },
          BROWSER,
        );
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => click(i % 2 === 0 ? app : other)));
      const outcomes = responses.map((response) => response.data!.trackClicks.events[0]!.outcome);
      expect(outcomes.filter((outcome) => outcome === 'ACCEPTED')).toHaveLength(1);
      expect(outcomes.every((outcome) => ['ACCEPTED', 'DUPLICATE', 'FLAGGED'].includes(outcome))).toBe(true);
      expect(await events().countDocuments({ sessionId: session, type: 'CLICK', outcome: 'ACCEPTED' })).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it('finds the impression in the database when this instance has not seen it (fresh instance)', async () => {
    const session = newSession();
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression({ sessionId: session, itemId: items[8]! })] },
      BROWSER,
    );
    const other = await startTestApp({ clock, databaseName: app.databaseName, env: { GAVEL_SEED_DEMO: 'false' } });
    try {
      const response = await execute(
        other,
        TrackClicksDocument,
        { events: [impression({ sessionId: session, itemId: items[8]! })] },
        BROWSER,
      );
      expect(response.data?.trackClicks.events[0]?.outcome).toBe('ACCEPTED');
    } finally {
      await other.stop();
    }
  });
});

describe('implicit impressions', () => {
  it('records search results and item views as impressions when the request names a session', async () => {
    const session = newSession();
    clock.advance(60_000);
    const headers = { ...BROWSER, 'x-session-id': session };
    await postRaw(app, { query: '{ auctionItems(first: 5) { edges { node { id } } } }' }, headers);
    await postRaw(app, { query: `{ auctionItem(id: "${items[9]}") { id } }` }, headers);
    await postRaw(app, { query: '{ auctionItems(first: 5) { edges { node { id } } } }' }, BROWSER);
    await app.services.tracking.drainImplicitQueue();
    const recorded = await events().find({ sessionId: session }).toArray();
    expect(
      recorded
        .filter((event) => event.source === 'SEARCH')
        .map((event) => event.position)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(recorded.filter((event) => event.source === 'ITEM_PAGE')).toHaveLength(1);
    expect(await events().countDocuments({ sessionId: { $exists: false } })).toBe(0);
  });
});
