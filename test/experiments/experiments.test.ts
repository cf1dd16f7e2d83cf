import { ManualClock } from '../../src/shared/clock';
import {
  chanceToBeatControl,
  conversionDifference,
  cupedConversionDifference,
  type VariantSums,
} from '../../src/experiments/statistics';
import {
  DefineExperimentDocument,
  EraseSubjectDocument,
  ExperimentsDocument,
  ExperimentResultsDocument,
  TrackClicksDocument,
  TrackConversionsDocument,
  TrackImpressionsDocument,
  type ConversionInput,
  type ImpressionInput,
} from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';
import { executeOverWebsocket } from '../support/websocket';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const clock = new ManualClock('2026-05-04T09:00:00.000Z');
let app: TestApp;
const keys = { ADMIN: '', ANALYST: '', INGEST: '' };
const lots: string[] = [];
let counter = 0;

/** What the test did with one session in the experiment "hero": recounted by hand below. */
interface SessionPlan {
  readonly sessionId: string;
  readonly variants: string[];
  pre: number;
  impressions: number;
  clicks: number;
  /** A BID after the exposure. */
  bidAfter: boolean;
}
const plans: SessionPlan[] = [];

function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

async function impressions(events: ImpressionInput[]) {
  const answer = await execute(app, TrackImpressionsDocument, { events }, BROWSER);
  expect(answer.errors).toBeUndefined();
  return answer.data!.trackImpressions;
}

async function conversions(events: ConversionInput[]) {
  const answer = await execute(app, TrackConversionsDocument, { events }, { authorization: `Bearer ${keys.INGEST}` });
  expect(answer.errors).toBeUndefined();
  expect(answer.data!.trackConversions.events.map((event) => event.outcome)).toEqual(events.map(() => 'ACCEPTED'));
}

const bid = (sessionId: string, occurredAt: Date): ConversionInput =>
  ({
    itemId: lots[0]!,
    eventId: `exp-bid-${++counter}`,
    kind: 'BID',
    sessionId,
    amount: { amount: 2_000, currency: 'EUR' },
    occurredAt: occurredAt.toISOString(),
  }) as ConversionInput;

/** Takes in what was tracked (the funnel builder keeps the exposures), past its settle delay. */
async function build() {
  clock.advance(10 * MINUTE);
  await app.services.funnels.catchUp();
}

/** Defines an experiment as an ANALYST does; fails the test on any error. */
async function define(key: string, variants: Array<string | { name: string; weight: number }>, control?: string) {
  const answer = await execute(
    app,
    DefineExperimentDocument,
    {
      input: {
        key,
        variants: variants.map((variant) => (typeof variant === 'string' ? { name: variant } : variant)),
        ...(control ? { control } : {}),
      },
    },
    { authorization: `Bearer ${keys.ANALYST}` },
  );
  expect(answer.errors).toBeUndefined();
  return answer.data!.defineExperiment;
}

function results(experiment: string, control?: string, conversion?: 'BID' | 'WATCH') {
  return execute(
    app,
    ExperimentResultsDocument,
    { experiment, ...(control ? { control } : {}), ...(conversion ? { conversion } : {}) } as never,
    { authorization: `Bearer ${keys.ANALYST}` },
  );
}

/** The sums of one variant, recounted from the plans (sessions seen in one variant only). */
function recount(variant: string): VariantSums {
  const sessions = plans.filter((plan) => plan.variants.length === 1 && plan.variants[0] === variant);
  const sum = (value: (plan: SessionPlan) => number) => sessions.reduce((total, plan) => total + value(plan), 0);
  return {
    sessions: sessions.length,
    impressions: sum((plan) => plan.impressions),
    impressionsSquares: sum((plan) => plan.impressions ** 2),
    clicks: sum((plan) => plan.clicks),
    clicksSquares: sum((plan) => plan.clicks ** 2),
    impressionsClicks: sum((plan) => plan.impressions * plan.clicks),
    conversions: sum((plan) => (plan.bidAfter ? 1 : 0)),
    pre: sum((plan) => plan.pre),
    preSquares: sum((plan) => plan.pre ** 2),
    preConversions: sum((plan) => (plan.bidAfter ? plan.pre : 0)),
  };
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: {
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      TRACKING_MAX_BATCH: '200',
      // Live results read again once per build round: a second here.
      FUNNEL_REFRESH_MS: '1000',
    },
    periodicJobs: false,
  });
  for (const role of ['ADMIN', 'ANALYST', 'INGEST'] as const)
    keys[role] = (await app.services.auth.createKey({ role })).key;
  for (let index = 0; index < 5; index++)
    lots.push(
      (
        await app.services.catalog.createItem({
          title: `Experiment lot ${index}`,
          category: 'lamps',
          sellerId: 'seller-x',
          startingPrice: { amount: 1_000, currency: 'EUR' },
          startsAt: new Date(clock.now().getTime() - HOUR),
          endsAt: new Date(clock.now().getTime() + 30 * DAY),
        } as never)
      ).id,
    );

  await define('hero', ['control', 'wide-cards']);
  // 80 sessions: untagged impressions first (their engagement before the exposure), then tagged
  // impressions and clicks on other lots; some bid before the exposure (not a conversion of the
  // experiment), some after; four are seen in both variants (left out).
  const next = random(7);
  for (let index = 0; index < 80; index++) {
    const variant = next() < 0.5 ? 'control' : 'wide-cards';
    plans.push({
      sessionId: `exp-${index}`,
      variants: index % 20 === 3 ? [variant, variant === 'control' ? 'wide-cards' : 'control'] : [variant],
      pre: 0,
      impressions: 0,
      clicks: 0,
      bidAfter: false,
    });
  }
  const untagged: ImpressionInput[] = [];
  const bidsBefore: ConversionInput[] = [];
  for (const plan of plans) {
    plan.pre = Math.floor(next() * 3);
    for (let shown = 0; shown < plan.pre; shown++)
      untagged.push({ itemId: lots[shown]!, sessionId: plan.sessionId, source: 'HOME' } as ImpressionInput);
    if (next() < 0.2) bidsBefore.push(bid(plan.sessionId, clock.now()));
  }
  await impressions(untagged);
  await conversions(bidsBefore);
  // Well before the exposure: beyond the minute a conversion may precede it (see the timing test).
  clock.advance(5 * MINUTE);
  const tagged: ImpressionInput[] = [];
  const clicks: ImpressionInput[] = [];
  for (const plan of plans) {
    // Tagged lots come after the untagged ones (lots 3 and 4): another impression of a lot within
    // the dedup window would be a DUPLICATE.
    plan.impressions = 1 + Math.floor(next() * 2);
    for (let shown = 0; shown < plan.impressions; shown++) {
      const event = {
        itemId: lots[3 + shown]!,
        sessionId: plan.sessionId,
        source: 'SEARCH',
        experiment: 'hero',
        variant: plan.variants[shown % plan.variants.length]!,
      } as ImpressionInput;
      tagged.push(event);
      if (next() < 0.4 + (plan.variants[0] === 'wide-cards' ? 0.2 : 0)) {
        clicks.push(event);
        plan.clicks++;
      }
    }
  }
  // Seen in both variants: its second tagged impression is of the other variant.
  for (const plan of plans.filter((each) => each.variants.length === 2 && each.impressions === 1)) {
    tagged.push({
      itemId: lots[4]!,
      sessionId: plan.sessionId,
      source: 'SEARCH',
      experiment: 'hero',
      variant: plan.variants[1]!,
    } as ImpressionInput);
    plan.impressions++;
  }
  expect((await impressions(tagged)).accepted).toBe(tagged.length);
  clock.advance(MINUTE);
  const clicked = await execute(app, TrackClicksDocument, { events: clicks }, BROWSER);
  expect(clicked.data!.trackClicks.accepted).toBe(clicks.length);
  clock.advance(HOUR);
  const bidsAfter: ConversionInput[] = [];
  for (const plan of plans)
    if (next() < 0.25 + (plan.variants[0] === 'wide-cards' ? 0.25 : 0)) {
      plan.bidAfter = true;
      bidsAfter.push(bid(plan.sessionId, clock.now()));
    }
  await conversions(bidsAfter);
  await build();
});
afterAll(() => app.stop());

describe('experimentResults', () => {
  it('counts each variant’s sessions, tagged impressions and clicks, and conversions after exposure, as a recount', async () => {
    const answer = await results('hero');
    expect(answer.errors).toBeUndefined();
    const hero = answer.data!.experimentResults;
    expect(hero.control).toBe('control');
    expect(hero.conflictedSessions).toBe(plans.filter((plan) => plan.variants.length === 2).length);
    expect(hero.conflictedSessions).toBeGreaterThan(0);
    for (const variant of hero.variants) {
      const sums = recount(variant.variant);
      expect(sums.sessions).toBeGreaterThan(10);
      expect(variant).toMatchObject({
        sessions: sums.sessions,
        impressions: sums.impressions,
        clicks: sums.clicks,
        conversions: sums.conversions,
        clickThroughRate: sums.clicks / sums.impressions,
        conversionRate: sums.conversions / sums.sessions,
      });
      // The variant's funnel by session: clicked, then each conversion kind after the exposure.
      const mine = plans.filter((plan) => plan.variants.length === 1 && plan.variants[0] === variant.variant);
      const clicked = mine.filter((plan) => plan.clicks > 0).length;
      expect(variant.funnel).toEqual([
        { step: 'CLICK', sessions: clicked, share: clicked / mine.length },
        { step: 'ITEM_VIEW', sessions: 0, share: 0 },
        { step: 'WATCH', sessions: 0, share: 0 },
        { step: 'BID', sessions: sums.conversions, share: sums.conversions / mine.length },
        { step: 'PURCHASE', sessions: 0, share: 0 },
      ]);
    }
    expect(hero.variants.map((variant) => variant.variant)).toEqual(['control', 'wide-cards']);
  });

  it('compares with control from the recounted sums: interval, CUPED with engagement before exposure, chance to beat', async () => {
    const hero = (await results('hero')).data!.experimentResults;
    const [control, treatment] = [recount('control'), recount('wide-cards')];
    expect(hero.variants[0]!.versusControl).toBeNull();
    const versus = hero.variants[1]!.versusControl!;
    expect(versus.conversion).toEqual(conversionDifference(control, treatment));
    expect(versus.cupedConversion).toEqual(cupedConversionDifference(control, treatment));
    expect(versus.chanceToBeatControl).toBe(chanceToBeatControl(control, treatment));
    // The always-valid interval contains the fixed-horizon one.
    expect(versus.sequentialConversion!.low).toBeLessThan(versus.conversion!.low);
    expect(versus.sequentialConversion!.high).toBeGreaterThan(versus.conversion!.high);
    // Bids before the exposure did not count: the engagement before it did go into CUPED's theta.
    expect(versus.cupedConversion!.value).not.toBe(versus.conversion!.value);
  });

  it('compares the other way round with another control, and for another conversion kind', async () => {
    const flipped = (await results('hero', 'wide-cards')).data!.experimentResults;
    expect(flipped.variants.map((variant) => variant.variant)).toEqual(['wide-cards', 'control']);
    expect(flipped.variants[1]!.versusControl!.conversion!.value).toBeCloseTo(
      -(await results('hero')).data!.experimentResults.variants[1]!.versusControl!.conversion!.value,
      12,
    );
    const watches = (await results('hero', undefined, 'WATCH')).data!.experimentResults;
    expect(watches.conversion).toBe('WATCH');
    expect(watches.variants.map((variant) => variant.conversions)).toEqual([0, 0]);
    expect(watches.variants[1]!.versusControl!.conversion).toBeNull();
  });

  it('flags a split far from the planned weights (sample ratio mismatch), not one that follows them', async () => {
    const hero = (await results('hero')).data!.experimentResults;
    expect(hero.sampleRatio.mismatch).toBe(false);
    // 90 sessions in one arm, 10 in the other: broken for an even split, as planned for 90/10.
    await define('skewed', ['control', 'new-checkout']);
    await define('planned', [
      { name: 'control', weight: 90 },
      { name: 'new-checkout', weight: 10 },
    ]);
    for (const experiment of ['skewed', 'planned'])
      await impressions(
        Array.from({ length: 100 }, (_, index) => ({
          itemId: lots[1]!,
          sessionId: `${experiment}-${index}`,
          source: 'HOME',
          experiment,
          variant: index < 90 ? 'control' : 'new-checkout',
        })) as ImpressionInput[],
      );
    await build();
    const skewed = (await results('skewed')).data!.experimentResults;
    expect(skewed.variants.map((variant) => variant.sessions)).toEqual([90, 10]);
    expect(skewed.sampleRatio.mismatch).toBe(true);
    expect(skewed.sampleRatio.pValue).toBeLessThan(0.001);
    const planned = (await results('planned')).data!.experimentResults;
    expect(planned.variants.map((variant) => variant.sessions)).toEqual([90, 10]);
    expect(planned.sampleRatio).toEqual({ pValue: 1, mismatch: false });
  });

  it('counts declared variants of defined experiments only: a client’s own tags change nothing', async () => {
    // Tracking is public: any client may send any experiment and variant names.
    await define('sprawl', ['a', 'b'], 'b');
    const events = [
      ...['a', 'a', 'b'].map((variant) => ({ variant, experiment: 'sprawl' })),
      // A rogue variant (which would sort first, and skew the split), and experiments nobody defined.
      ...Array.from({ length: 30 }, () => ({ variant: '0', experiment: 'sprawl' })),
      ...Array.from({ length: 30 }, (_, index) => ({ variant: 'x', experiment: `undefined-${index}` })),
    ].map((tag, index) => ({
      itemId: lots[2]!,
      sessionId: `sprawl-${index}`,
      source: 'HOME',
      ...tag,
    })) as ImpressionInput[];
    expect((await impressions(events)).accepted).toBe(events.length);
    await build();
    const sprawl = (await results('sprawl')).data!.experimentResults;
    expect(sprawl.control).toBe('b');
    expect(sprawl.variants.map((variant) => [variant.variant, variant.sessions])).toEqual([
      ['b', 1],
      ['a', 2],
    ]);
    expect(sprawl.sampleRatio.mismatch).toBe(false);
    const exposures = app.database.connection.collection('experiment_exposures');
    expect(await exposures.countDocuments({ experiment: /^undefined-/ })).toBe(0);
    expect(await exposures.countDocuments({ experiment: 'sprawl', variant: '0' })).toBe(0);
    expect(errorCodes(await results('undefined-3'))).toEqual(['NOT_FOUND']);
  });

  it('counts a conversion the backend dated up to a minute before the tracked exposure, not earlier', async () => {
    // The exposure is stamped when the tracker's batch arrives; the backend dates a view at once.
    await define('timing', ['control', 'fast']);
    await impressions(
      ['timing-a', 'timing-b'].map((sessionId) => ({
        itemId: lots[0]!,
        sessionId,
        source: 'HOME',
        experiment: 'timing',
        variant: 'fast',
      })) as ImpressionInput[],
    );
    await conversions([
      bid('timing-a', new Date(clock.now().getTime() - 30_000)),
      bid('timing-b', new Date(clock.now().getTime() - 2 * MINUTE)),
    ]);
    await build();
    const timing = (await results('timing')).data!.experimentResults;
    expect(timing.variants.find((variant) => variant.variant === 'fast')).toMatchObject({
      sessions: 2,
      conversions: 1,
    });
  });

  it('refuses a definition that cannot be one, saying what to fix', async () => {
    const attempt = (input: Record<string, unknown>) =>
      execute(app, DefineExperimentDocument, { input } as never, { authorization: `Bearer ${keys.ANALYST}` });
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ key: 'hero banner', variants: [{ name: 'a' }, { name: 'b' }] }, 'key', /key must be 1 to 64/],
      [{ key: 'one', variants: [{ name: 'a' }] }, 'variants', /2 to 20 variants/],
      [{ key: 'many', variants: Array.from({ length: 21 }, (_, i) => ({ name: `v${i}` })) }, 'variants', /2 to 20/],
      [{ key: 'twice', variants: [{ name: 'a' }, { name: 'a' }] }, 'variants', /named once/],
      [{ key: 'spaces', variants: [{ name: 'a b' }, { name: 'c' }] }, 'variants', /variant name must be/],
      [{ key: 'zero', variants: [{ name: 'a', weight: 0 }, { name: 'b' }] }, 'variants', /weight must be above 0/],
      [{ key: 'negative', variants: [{ name: 'a', weight: -1 }, { name: 'b' }] }, 'variants', /weight/],
      [{ key: 'huge', variants: [{ name: 'a', weight: 1e12 }, { name: 'b' }] }, 'variants', /at most/],
      [
        { key: 'nobody', variants: [{ name: 'a' }, { name: 'b' }], control: 'c' },
        'control',
        /one of the variants: a, b/,
      ],
    ];
    for (const [input, field, message] of cases) {
      const answer = await attempt(input);
      expect(errorCodes(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors![0]!.extensions?.field).toBe(field);
      expect(answer.errors![0]!.message).toMatch(message);
    }
    const listed = await execute(app, ExperimentsDocument, {}, { authorization: `Bearer ${keys.ANALYST}` });
    expect(listed.data!.experiments.map((experiment) => experiment.key)).not.toContain('twice');
    expect(listed.data!.experiments.find((experiment) => experiment.key === 'hero')).toEqual({
      key: 'hero',
      variants: [
        { name: 'control', weight: 1 },
        { name: 'wide-cards', weight: 1 },
      ],
      control: 'control',
    });
  });

  it('pushes results live over graphql-ws: null before it is defined, then the figures once built', async () => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${keys.ANALYST}` },
    });
    const received: Array<{ variants: Array<{ variant: string; sessions: number }> } | null> = [];
    const unsubscribe = client.subscribe<{
      experimentResultsUpdated: { variants: Array<{ variant: string; sessions: number }> } | null;
    }>(
      { query: 'subscription { experimentResultsUpdated(experiment: "live-exp") { variants { variant sessions } } }' },
      {
        next: (result) =>
          received.push(result.errors ? (result.errors as never) : result.data!.experimentResultsUpdated),
        error: (error) => received.push(error as never),
        complete: () => undefined,
      },
    );
    /** Waits for the `count`th message (the test's timeout bounds it). */
    const nextMessage = async (count: number) => {
      while (received.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    try {
      await nextMessage(1);
      expect(received[0]).toBeNull();
      await define('live-exp', ['control', 'treatment']);
      await impressions(
        ['control', 'treatment', 'treatment'].map((variant, index) => ({
          itemId: lots[1]!,
          sessionId: `live-exp-${index}`,
          source: 'HOME',
          experiment: 'live-exp',
          variant,
        })) as ImpressionInput[],
      );
      await build();
      await nextMessage(2);
      expect(received[1]!.variants).toEqual([
        { variant: 'control', sessions: 1 },
        { variant: 'treatment', sessions: 2 },
      ]);
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });

  it('refuses a live subscription to a malformed key before it opens, and to a SELLER key', async () => {
    const sellerKey = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-x' })).key;
    for (const [key, experiment, code] of [
      [keys.ANALYST, 'hero banner', 'BAD_USER_INPUT'],
      [sellerKey, 'hero', 'FORBIDDEN'],
    ] as const) {
      const answer = await executeOverWebsocket(
        app,
        parse(`subscription { experimentResultsUpdated(experiment: "${experiment}") { control } }`),
        {},
        { connectionParams: { authorization: `Bearer ${key}` } },
      );
      expect(answer.errors?.map((error) => error.extensions?.code)).toEqual([code]);
    }
  });

  it('refuses a malformed key, an unknown experiment and a control that is no variant, saying what to fix', async () => {
    const malformed = await results('hero banner');
    expect(errorCodes(malformed)).toEqual(['BAD_USER_INPUT']);
    expect(malformed.errors![0]!.message).toMatch(/1 to 64 letters/);
    expect(errorCodes(await results('x'.repeat(65)))).toEqual(['BAD_USER_INPUT']);
    const unknown = await results('never-tagged');
    expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
    expect(unknown.errors![0]!.message).toMatch(/define it with defineExperiment/);
    const control = await results('hero', 'nobody');
    expect(errorCodes(control)).toEqual(['BAD_USER_INPUT']);
    expect(control.errors![0]!.message).toMatch(/control must be one of the variants: control, wide-cards/);
  });

  it('refuses tracking events with half a tag or a hostile one, and keeps nothing of it', async () => {
    const sent = [
      { experiment: 'hero' },
      { variant: 'control' },
      { experiment: 'hero', variant: 'x'.repeat(65) },
      { experiment: 'hero banner', variant: 'control' },
      { experiment: '$where', variant: 'control' },
    ];
    const answer = await impressions(
      sent.map(
        (tag, index) =>
          ({ itemId: lots[2]!, sessionId: `hostile-${index}`, source: 'HOME', ...tag }) as ImpressionInput,
      ),
    );
    expect(answer.events.map((event) => event.outcome)).toEqual(sent.map(() => 'INVALID'));
    expect(answer.events[0]!.reason).toMatch(/experiment and variant go together/);
    expect(answer.events[2]!.reason).toMatch(/1 to 64 letters/);
    const stored = await app.database.connection
      .collection('tracking_events')
      .find({ sessionId: /^hostile-/ })
      .toArray();
    expect(stored).toHaveLength(sent.length);
    expect(stored.filter((event) => 'experiment' in event || 'variant' in event)).toEqual([]);
  });

  it('erases a session’s exposures; the variant sums drop it when the experiment next gets events', async () => {
    const erased = plans.find((plan) => plan.variants.length === 1 && plan.variants[0] === 'control')!;
    const answer = await execute(
      app,
      EraseSubjectDocument,
      { sessionId: erased.sessionId },
      { authorization: `Bearer ${keys.ADMIN}` },
    );
    expect(answer.data!.eraseSubject.experimentExposures).toBe(1);
    plans.splice(plans.indexOf(erased), 1);
    const newcomer: SessionPlan = {
      sessionId: 'exp-late',
      variants: ['wide-cards'],
      pre: 0,
      impressions: 1,
      clicks: 0,
      bidAfter: false,
    };
    plans.push(newcomer);
    await impressions([
      { itemId: lots[0]!, sessionId: newcomer.sessionId, source: 'HOME', experiment: 'hero', variant: 'wide-cards' },
    ] as ImpressionInput[]);
    await build();
    const hero = (await results('hero')).data!.experimentResults;
    expect(hero.variants.map((variant) => [variant.variant, variant.sessions, variant.conversions])).toEqual(
      ['control', 'wide-cards'].map((variant) => [variant, recount(variant).sessions, recount(variant).conversions]),
    );
  });
});
