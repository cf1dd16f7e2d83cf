import { ManualClock } from '../../src/shared/clock';
import { TrackClicksDocument, TrackImpressionsDocument, type ImpressionInput } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { countedTotals } from '../support/rollups';
import { execute, startTestApp, type TestApp } from '../support/testApp';

// Client retries against the dedup windows: an event's window comes from its client timestamp
// when that is recent (TRACKING_RETRY_WINDOW_MS), so a retry of a stored event whose answer was
// lost is a DUPLICATE even after the server's window rolled over (docs/tracking.md "Retries and
// client timestamps").

const RETRY_WINDOW_MS = 300_000;
const MAX_CLOCK_SKEW_MS = 120_000;
const IMPRESSION_COOLDOWN_MS = 30_000;
const CLICK_COOLDOWN_MS = 5_000;

const clock = new ManualClock('2026-03-01T12:00:00.000Z');
const env = {
  GAVEL_SEED_DEMO: 'false',
  TRACKING_RETRY_WINDOW_MS: String(RETRY_WINDOW_MS),
  TRACKING_MAX_CLOCK_SKEW_MS: String(MAX_CLOCK_SKEW_MS),
  TRACKING_IMPRESSION_COOLDOWN_MS: String(IMPRESSION_COOLDOWN_MS),
  TRACKING_CLICK_COOLDOWN_MS: String(CLICK_COOLDOWN_MS),
  // The attacker test sends hundreds of events from one session: the bound under test is the
  // dedup rule's, not the rate limit's.
  TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
  TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
};
/** Two instances on one database: a retry may reach another instance than the first attempt. */
let app: TestApp;
let other: TestApp;
let items: string[];
let sessionCounter = 0;
const newSession = () => `retry-session-${++sessionCounter}`;
let itemCounter = 0;
const newItem = () => items[itemCounter++]!;

beforeAll(async () => {
  app = await startTestApp({ clock, env });
  other = await startTestApp({ clock, env, databaseName: app.databaseName });
  items = await insertDemoItems(app, 20);
});
afterAll(async () => {
  await other?.stop();
  await app?.stop();
});

const at = (ms: number): string => new Date(ms).toISOString();
const ago = (ms: number): string => at(clock.now().getTime() - ms);

async function track(
  target: TestApp,
  type: 'impression' | 'click',
  events: ImpressionInput[],
): Promise<Array<{ outcome: string; reason?: string | null }>> {
  const response =
    type === 'impression'
      ? (await execute(target, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions
      : (await execute(target, TrackClicksDocument, { events }, BROWSER)).data?.trackClicks;
  if (!response) throw new Error('tracking failed');
  return response.events;
}
const outcomeOf = async (target: TestApp, type: 'impression' | 'click', event: ImpressionInput): Promise<string> =>
  (await track(target, type, [event]))[0]!.outcome;

const events = () => app.database.connection.collection('tracking_events');
const counted = (itemId: string) => countedTotals(app.database.connection, [itemId]);

describe('retries across a server window rollover', () => {
  it('counts an impression once when its retry (same timestamp) lands in the next server window', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    clock.set('2026-03-01T12:00:20.000Z');
    const event: ImpressionInput = { itemId, sessionId, source: 'SEARCH', timestamp: ago(1_000) };
    expect(await outcomeOf(app, 'impression', event)).toBe('ACCEPTED');
    // The answer was lost; the retry comes 25 s later, in the next 30 s window of server time.
    clock.set('2026-03-01T12:00:45.000Z');
    expect(await outcomeOf(app, 'impression', event)).toBe('DUPLICATE');
    // The same retry reaching another instance: its unique dedup key decides, not a local cache.
    clock.set('2026-03-01T12:02:10.000Z');
    expect(await outcomeOf(other, 'impression', event)).toBe('DUPLICATE');
    expect(await events().countDocuments({ sessionId, outcome: 'ACCEPTED' })).toBe(1);
    expect((await counted(itemId)).impressions).toBe(1);
  });

  it('counts a click once when its retry lands in the next click window, spending one claim', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    clock.set('2026-03-01T12:10:00.000Z');
    await track(app, 'impression', [{ itemId, sessionId, source: 'SEARCH', timestamp: ago(500) }]);
    clock.advance(3_000);
    const click: ImpressionInput = { itemId, sessionId, source: 'SEARCH', timestamp: ago(200) };
    expect(await outcomeOf(app, 'click', click)).toBe('ACCEPTED');
    clock.advance(CLICK_COOLDOWN_MS);
    expect(await outcomeOf(app, 'click', click)).toBe('DUPLICATE');
    // On another instance the claim is already spent (by this very click): still a DUPLICATE, not FLAGGED.
    expect(await outcomeOf(other, 'click', click)).toBe('DUPLICATE');
    // The impression's one claim is spent by the counted click, not by its retries: a genuine
    // second click (new timestamp) is refused as before.
    expect(await outcomeOf(app, 'click', { ...click, timestamp: ago(0) })).toBe('FLAGGED');
    expect(await events().findOne({ sessionId, type: 'IMPRESSION', outcome: 'ACCEPTED' })).toMatchObject({
      clicksClaimed: 1,
    });
    expect(await counted(itemId)).toEqual({ impressions: 1, clicks: 1 });
  });
});

describe('genuine events', () => {
  it('counts impressions whose timestamps fall in different windows, and keeps server windows without timestamps', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    clock.set('2026-03-01T12:20:00.000Z');
    const event = (timestamp?: string): ImpressionInput => ({ itemId, sessionId, source: 'HOME', timestamp });
    // 12:19:00 and 12:19:40 are two windows; 12:19:45 is the second one again.
    expect(await outcomeOf(app, 'impression', event(ago(60_000)))).toBe('ACCEPTED');
    expect(await outcomeOf(app, 'impression', event(ago(20_000)))).toBe('ACCEPTED');
    expect(await outcomeOf(app, 'impression', event(ago(15_000)))).toBe('DUPLICATE');
    expect((await counted(itemId)).impressions).toBe(2);

    const bareItem = newItem();
    const bare: ImpressionInput = { itemId: bareItem, sessionId, source: 'HOME' };
    expect(await outcomeOf(app, 'impression', bare)).toBe('ACCEPTED');
    clock.advance(IMPRESSION_COOLDOWN_MS - 1);
    expect(await outcomeOf(app, 'impression', bare)).toBe('DUPLICATE');
    clock.advance(1);
    expect(await outcomeOf(app, 'impression', bare)).toBe('ACCEPTED');
    expect((await counted(bareItem)).impressions).toBe(2);
  });

  it('uses server time for a timestamp older than the retry window, and refuses one beyond the clock skew', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    clock.set('2026-03-01T12:30:00.000Z');
    const old: ImpressionInput = { itemId, sessionId, source: 'SEARCH', timestamp: ago(RETRY_WINDOW_MS + 1_000) };
    expect(await outcomeOf(app, 'impression', old)).toBe('ACCEPTED');
    // It took the server's window: an event without a timestamp in that window is its duplicate …
    expect(await outcomeOf(app, 'impression', { ...old, timestamp: undefined })).toBe('DUPLICATE');
    // … and the same late event in the next server window counts again (retries that late are not covered).
    clock.advance(IMPRESSION_COOLDOWN_MS);
    expect(await outcomeOf(app, 'impression', old)).toBe('ACCEPTED');
    expect((await counted(itemId)).impressions).toBe(2);

    const future = await track(app, 'impression', [
      { itemId, sessionId, source: 'SEARCH', timestamp: ago(-MAX_CLOCK_SKEW_MS - 1) },
    ]);
    expect(future[0]).toMatchObject({ outcome: 'INVALID', reason: 'timestamp is in the future' });
  });

  it('keeps a client whose clock runs ahead (within the skew) safe to retry', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    clock.set('2026-03-01T12:40:00.000Z');
    const ahead: ImpressionInput = { itemId, sessionId, source: 'SEARCH', timestamp: ago(-90_000) };
    expect(await outcomeOf(app, 'impression', ahead)).toBe('ACCEPTED');
    clock.advance(IMPRESSION_COOLDOWN_MS * 2);
    expect(await outcomeOf(other, 'impression', ahead)).toBe('DUPLICATE');
    expect((await counted(itemId)).impressions).toBe(1);
  });
});

describe('an attacker choosing timestamps', () => {
  /** One event per second over [from, to] (relative to now), sent in batches of 100. */
  async function sweep(sessionId: string, itemId: string, fromMs: number, toMs: number): Promise<number> {
    const now = clock.now().getTime();
    const all: ImpressionInput[] = [];
    for (let offset = fromMs; offset <= toMs; offset += 1_000)
      all.push({ itemId, sessionId, source: 'SEARCH', timestamp: at(now + offset) });
    let accepted = 0;
    for (let start = 0; start < all.length; start += 100)
      accepted += (await track(app, 'impression', all.slice(start, start + 100))).filter(
        (event) => event.outcome === 'ACCEPTED',
      ).length;
    return accepted;
  }

  it('gains at most one count per window of the retry window and skew, once; then one per cooldown', async () => {
    const sessionId = newSession();
    const itemId = newItem();
    // On a window boundary, so the bounds below are reached exactly.
    clock.set('2026-03-01T13:00:00.000Z');
    const backdated = Math.ceil(RETRY_WINDOW_MS / IMPRESSION_COOLDOWN_MS) + 1;
    // Backdated timestamps from beyond the retry window up to now: the windows of
    // [now - retry window, now], plus nothing for the older ones (they share the server's window).
    expect(await sweep(sessionId, itemId, -RETRY_WINDOW_MS - 60_000, 0)).toBe(backdated);
    // Future timestamps within the skew add the windows of (now, now + skew]; beyond, INVALID.
    const ahead = Math.ceil(MAX_CLOCK_SKEW_MS / IMPRESSION_COOLDOWN_MS);
    expect(await sweep(sessionId, itemId, 1_000, MAX_CLOCK_SKEW_MS + 60_000)).toBe(ahead);
    // Everything again, one cooldown later: one new window has come within reach.
    clock.advance(IMPRESSION_COOLDOWN_MS);
    expect(await sweep(sessionId, itemId, -RETRY_WINDOW_MS - 60_000, MAX_CLOCK_SKEW_MS + 60_000)).toBe(1);
    expect((await counted(itemId)).impressions).toBe(backdated + ahead + 1);
  });
});
