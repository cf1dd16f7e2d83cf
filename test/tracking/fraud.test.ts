import { createHmac } from 'node:crypto';
import { ManualClock } from '../../src/shared/clock';
import {
  StartSessionDocument,
  TrackClicksDocument,
  TrackImpressionsDocument,
  type ImpressionInput,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { startRedis, type RedisServer } from '../support/redisServer';
import { execute, startTestApp, type TestApp } from '../support/testApp';

// The attacks of issue 11 on inflating tracking, and the happy path next to each.
const SESSION_SECRET = 'fraud-test-session-secret-0123';

const impression = (itemId: string, sessionId: string): ImpressionInput => ({ itemId, sessionId, source: 'SEARCH' });
const outcomesOf = (response: { data?: { trackImpressions: { events: Array<{ outcome: string }> } } | null }) =>
  response.data!.trackImpressions.events.map((event) => event.outcome);

describe('signed sessions (TRACKING_REQUIRE_SIGNED_SESSIONS=true)', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let app: TestApp;
  let items: string[];
  const events = () => app.database.connection.collection('tracking_events');

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      env: {
        GAVEL_SEED_DEMO: 'false',
        SESSION_SECRET,
        TRACKING_REQUIRE_SIGNED_SESSIONS: 'true',
        TRACKING_NEW_SESSIONS_PER_MINUTE: '5',
        TRACKING_IP_EVENTS_PER_MINUTE: '100000',
      },
    });
    items = await insertDemoItems(app, 3);
  });
  afterAll(() => app.stop());

  const startSession = async () => {
    const response = await execute(app, StartSessionDocument, {}, BROWSER);
    return response;
  };

  it('accepts events of a session from startSession, and one click per impression (happy path)', async () => {
    const started = await startSession();
    const { sessionId, expiresAt } = started.data!.startSession;
    expect(sessionId.length).toBeLessThanOrEqual(128);
    expect(new Date(expiresAt as string).getTime()).toBe(clock.now().getTime() + 86_400_000);
    const seen = await execute(app, TrackImpressionsDocument, { events: [impression(items[0]!, sessionId)] }, BROWSER);
    expect(outcomesOf(seen)).toEqual(['ACCEPTED']);
    const clicked = await execute(app, TrackClicksDocument, { events: [impression(items[0]!, sessionId)] }, BROWSER);
    expect(clicked.data!.trackClicks.events[0]!.outcome).toBe('ACCEPTED');
  });

  it('refuses unsigned, forged, tampered, expired and hostile session ids as INVALID with a reason', async () => {
    clock.advance(60_000);
    const { sessionId } = (await startSession()).data!.startSession;
    const [body, signature] = sessionId.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as { s: string; t: number };
    const signWith = (secret: string, value: unknown) => {
      const encoded = Buffer.from(JSON.stringify(value)).toString('base64url');
      const mac = createHmac('sha256', secret)
        .update(`tracking-session|${encoded}`)
        .digest()
        .subarray(0, 12)
        .toString('base64url');
      return `${encoded}.${mac}`;
    };
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const hostile = [
      'session-from-the-client', // unsigned, what clients sent before
      `${body}.${flipped}`, // forged signature
      `${Buffer.from(JSON.stringify({ ...payload, s: 'AAAAAAAAAAAAAAAA' })).toString('base64url')}.${signature}`, // tampered
      signWith('guessed-secret-0123456789', payload), // signed with another secret
      signWith(SESSION_SECRET.replace('fraud', 'other'), { s: payload.s, t: payload.t }),
      `${body}.${signature}.extra`,
      `.${signature}`,
      `${body}.`,
      '.',
      'a'.repeat(129), // oversized
      'é'.repeat(10), // outside the alphabet
      `${body}\u0000.${signature}`,
      '$where',
    ];
    const response = await execute(
      app,
      TrackImpressionsDocument,
      { events: hostile.map((id) => impression(items[1]!, id)) },
      BROWSER,
    );
    const result = response.data!.trackImpressions;
    expect(result.accepted).toBe(0);
    expect(result.invalid).toBe(hostile.length);
    for (const event of result.events) expect(event.reason).toMatch(/startSession|sessionId must be 1 to 128|expired/);
    expect(result.events[0]!.reason).toMatch(/not a session issued by startSession/);
    // A correctly signed id with a payload of the wrong shape is refused too.
    const wrongShape = signWith(SESSION_SECRET, { s: 'x', t: 'now' });
    const shaped = await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression(items[1]!, wrongShape)] },
      BROWSER,
    );
    expect(outcomesOf(shaped)).toEqual(['INVALID']);
    // A huge id is refused by the GraphQL layer or the tracking rules, never a 5xx.
    const huge = await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression(items[1]!, 'x'.repeat(100_000))] },
      BROWSER,
    );
    expect(huge.status).toBeLessThan(500);
    // Expired: the same id a day later.
    clock.advance(86_400_001);
    const expired = await execute(
      app,
      TrackImpressionsDocument,
      { events: [impression(items[1]!, sessionId)] },
      BROWSER,
    );
    expect(expired.data!.trackImpressions.events[0]).toMatchObject({
      outcome: 'INVALID',
      reason: expect.stringMatching(/expired/),
    });
    expect(
      await events().countDocuments({ itemId: { $exists: true }, outcome: 'ACCEPTED', sessionId: { $in: hostile } }),
    ).toBe(0);
  });

  it('refuses a flood of random session ids from one address: none counted', async () => {
    clock.advance(60_000);
    const random = Array.from({ length: 200 }, (_, i) => impression(items[2]!, `random-${i}-${Math.random()}`));
    const response = await execute(app, TrackImpressionsDocument, { events: random }, BROWSER);
    expect(response.data!.trackImpressions).toMatchObject({ accepted: 0, invalid: 200 });
  });

  it('rate-limits new sessions per address with RATE_LIMITED and retryAfterMs', async () => {
    clock.set('2026-03-05T10:00:30.000Z');
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await startSession());
    expect(responses.slice(0, 5).every((response) => response.data?.startSession.sessionId)).toBe(true);
    expect(responses[5]!.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 30_000 });
    clock.advance(30_000);
    expect((await startSession()).data?.startSession.sessionId).toBeTruthy();
  });
});

describe('audit rows under a flood (TRACKING_AUDIT_ROWS_PER_MINUTE=10)', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let app: TestApp;
  let items: string[];

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      env: { GAVEL_SEED_DEMO: 'false', TRACKING_AUDIT_ROWS_PER_MINUTE: '10' },
    });
    items = await insertDemoItems(app, 1);
  });
  afterAll(() => app.stop());

  it('stores the first 10 refused events of an address per minute and aggregates the rest', async () => {
    const bot = { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' };
    const flood = Array.from({ length: 300 }, (_, i) => impression(items[0]!, `bot-${i}`));
    for (const batch of [flood.slice(0, 150), flood.slice(150)]) {
      const response = await execute(app, TrackImpressionsDocument, { events: batch }, bot);
      // Clients still see every event's outcome.
      expect(response.data!.trackImpressions.rejectedBots).toBe(150);
    }
    const connection = app.database.connection;
    expect(await connection.collection('tracking_events').countDocuments({ outcome: 'REJECTED_BOT' })).toBe(10);
    await app.services.tracking.flushAuditAggregates();
    expect(app.services.tracking.aggregatedAuditEvents).toBe(290);
    const rows = await connection.collection('tracking_audit_aggregates').find().toArray();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'IMPRESSION', outcome: 'REJECTED_BOT', count: 290 });
    expect((rows[0]!.minute as Date).toISOString()).toBe('2026-03-01T12:00:00.000Z');
    // The next minute has a fresh budget; counted events never use it.
    clock.advance(60_000);
    await execute(app, TrackImpressionsDocument, { events: flood.slice(0, 3) }, bot);
    expect(await connection.collection('tracking_events').countDocuments({ outcome: 'REJECTED_BOT' })).toBe(13);
    const ok = await execute(app, TrackImpressionsDocument, { events: [impression(items[0]!, 'real-user')] }, BROWSER);
    expect(outcomesOf(ok)).toEqual(['ACCEPTED']);
  });
});

describe('rate limits shared by two instances through Redis', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let redis: RedisServer;
  let first: TestApp;
  let second: TestApp;
  let items: string[];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      GAVEL_SEED_DEMO: 'false',
      REDIS_URL: redis.url,
      TRACKING_IP_EVENTS_PER_MINUTE: '10',
      TRACKING_NEW_SESSIONS_PER_MINUTE: '3',
    };
    first = await startTestApp({ clock, env });
    second = await startTestApp({ clock, env, databaseName: first.databaseName });
    items = await insertDemoItems(first, 12);
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await redis?.stop();
  });

  it('gives one address 10 events per minute in total, not 10 per instance', async () => {
    const send = (app: TestApp, from: number) =>
      execute(
        app,
        TrackImpressionsDocument,
        { events: items.slice(from, from + 6).map((itemId) => impression(itemId, 'shared-session')) },
        BROWSER,
      );
    const outcomes = [...outcomesOf(await send(first, 0)), ...outcomesOf(await send(second, 6))];
    expect(outcomes.filter((outcome) => outcome === 'ACCEPTED')).toHaveLength(10);
    expect(outcomes.slice(10)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    // A new minute, a new budget (and past the 30 s impression window of the same items).
    clock.advance(60_000);
    expect(outcomesOf(await send(second, 0))).toEqual(Array(6).fill('ACCEPTED'));
  });

  it('shares the new-session limit too', async () => {
    clock.advance(60_000);
    const responses = [];
    for (const app of [first, second, first, second])
      responses.push(await execute(app, StartSessionDocument, {}, BROWSER));
    expect(responses.slice(0, 3).every((response) => response.data?.startSession)).toBe(true);
    expect(responses[3]!.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('rate limits while Redis is unreachable', () => {
  it('falls back to the in-process insurance limiter: tracking works and is still limited', async () => {
    const redis = await startRedis();
    const url = redis.url;
    // A Redis that was there and is gone: the instance must neither fail nor stop limiting.
    await redis.stop();
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const app = await startTestApp({
      clock,
      env: { GAVEL_SEED_DEMO: 'false', REDIS_URL: url, TRACKING_IP_EVENTS_PER_MINUTE: '5' },
    });
    try {
      const items = await insertDemoItems(app, 7);
      const response = await execute(
        app,
        TrackImpressionsDocument,
        { events: items.map((itemId) => impression(itemId, 'no-redis')) },
        BROWSER,
      );
      expect(outcomesOf(response)).toEqual([...Array(5).fill('ACCEPTED'), 'RATE_LIMITED', 'RATE_LIMITED']);
      expect((await execute(app, StartSessionDocument, {}, BROWSER)).data?.startSession.sessionId).toBeTruthy();
    } finally {
      await app.stop();
    }
  });
});
