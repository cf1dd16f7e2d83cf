import { startOfWeek } from '../../src/cohorts/cohorts';
import { ManualClock } from '../../src/shared/clock';
import { EraseSubjectDocument, TrackConversionsDocument, type ConversionInput } from '../generated/graphql';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const WEEKS = 6;
// A Monday, noon UTC.
const START = new Date('2026-03-02T12:00:00.000Z');
const clock = new ManualClock(START.toISOString());
let app: TestApp;
const keys = { ADMIN: '', ANALYST: '', INGEST: '' };
let lot = '';
let endedLot = '';
let counter = 0;

/** A bidder as the test drives it: a user, or a session without one. */
interface Bidder {
  readonly name: string;
  readonly userId?: string;
  readonly sessionId: string;
}

/** Every accepted bid, by bidder name: the week index (0 = the week of START) of each. */
const bidWeeks = new Map<string, Set<number>>();

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

async function report(events: ConversionInput[]) {
  const answer = await execute(app, TrackConversionsDocument, { events }, { authorization: `Bearer ${keys.INGEST}` });
  expect(answer.errors).toBeUndefined();
  return answer.data!.trackConversions.events.map((event) => event.outcome);
}

function bid(bidder: Bidder, at: Date, itemId = lot): ConversionInput {
  return {
    itemId,
    eventId: `bid-${++counter}`,
    kind: 'BID',
    sessionId: bidder.sessionId,
    ...(bidder.userId ? { userId: bidder.userId } : {}),
    amount: { amount: 1_000 + counter, currency: 'EUR' },
    occurredAt: at.toISOString(),
  } as ConversionInput;
}

type Cohorts = {
  cohorts: Array<{
    week: string;
    bidders: number;
    retention: Array<{ weeksLater: number; bidders: number; share: number }>;
  }>;
  lifecycle: Array<{
    week: string;
    active: number;
    new: number;
    returning: number;
    resurrecting: number;
    dormant: number;
  }>;
};

/** A time in the last week the test bids in. */
const LAST_WEEK = new Date(START.getTime() + (WEEKS - 1) * WEEK).toISOString();

async function cohortsQuery(args = `weeks: ${WEEKS}, through: "${LAST_WEEK}"`, role: keyof typeof keys = 'ANALYST') {
  return postRaw<{ bidderCohorts: Cohorts }>(
    app,
    {
      query: `{ bidderCohorts(${args}) { cohorts { week bidders retention { weeksLater bidders share } } lifecycle { week active new returning resurrecting dormant } } }`,
    },
    { authorization: `Bearer ${keys[role]}` },
  );
}

/** The expected answer, recounted from the bids the test made, week by week. */
function recount(): Cohorts {
  const weekOf = (index: number) => new Date(startOfWeek(START).getTime() + index * WEEK).toISOString();
  const firstWeek = (weeks: Set<number>) => Math.min(...weeks);
  const cohorts: Cohorts['cohorts'] = [];
  const lifecycle: Cohorts['lifecycle'] = [];
  for (let week = 0; week < WEEKS; week++) {
    const members = [...bidWeeks.values()].filter((weeks) => firstWeek(weeks) === week);
    const retention = [];
    for (let later = 0; week + later < WEEKS; later++) {
      const again = members.filter((weeks) => weeks.has(week + later)).length;
      retention.push({ weeksLater: later, bidders: again, share: members.length === 0 ? 0 : again / members.length });
    }
    cohorts.push({ week: weekOf(week), bidders: members.length, retention });
    let active = 0;
    let fresh = 0;
    let returning = 0;
    let resurrecting = 0;
    let dormant = 0;
    for (const weeks of bidWeeks.values()) {
      if (weeks.has(week)) {
        active++;
        if (firstWeek(weeks) === week) fresh++;
        else if (weeks.has(week - 1)) returning++;
        else resurrecting++;
      } else if (weeks.has(week - 1)) dormant++;
    }
    lifecycle.push({ week: weekOf(week), active, new: fresh, returning, resurrecting, dormant });
  }
  return { cohorts, lifecycle };
}

/** Takes in everything reported (the funnel builder records the bidders), past its settle delay. */
async function build() {
  clock.advance(10 * 60_000);
  await app.services.funnels.catchUp();
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: { GAVEL_SEED_DEMO: 'false', AUTH_MODE: 'keys', TRACKING_MAX_BATCH: '100' },
    periodicJobs: false,
  });
  for (const role of ['ADMIN', 'ANALYST', 'INGEST'] as const)
    keys[role] = (await app.services.auth.createKey({ role })).key;
  const create = async (endsInMs: number) =>
    (
      await app.services.catalog.createItem({
        title: 'A cohort test lot',
        category: 'clocks',
        sellerId: 'seller-c',
        startingPrice: { amount: 500, currency: 'EUR' },
        startsAt: new Date(START.getTime() - HOUR),
        endsAt: new Date(START.getTime() + endsInMs),
      } as never)
    ).id;
  lot = await create(90 * DAY);
  endedLot = await create(HOUR);

  // 40 bidders over 6 weeks, each with its own rhythm; a third bid without a user id.
  const next = random(23);
  const bidders: Bidder[] = Array.from({ length: 40 }, (_, index) => ({
    name: `b${index}`,
    sessionId: `cohort-session-${index}`,
    ...(index % 3 === 0 ? {} : { userId: `cohort-user-${index}` }),
  }));
  const rhythm = bidders.map(() => next());
  for (let week = 0; week < WEEKS; week++) {
    const events: ConversionInput[] = [];
    bidders.forEach((bidder, index) => {
      // Some bidders start late, some stop, some come back.
      if (week < index % 4 || next() > rhythm[index]!) return;
      const times = 1 + Math.floor(next() * 3);
      for (let time = 0; time < times; time++) {
        // Within the week so far (the clock is at the week's Sunday evening when reporting).
        const at = new Date(startOfWeek(clock.now()).getTime() + Math.floor(next() * 6 * DAY));
        events.push(bid(bidder, at));
      }
      let weeks = bidWeeks.get(bidder.name);
      if (!weeks) bidWeeks.set(bidder.name, (weeks = new Set()));
      weeks.add(week);
    });
    // The last instant of a week counts in that week, the first of the next in the next.
    if (week === 1) {
      const edge: Bidder = { name: 'edge', userId: 'cohort-edge', sessionId: 'cohort-edge-s' };
      events.push(bid(edge, new Date(startOfWeek(clock.now()).getTime() + WEEK - 1)));
      bidWeeks.set('edge', new Set([1]));
    }
    clock.set(new Date(startOfWeek(clock.now()).getTime() + WEEK - 1 + (week === 1 ? 1 : 0)));
    if (week === 1) {
      const edge: Bidder = { name: 'edge', userId: 'cohort-edge', sessionId: 'cohort-edge-s' };
      events.push(bid(edge, clock.now()));
      bidWeeks.get('edge')!.add(2);
    }
    expect(new Set(await report(events))).toEqual(new Set(['ACCEPTED']));
    await build();
  }
  // Refused bids and other kinds make no bidder: a bid on a lot that ended, a watch.
  const stranger: Bidder = { name: 'stranger', userId: 'cohort-stranger', sessionId: 'cohort-stranger-s' };
  expect(
    await report([
      bid(stranger, clock.now(), endedLot),
      {
        itemId: lot,
        eventId: `watch-${++counter}`,
        kind: 'WATCH',
        sessionId: stranger.sessionId,
        userId: 'cohort-stranger',
      } as ConversionInput,
    ]),
  ).toEqual(['INVALID', 'ACCEPTED']);
  await build();
});
afterAll(() => app.stop());

describe('bidderCohorts', () => {
  it('gives each week’s cohort its retention row and each week its lifecycle, as a recount of the bids', async () => {
    const answer = await cohortsQuery();
    expect(answer.errors).toBeUndefined();
    const expected = recount();
    // The data is varied enough to test something: every kind of lifecycle count occurs.
    for (const kind of ['new', 'returning', 'resurrecting', 'dormant'] as const)
      expect(expected.lifecycle.some((row) => row[kind] > 0)).toBe(true);
    expect(expected.cohorts.filter((row) => row.bidders > 0).length).toBeGreaterThan(2);
    expect(answer.data!.bidderCohorts).toEqual(expected);
  });

  it('ends with the week containing `through` (default: now) and covers `weeks` weeks', async () => {
    const now = await cohortsQuery(`weeks: 3`);
    const named = await cohortsQuery(`weeks: 3, through: "${clock.now().toISOString()}"`);
    expect(named.data).toEqual(now.data);
    const earlier = await cohortsQuery(
      `weeks: 2, through: "${new Date(START.getTime() + 2 * WEEK + DAY).toISOString()}"`,
    );
    const full = recount();
    // Weeks 1 and 2; a week's cohort row stops at the last week asked for.
    expect(earlier.data!.bidderCohorts.cohorts.map((row) => [row.week, row.bidders, row.retention.length])).toEqual([
      [full.cohorts[1]!.week, full.cohorts[1]!.bidders, 2],
      [full.cohorts[2]!.week, full.cohorts[2]!.bidders, 1],
    ]);
    expect(earlier.data!.bidderCohorts.lifecycle).toEqual(full.lifecycle.slice(1, 3));
  });

  it('refuses a number of weeks outside 1..26 and a malformed time, saying what to fix', async () => {
    for (const weeks of [0, -1, 27]) {
      const answer = await cohortsQuery(`weeks: ${weeks}`);
      expect(errorCodes(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors![0]!.message).toMatch(/weeks must be a whole number from 1 to 26/);
    }
    expect(errorCodes(await cohortsQuery('weeks: 2.5'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    for (const through of ['1960-01-04T00:00:00Z', '2300-01-01T00:00:00Z']) {
      const answer = await cohortsQuery(`through: "${through}"`);
      expect(errorCodes(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors![0]!.message).toMatch(/through must be a time between 1970/);
    }
    expect(errorCodes(await cohortsQuery('through: "last tuesday"'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('erases a user’s bidder-weeks and an anonymous session’s, and the cohorts no longer count them', async () => {
    const erase = (variables: { userId?: string; sessionId?: string }) =>
      execute(app, EraseSubjectDocument, variables, { authorization: `Bearer ${keys.ADMIN}` });
    const user = await erase({ userId: 'cohort-user-1' });
    expect(user.errors).toBeUndefined();
    expect(user.data!.eraseSubject.bidderWeeks).toBe(bidWeeks.get('b1')!.size);
    const session = await erase({ sessionId: 'cohort-session-0' });
    expect(session.data!.eraseSubject.bidderWeeks).toBe(bidWeeks.get('b0')!.size);
    bidWeeks.delete('b1');
    bidWeeks.delete('b0');
    expect((await cohortsQuery()).data!.bidderCohorts).toEqual(recount());
  });
});

describe('startOfWeek', () => {
  it('gives the Monday 00:00 UTC on or before any time, before 1970 too', () => {
    for (const iso of [
      '1969-12-31T23:59:59.999Z',
      '1965-03-10T12:00:00Z',
      '1970-01-01T00:00:00Z',
      '2026-12-06T23:59:59.999Z',
    ]) {
      const at = new Date(iso);
      const monday = startOfWeek(at);
      expect(monday.getUTCDay()).toBe(1);
      expect(Math.abs(monday.getTime() % DAY)).toBe(0);
      expect(at.getTime() - monday.getTime()).toBeGreaterThanOrEqual(0);
      expect(at.getTime() - monday.getTime()).toBeLessThan(WEEK);
    }
  });
});
