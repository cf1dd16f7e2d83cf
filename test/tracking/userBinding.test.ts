import { Types } from 'mongoose';
import { ManualClock, startOfHour } from '../../src/shared/clock';
import { createTrackingRepository } from '../../src/tracking/tracking.repository';
import { SessionSigner } from '../../src/tracking/sessions';
import {
  EraseSubjectDocument,
  ItemAnalyticsDocument,
  StartSessionDocument,
  TrackImpressionsDocument,
  UserAnalyticsDocument,
  type ImpressionInput,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { rollupsWritten } from '../support/rollups';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';
import { executeOverWebsocket } from '../support/websocket';

// Issue 19, finding 9: uniqueUsers was forgeable from one session (146 events with distinct userIds
// in one session: 40 "users"). A session is now bound to the one user startSession was given, and
// only that user's events count as a user's.
const SESSION_SECRET = 'user-binding-test-session-secret';
const DAY = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' };
const FORGED = 146;

/** Events of one item in one session, each in its own dedup window (1 s cooldown, stamped 1 s apart). */
function forgedBatch(clock: ManualClock, itemId: string, sessionId: string, users: string[]): ImpressionInput[] {
  return users.map((userId, index) => ({
    itemId,
    sessionId,
    userId,
    source: 'SEARCH',
    timestamp: new Date(clock.now().getTime() - index * 1_000).toISOString(),
  }));
}

const users = (prefix: string) => Array.from({ length: FORGED }, (_, index) => `${prefix}-${index}`);

describe('user-bound sessions (TRACKING_REQUIRE_SIGNED_SESSIONS=true)', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let app: TestApp;
  let items: string[];

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      env: {
        GAVEL_SEED_DEMO: 'false',
        SESSION_SECRET,
        TRACKING_REQUIRE_SIGNED_SESSIONS: 'true',
        TRACKING_IMPRESSION_COOLDOWN_MS: '1000',
        TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
        TRACKING_IP_EVENTS_PER_MINUTE: '100000',
        WS_ALLOW_QUERIES: 'true',
      },
    });
    items = await insertDemoItems(app, 4);
  });
  afterAll(() => app.stop());

  const startSession = async (userId?: unknown) => {
    const response = await postRaw<{ startSession: { sessionId: string } }>(
      app,
      { query: 'mutation($u: ID) { startSession(userId: $u) { sessionId expiresAt } }', variables: { u: userId } },
      BROWSER,
    );
    return response;
  };
  const sessionOf = async (userId?: string) => (await startSession(userId)).data!.startSession.sessionId;
  const uniqueUsers = async (itemId: string) => {
    await rollupsWritten(app.database.connection);
    const response = await execute(app, ItemAnalyticsDocument, { id: itemId, range: DAY });
    return response.data!.auctionItem!.analytics;
  };
  const userImpressions = async (userId: string) =>
    (await execute(app, UserAnalyticsDocument, { userId, range: DAY })).data!.userAnalytics.impressions;

  it('one session, 146 events with distinct userIds: the events count, their users do not (the reproduction)', async () => {
    const sessionId = await sessionOf();
    const response = await execute(
      app,
      TrackImpressionsDocument,
      { events: forgedBatch(clock, items[0]!, sessionId, users('forged')) },
      BROWSER,
    );
    const result = response.data!.trackImpressions;
    expect(result.accepted).toBe(FORGED);
    expect(result.events[0]!.reason).toMatch(/started without one; call startSession\(userId\)/);
    const analytics = await uniqueUsers(items[0]!);
    expect(analytics).toMatchObject({ impressions: FORGED, uniqueSessions: 1, uniqueUsers: 0 });
    expect(await userImpressions('forged-7')).toBe(0);
    // Kept for erasure: the forged ids are stored, and eraseSubject finds them.
    const erased = await execute(app, EraseSubjectDocument, { userId: 'forged-7' });
    expect(erased.data!.eraseSubject.countedEvents).toBeGreaterThanOrEqual(1);
    expect(await app.database.connection.collection('tracking_events').countDocuments({ userId: 'forged-7' })).toBe(0);
  });

  it('a session bound to a user counts that user once, and none of the other userIds it carries', async () => {
    const sessionId = await sessionOf('alice');
    const ids = ['alice', ...users('mallory').slice(1)];
    const response = await execute(
      app,
      TrackImpressionsDocument,
      { events: forgedBatch(clock, items[1]!, sessionId, ids) },
      BROWSER,
    );
    const result = response.data!.trackImpressions;
    expect(result.accepted).toBe(FORGED);
    expect(result.events[0]!.reason).toBeNull();
    expect(result.events[1]!.reason).toMatch(/started for another user/);
    expect(await uniqueUsers(items[1]!)).toMatchObject({ impressions: FORGED, uniqueUsers: 1 });
    // The rollup recovery rebuilds the same figure from the stored events.
    const itemId = new Types.ObjectId(items[1]);
    await app.database.connection.collection('item_day_sketches').updateMany({ itemId }, { $unset: { users: '' } });
    expect(await uniqueUsers(items[1]!)).toMatchObject({ uniqueUsers: 0 });
    const repository = createTrackingRepository(app.database.connection);
    // Counters use the receive time: all of them are in this hour.
    await repository.rebuildBucket(itemId, startOfHour(clock.now()), '');
    expect(await uniqueUsers(items[1]!)).toMatchObject({ impressions: FORGED, uniqueUsers: 1 });
    expect(await userImpressions('alice')).toBe(1);
    expect(await userImpressions('mallory-1')).toBe(0);
    // The session id names no user: a keyed hash only.
    expect(Buffer.from(sessionId.split('.')[0]!, 'base64url').toString()).not.toContain('alice');
  });

  it('refuses hostile userIds to startSession with BAD_USER_INPUT saying what to send', async () => {
    for (const userId of ['', 'x'.repeat(129), 'alice@example.com', '$where', 'é', 'a b']) {
      const response = await startSession(userId);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe('userId');
      expect(response.errors![0]!.message).toMatch(
        /userId must be .*1 to 128 letters, digits or _ \. : -; leave it out/,
      );
    }
    // Wrong types are refused by variable coercion, naming the variable and the type expected.
    for (const userId of [{ $gt: '' }, true, 1.5, ['alice']]) {
      const response = await startSession(userId);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).toMatch(/\$u.*ID cannot represent/);
    }
    // An integer is a valid ID (GraphQL coerces it to a string); null is no user.
    expect((await startSession(42)).errors).toBeUndefined();
    expect((await startSession(null)).errors).toBeUndefined();
  });

  it('applies the same rules over graphql-ws', async () => {
    const hostile = await executeOverWebsocket(
      app,
      StartSessionDocument,
      { userId: 'x'.repeat(129) },
      { headers: BROWSER },
    );
    expect(hostile.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
    const started = await executeOverWebsocket(app, StartSessionDocument, { userId: 'bob' }, { headers: BROWSER });
    const sessionId = started.data!.startSession.sessionId;
    const tracked = await executeOverWebsocket(
      app,
      TrackImpressionsDocument,
      { events: forgedBatch(clock, items[2]!, sessionId, ['bob', ...users('eve').slice(1)]) },
      { headers: BROWSER },
    );
    expect(tracked.data!.trackImpressions.accepted).toBe(FORGED);
    expect(await uniqueUsers(items[2]!)).toMatchObject({ impressions: FORGED, uniqueUsers: 1 });
  });
});

describe('sessions startSession did not issue (TRACKING_REQUIRE_SIGNED_SESSIONS off)', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let app: TestApp;
  let items: string[];

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      env: {
        GAVEL_SEED_DEMO: 'false',
        SESSION_SECRET,
        TRACKING_IMPRESSION_COOLDOWN_MS: '1000',
        TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
        TRACKING_IP_EVENTS_PER_MINUTE: '100000',
      },
    });
    items = await insertDemoItems(app, 2);
  });
  afterAll(() => app.stop());

  it('a signed session still vouches for its user only; a client-chosen session id counts the userIds it carries', async () => {
    const { sessionId } = (await execute(app, StartSessionDocument, {}, BROWSER)).data!.startSession;
    await execute(
      app,
      TrackImpressionsDocument,
      { events: forgedBatch(clock, items[0]!, sessionId, users('u')) },
      BROWSER,
    );
    await execute(
      app,
      TrackImpressionsDocument,
      { events: forgedBatch(clock, items[1]!, 'client-chosen-session', users('u').slice(0, 3)) },
      BROWSER,
    );
    const analytics = async (id: string) => {
      await rollupsWritten(app.database.connection);
      return (await execute(app, ItemAnalyticsDocument, { id, range: DAY })).data!.auctionItem!.analytics;
    };
    expect(await analytics(items[0]!)).toMatchObject({ impressions: FORGED, uniqueUsers: 0 });
    expect(await analytics(items[1]!)).toMatchObject({ impressions: 3, uniqueUsers: 3 });
  });
});

describe('SessionSigner user binding', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  const signer = new SessionSigner(SESSION_SECRET, clock, 3_600_000, 300_000);

  it('binds a session to the keyed hash of its user, within the tracking id length; tampering breaks it', () => {
    const { sessionId } = signer.issue('u'.repeat(128));
    expect(sessionId).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
    expect(signer.check(sessionId)).toEqual({ valid: true, userKey: signer.userKey('u'.repeat(128)) });
    expect(signer.check(signer.issue().sessionId)).toEqual({ valid: true, userKey: null });
    expect(signer.userKey('alice')).not.toBe(
      new SessionSigner('another-secret-0123456789', clock, 1, 1).userKey('alice'),
    );
    const [body, signature] = sessionId.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const rebound = Buffer.from(JSON.stringify({ ...payload, u: signer.userKey('mallory') })).toString('base64url');
    expect(signer.check(`${rebound}.${signature}`).valid).toBe(false);
  });
});
