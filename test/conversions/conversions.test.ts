import { Types, type mongo } from 'mongoose';
import { ManualClock } from '../../src/shared/clock';
import {
  EraseSubjectDocument,
  TrackClicksDocument,
  TrackConversionsDocument,
  TrackImpressionsDocument,
  type ConversionInput,
  type TrackConversionsMutation,
} from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { errorCodes, execute, postRaw, startTestApp, type GraphQLResponse, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = new ManualClock('2026-03-01T12:00:00.000Z');
let app: TestApp;
const keys = { ADMIN: '', ANALYST: '', SELLER: '', INGEST: '' };
const lots = { open: '', usd: '', endsSoon: '', later: '', cancelled: '' };
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

const as = (role: keyof typeof keys) => ({ authorization: `Bearer ${keys[role]}` });
const conversions = () => app.database.connection.collection('conversion_events');
const trackingEvents = () => app.database.connection.collection('tracking_events');

async function createLot(overrides: { currency?: string; startsInMs?: number; endsInMs: number; sellerId?: string }) {
  const now = clock.now().getTime();
  const lot = await app.services.catalog.createItem({
    title: 'A conversion test lot',
    category: 'watches',
    sellerId: overrides.sellerId ?? 'seller-7',
    startingPrice: { amount: 10_000, currency: overrides.currency ?? 'EUR' },
    startsAt: new Date(now + (overrides.startsInMs ?? -HOUR)),
    endsAt: new Date(now + overrides.endsInMs),
  } as never);
  return lot.id;
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: { GAVEL_SEED_DEMO: 'false', AUTH_MODE: 'keys', TRACKING_MAX_BATCH: '50' },
    periodicJobs: false,
  });
  for (const role of ['ADMIN', 'ANALYST', 'INGEST'] as const)
    keys[role] = (await app.services.auth.createKey({ role })).key;
  keys.SELLER = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-7' })).key;
  lots.open = await createLot({ endsInMs: 30 * DAY });
  lots.usd = await createLot({ endsInMs: 30 * DAY, currency: 'USD' });
  lots.endsSoon = await createLot({ endsInMs: 2 * HOUR });
  lots.later = await createLot({ startsInMs: DAY, endsInMs: 3 * DAY });
  lots.cancelled = await createLot({ endsInMs: 30 * DAY });
  await app.services.catalog.updateItem(lots.cancelled, { status: 'CANCELLED' } as never);
});
afterAll(() => app.stop());

function track(events: ConversionInput[], role: keyof typeof keys = 'INGEST') {
  return execute(app, TrackConversionsDocument, { events }, as(role));
}

/** One conversion's answer; fails the test on a request-level error. */
async function trackOne(event: ConversionInput, role: keyof typeof keys = 'INGEST') {
  const response = await track([event], role);
  expect(response.errors).toBeUndefined();
  return response.data!.trackConversions.events[0]!;
}

const bid = (overrides: Partial<ConversionInput> = {}): ConversionInput => ({
  eventId: unique('bid'),
  kind: 'BID',
  itemId: lots.open,
  sessionId: unique('s'),
  amount: { amount: 12_500, currency: 'EUR' },
  ...overrides,
});

type Source = 'SEARCH' | 'HOME' | 'RECOMMENDATION';

/** Tracks one counted impression or click (as a browser does), at the clock's time. */
async function touch(kind: 'impression' | 'click', sessionId: string, itemId: string, source: Source) {
  const events = [{ itemId, sessionId, source, position: 2 }];
  const response =
    kind === 'impression'
      ? (await execute(app, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions
      : (await execute(app, TrackClicksDocument, { events }, BROWSER)).data?.trackClicks;
  expect(response?.accepted).toBe(1);
}
const impression = (sessionId: string, itemId: string, source: Source = 'SEARCH') =>
  touch('impression', sessionId, itemId, source);
const click = (sessionId: string, itemId: string, source: Source = 'SEARCH') =>
  touch('click', sessionId, itemId, source);

describe('trackConversions: who may call it', () => {
  it('needs an INGEST or ADMIN key: anonymous is UNAUTHENTICATED, ANALYST and SELLER are FORBIDDEN, and nothing is stored', async () => {
    const before = await conversions().countDocuments();
    const anonymous = await execute(app, TrackConversionsDocument, { events: [bid()] });
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    for (const role of ['ANALYST', 'SELLER'] as const) {
      const refused = await track([bid()], role);
      expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
      expect(refused.errors![0]!.message).toMatch(/needs ADMIN or INGEST/);
    }
    expect(await conversions().countDocuments()).toBe(before);
    expect((await trackOne(bid(), 'ADMIN')).outcome).toBe('ACCEPTED');
    expect((await trackOne(bid())).outcome).toBe('ACCEPTED');
  });

  it('gives an INGEST key nothing to read: analytics and operations are FORBIDDEN to it', async () => {
    for (const query of [
      '{ analyticsOverview { impressions } }',
      `{ auctionItem(id: "${lots.open}") { analytics { impressions } } }`,
      'mutation { purgeExpiredData(dryRun: true) { dryRun } }',
    ]) {
      const response = await postRaw(app, { query }, as('INGEST'));
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    }
  });
});

describe('trackConversions: storing', () => {
  it('stores each kind with its lot, seller and category, the amount in minor units, ids as tracking stores them', async () => {
    const sessionId = unique('s');
    const events: ConversionInput[] = [
      { eventId: unique('v'), kind: 'ITEM_VIEW', itemId: lots.open, sessionId, userId: 'buyer-1' },
      { eventId: unique('w'), kind: 'WATCH', itemId: lots.open, sessionId, userId: 'buyer-1' },
      bid({ sessionId, userId: 'buyer-1' }),
      {
        eventId: unique('p'),
        kind: 'PURCHASE',
        itemId: lots.usd,
        sessionId,
        amount: { amount: 99_999, currency: 'USD' },
        occurredAt: new Date(clock.now().getTime() - HOUR).toISOString(),
      },
    ];
    const response = await track(events);
    expect(response.data!.trackConversions).toMatchObject({ accepted: 4, duplicates: 0, invalid: 0 });
    const stored = await conversions().find({ sessionId }).sort({ kind: 1 }).toArray();
    expect(stored.map((row) => [row.kind, row.amount ?? null, row.currency ?? null])).toEqual([
      ['BID', 12_500, 'EUR'],
      ['ITEM_VIEW', null, null],
      ['PURCHASE', 99_999, 'USD'],
      ['WATCH', null, null],
    ]);
    for (const row of stored)
      expect(row).toMatchObject({ sellerId: 'seller-7', category: 'watches', receivedAt: clock.now() });
    expect(stored.map((row) => row.userId ?? null)).toEqual(['buyer-1', 'buyer-1', null, 'buyer-1']);
    expect(stored.find((row) => row.kind === 'PURCHASE')!.occurredAt).toEqual(new Date(clock.now().getTime() - HOUR));
    // Without occurredAt, the time it was received.
    expect(stored.find((row) => row.kind === 'BID')!.occurredAt).toEqual(clock.now());
  });

  it('is idempotent by eventId per item: a retry is DUPLICATE and stored once, also within one batch', async () => {
    const event = bid();
    expect((await trackOne(event)).outcome).toBe('ACCEPTED');
    // A retry may carry the backend's own time; what it reports must be the same.
    const retry = await trackOne({ ...event, occurredAt: clock.now().toISOString() });
    expect(retry).toMatchObject({ outcome: 'DUPLICATE', reason: expect.stringMatching(/retry/) });
    const twice = bid();
    const batch = await track([twice, twice]);
    expect(batch.data!.trackConversions).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(await conversions().countDocuments({ eventId: { $in: [event.eventId, twice.eventId] } })).toBe(2);
    // The same id on another lot is another conversion.
    expect((await trackOne({ ...event, itemId: lots.endsSoon })).outcome).toBe('ACCEPTED');
  });

  it('refuses an eventId reused for a different conversion, and keeps the first', async () => {
    const first = bid();
    await trackOne(first);
    const reused = await trackOne({ ...first, amount: { amount: 1, currency: 'EUR' } });
    expect(reused.outcome).toBe('INVALID');
    expect(reused.reason).toMatch(/already used for another conversion.*own eventId/);
    expect((await conversions().findOne({ eventId: first.eventId }))!.amount).toBe(12_500);
  });
});

describe('trackConversions: hostile and malformed input', () => {
  const invalid: ReadonlyArray<[string, () => Partial<ConversionInput>, RegExp]> = [
    ['a bid without an amount', () => ({ amount: null }), /BID needs its amount/],
    ['an amount of 0', () => ({ amount: { amount: 0, currency: 'EUR' } }), /more than 0/],
    ['a negative amount', () => ({ amount: { amount: -500, currency: 'EUR' } }), /more than 0/],
    ['an amount on a view', () => ({ kind: 'ITEM_VIEW' }), /ITEM_VIEW carries no amount/],
    ['an amount in another currency', () => ({ amount: { amount: 100, currency: 'USD' } }), /priced in EUR/],
    ['a malformed itemId', () => ({ itemId: 'not-an-id' }), /not an auction item id/],
    ['an unknown item', () => ({ itemId: '0123456789abcdef01234567' }), /no auction item/],
    ['an eventId with spaces', () => ({ eventId: 'bid 1' }), /eventId must be/],
    ['an empty eventId', () => ({ eventId: '' }), /eventId must be/],
    ['an eventId of 129 characters', () => ({ eventId: 'e'.repeat(129) }), /eventId must be/],
    ['an e-mail as sessionId', () => ({ sessionId: 'alice@example.com' }), /sessionId must be/],
    ['a 10,000-character userId', () => ({ userId: 'u'.repeat(10_000) }), /userId must be/],
    [
      'a time in the future',
      () => ({ occurredAt: new Date(clock.now().getTime() + HOUR).toISOString() }),
      /in the future/,
    ],
    ['a time 8 days ago', () => ({ occurredAt: new Date(clock.now().getTime() - 8 * DAY).toISOString() }), /older/],
  ];

  it.each(invalid)(
    '%s is INVALID with a reason that says what to fix, and is not stored',
    async (_name, change, why) => {
      const event = { ...bid(), ...change() } as ConversionInput;
      const answer = await trackOne(event);
      expect(answer).toMatchObject({ outcome: 'INVALID', firstTouch: null, lastTouch: null });
      expect(answer.reason).toMatch(why);
      expect(await conversions().countDocuments({ eventId: event.eventId })).toBe(0);
    },
  );

  it('one bad conversion never fails the batch', async () => {
    const response = await track([bid(), bid({ itemId: 'nope' }), bid()]);
    expect(response.data!.trackConversions.events.map((event) => event.outcome)).toEqual([
      'ACCEPTED',
      'INVALID',
      'ACCEPTED',
    ]);
  });

  it('refuses values the schema cannot take before anything runs (BAD_USER_INPUT)', async () => {
    const cases: Array<Record<string, unknown>> = [
      { ...bid(), amount: { amount: 1.5, currency: 'EUR' } },
      { ...bid(), amount: { amount: 2 ** 53, currency: 'EUR' } },
      { ...bid(), amount: { amount: 100, currency: 'EURO' } },
      { ...bid(), kind: 'REFUND' },
      { ...bid(), occurredAt: 'yesterday' },
      { kind: 'BID', itemId: lots.open, sessionId: 's' },
    ];
    for (const event of cases) {
      const before = await conversions().countDocuments();
      const response = await postRaw(
        app,
        {
          query: 'mutation ($events: [ConversionInput!]!) { trackConversions(events: $events) { accepted } }',
          variables: { events: [event] },
        },
        as('INGEST'),
      );
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(await conversions().countDocuments()).toBe(before);
    }
  });

  it('refuses an empty batch and one over TRACKING_MAX_BATCH, saying the limit', async () => {
    const empty = await track([]);
    expect(errorCodes(empty)).toEqual(['BAD_USER_INPUT']);
    const tooMany = await track(Array.from({ length: 51 }, () => bid()));
    expect(errorCodes(tooMany)).toEqual(['BAD_USER_INPUT']);
    expect(tooMany.errors![0]!.message).toMatch(/1 to 50 conversions/);
  });
});

describe("trackConversions: the lot's rules", () => {
  it('refuses a bid at or after the lot ended, naming the end; a purchase after the end (a won lot paid) is accepted', async () => {
    const endsAt = (await app.services.catalog.getItem(lots.endsSoon))!.endsAt as Date;
    clock.set(endsAt.toISOString());
    const atEnd = await trackOne(bid({ itemId: lots.endsSoon }));
    expect(atEnd).toMatchObject({ outcome: 'INVALID' });
    expect(atEnd.reason).toContain(`the lot ended at ${endsAt.toISOString()}: a bid after it ended is not one`);
    const watch = await trackOne({
      eventId: unique('w'),
      kind: 'WATCH',
      itemId: lots.endsSoon,
      sessionId: unique('s'),
    });
    expect(watch.reason).toMatch(/the lot ended at/);
    // Reported late, with the time it happened: before the end.
    const justBefore = await trackOne(
      bid({ itemId: lots.endsSoon, occurredAt: new Date(endsAt.getTime() - 1).toISOString() }),
    );
    expect(justBefore.outcome).toBe('ACCEPTED');
    clock.advance(HOUR);
    const paid = await trackOne({
      eventId: unique('p'),
      kind: 'PURCHASE',
      itemId: lots.endsSoon,
      sessionId: unique('s'),
      amount: { amount: 15_000, currency: 'EUR' },
    });
    expect(paid.outcome).toBe('ACCEPTED');
  });

  it('refuses a bid before the lot opens and anything bought or bid on a cancelled lot; a watch before it opens counts', async () => {
    expect((await trackOne(bid({ itemId: lots.later }))).reason).toMatch(/the lot opens at/);
    expect(
      (await trackOne({ eventId: unique('w'), kind: 'WATCH', itemId: lots.later, sessionId: unique('s') })).outcome,
    ).toBe('ACCEPTED');
    expect((await trackOne(bid({ itemId: lots.cancelled }))).reason).toMatch(/cancelled/);
    expect(
      (
        await trackOne({
          eventId: unique('p'),
          kind: 'PURCHASE',
          itemId: lots.cancelled,
          sessionId: unique('s'),
          amount: { amount: 10, currency: 'EUR' },
        })
      ).reason,
    ).toMatch(/cancelled/);
  });
});

describe('attribution', () => {
  type Answer = TrackConversionsMutation['trackConversions']['events'][number];

  /** The first and last counted touch of the session on the item in [from, to], recounted from the raw events. */
  async function recount(sessionId: string, itemId: string, from: Date, to: Date) {
    const touches = await trackingEvents()
      .find({
        sessionId,
        itemId: new Types.ObjectId(itemId),
        outcome: 'ACCEPTED',
        receivedAt: { $gte: from, $lte: to },
      })
      .toArray();
    touches.sort((a, b) => (a.receivedAt as Date).getTime() - (b.receivedAt as Date).getTime());
    const shape = (touch: mongo.WithId<mongo.Document> | undefined) =>
      touch ? { type: touch.type, source: touch.source, at: (touch.receivedAt as Date).toISOString() } : null;
    return { first: shape(touches[0]), last: shape(touches.at(-1)) };
  }
  const answered = (answer: Answer) => ({
    first: answer.firstTouch
      ? { type: answer.firstTouch.type, source: answer.firstTouch.source, at: answer.firstTouch.at }
      : null,
    last: answer.lastTouch
      ? { type: answer.lastTouch.type, source: answer.lastTouch.source, at: answer.lastTouch.at }
      : null,
  });

  it("attributes to the session's first and last counted touch of the item, as a recount of the raw events finds them", async () => {
    const sessionId = unique('s');
    const lot = await createLot({ endsInMs: 10 * DAY });
    await impression(sessionId, lot, 'HOME');
    clock.advance(60_000);
    await impression(sessionId, lot, 'SEARCH');
    clock.advance(60_000);
    await click(sessionId, lot, 'RECOMMENDATION');
    // Another session's touches and another item's never count.
    const other = unique('s');
    clock.advance(60_000);
    await impression(other, lot, 'RECOMMENDATION');
    await impression(sessionId, lots.open, 'RECOMMENDATION');
    clock.advance(60_000);
    const answer = await trackOne(bid({ itemId: lot, sessionId }));
    expect(answer.outcome).toBe('ACCEPTED');
    expect(answer.firstTouch).toMatchObject({ type: 'IMPRESSION', source: 'HOME', position: 2 });
    expect(answer.lastTouch).toMatchObject({ type: 'CLICK', source: 'RECOMMENDATION', position: 2 });
    const window = { from: new Date(clock.now().getTime() - 14 * DAY), to: clock.now() };
    expect(answered(answer)).toEqual(await recount(sessionId, lot, window.from, window.to));
    // Stored with the conversion, so funnels never join the raw events.
    const stored = await conversions().findOne({
      eventId: (await conversions().find({ sessionId }).toArray())[0]!.eventId,
    });
    expect(stored!.firstTouch).toMatchObject({ type: 'IMPRESSION', source: 'HOME' });
    expect(stored!.lastTouch).toMatchObject({ type: 'CLICK', source: 'RECOMMENDATION' });
  });

  it('carries the experiment and variant of the touch it is attributed to', async () => {
    const sessionId = unique('s');
    const lot = await createLot({ endsInMs: 10 * DAY });
    const events = [{ itemId: lot, sessionId, source: 'SEARCH' as const, experiment: 'hero', variant: 'wide' }];
    expect((await execute(app, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions.accepted).toBe(1);
    clock.advance(60_000);
    await click(sessionId, lot);
    clock.advance(60_000);
    const answer = await trackOne(bid({ itemId: lot, sessionId }));
    expect(answer.firstTouch).toMatchObject({ type: 'IMPRESSION', experiment: 'hero', variant: 'wide' });
    expect(answer.lastTouch).toMatchObject({ type: 'CLICK', experiment: null, variant: null });
    const stored = await conversions().findOne({ sessionId });
    expect(stored!.firstTouch).toMatchObject({ experiment: 'hero', variant: 'wide' });
    expect(stored!.lastTouch).not.toHaveProperty('experiment');
  });

  it('leaves a conversion without touches unattributed, and ignores touches older than the 14-day window', async () => {
    const lot = await createLot({ endsInMs: 30 * DAY });
    const sessionId = unique('s');
    expect(await trackOne(bid({ itemId: lot, sessionId }))).toMatchObject({ firstTouch: null, lastTouch: null });
    await impression(sessionId, lot, 'HOME');
    clock.advance(14 * DAY + 1);
    const late = await trackOne(bid({ itemId: lot, sessionId }));
    expect(late).toMatchObject({ outcome: 'ACCEPTED', firstTouch: null, lastTouch: null });
    await impression(sessionId, lot, 'SEARCH');
    const inWindow = await trackOne(bid({ itemId: lot, sessionId }));
    expect(inWindow.firstTouch).toMatchObject({ source: 'SEARCH' });
  });

  it('closes the window with the lot: a purchase paid after the end is attributed to touches before it ended only', async () => {
    const lot = await createLot({ endsInMs: HOUR });
    const sessionId = unique('s');
    await impression(sessionId, lot, 'SEARCH');
    clock.advance(2 * HOUR);
    // Seen again on the ended lot's page: not part of the lot's window.
    await impression(sessionId, lot, 'HOME');
    const paid = await trackOne({
      eventId: unique('p'),
      kind: 'PURCHASE',
      itemId: lot,
      sessionId,
      amount: { amount: 20_000, currency: 'EUR' },
    });
    expect(paid.outcome).toBe('ACCEPTED');
    expect(paid.firstTouch).toMatchObject({ source: 'SEARCH' });
    expect(paid.lastTouch).toMatchObject({ source: 'SEARCH' });
  });
});

describe('erasure', () => {
  it("eraseSubject removes a user's conversions and those of the sessions the user was seen in, and nothing else", async () => {
    const sessionA = unique('s');
    const sessionB = unique('s');
    const mine = [
      bid({ sessionId: sessionA, userId: 'erase-me' }),
      // The same session before sign-in: no user id, the same person.
      { eventId: unique('v'), kind: 'ITEM_VIEW' as const, itemId: lots.open, sessionId: sessionA },
    ];
    const others = [bid({ sessionId: sessionB, userId: 'keep-me' })];
    const response = await track([...mine, ...others]);
    expect(response.data!.trackConversions.accepted).toBe(3);
    const erased: GraphQLResponse<{ eraseSubject: { conversions: number } }> = await execute(
      app,
      EraseSubjectDocument,
      { userId: 'erase-me' },
      as('ADMIN'),
    );
    expect(erased.errors).toBeUndefined();
    expect(erased.data!.eraseSubject.conversions).toBe(2);
    expect(await conversions().countDocuments({ sessionId: sessionA })).toBe(0);
    expect(await conversions().countDocuments({ sessionId: sessionB })).toBe(1);
    const bySession = await execute(app, EraseSubjectDocument, { sessionId: sessionB }, as('ADMIN'));
    expect(bySession.data!.eraseSubject).toMatchObject({ sessions: 1, conversions: 1 });
    expect(await conversions().countDocuments({ sessionId: sessionB })).toBe(0);
  });
});
