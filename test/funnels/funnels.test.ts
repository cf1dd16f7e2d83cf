import { createClient } from 'graphql-ws';
import { Types } from 'mongoose';
import WebSocket from 'ws';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { createCohortsRepository } from '../../src/cohorts/cohorts.repository';
import { createExperimentsRepository } from '../../src/experiments/experiments.repository';
import { ExposureRecorder } from '../../src/experiments/exposureRecorder';
import { FunnelBuilder } from '../../src/funnels/funnelBuilder';
import { createFunnelsRepository } from '../../src/funnels/funnels.repository';
import { ManualClock } from '../../src/shared/clock';
import { createLogger } from '../../src/shared/logger';
import {
  EraseSubjectDocument,
  TrackClicksDocument,
  TrackConversionsDocument,
  TrackImpressionsDocument,
} from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WINDOW = 14 * DAY;
const STEPS = ['IMPRESSION', 'CLICK', 'ITEM_VIEW', 'WATCH', 'BID', 'PURCHASE'] as const;
type Step = (typeof STEPS)[number];
const SOURCES = ['SEARCH', 'HOME', 'RECOMMENDATION'] as const;
/** The experiment the web app tags touches with (a dot in its key, as many teams name them). */
const EXPERIMENT = 'lot-page.v2';
const VARIANTS = ['control', 'wide.photos'] as const;
/** What the test's tags may be: declared variants, an undeclared one, an experiment nobody defined. */
type Tag = { experiment: string; variant: string } | undefined;

const START = new Date('2026-03-01T20:00:00.000Z');
const clock = new ManualClock(START.toISOString());
let app: TestApp;
const keys = { ANALYST: '', INGEST: '', SELLER: '' };
/** Lot id → what the recount needs of it. */
const lots = new Map<string, { category: string; sellerId: string; endsAt: number }>();
const lotIds: string[] = [];
const sessions: string[] = [];

/** A pseudo-random generator with a seed, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

async function createLot(category: string, sellerId: string, endsInMs: number) {
  const lot = await app.services.catalog.createItem({
    title: `Funnel lot of ${sellerId}`,
    category,
    sellerId,
    startingPrice: { amount: 1_000, currency: 'EUR' },
    startsAt: new Date(clock.now().getTime() - HOUR),
    endsAt: new Date(clock.now().getTime() + endsInMs),
  } as never);
  lots.set(lot.id, { category, sellerId, endsAt: clock.now().getTime() + endsInMs });
  lotIds.push(lot.id);
}

/** One step of a session on a lot, reported as the web app (tracking) or the backend (conversions) would. */
async function report(step: Step, sessionId: string, itemId: string, source: string, eventId: string, tag?: Tag) {
  if (step === 'IMPRESSION' || step === 'CLICK') {
    const events = [{ itemId, sessionId, source: source as never, position: 1, ...tag }];
    if (step === 'IMPRESSION') await execute(app, TrackImpressionsDocument, { events }, BROWSER);
    else await execute(app, TrackClicksDocument, { events }, BROWSER);
    return;
  }
  const amount = step === 'BID' || step === 'PURCHASE' ? { amount: 5_000, currency: 'EUR' } : null;
  const response = await execute(
    app,
    TrackConversionsDocument,
    { events: [{ eventId, kind: step, itemId, sessionId, amount }] },
    { authorization: `Bearer ${keys.INGEST}` },
  );
  expect(response.errors).toBeUndefined();
}

beforeAll(async () => {
  app = await startTestApp({
    clock,
    env: {
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      FUNNEL_SETTLE_MS: '1000',
      // funnelUpdated reads again once per build round: a second here.
      FUNNEL_REFRESH_MS: '1000',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '100000',
      TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    },
    periodicJobs: false,
  });
  keys.ANALYST = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.INGEST = (await app.services.auth.createKey({ role: 'INGEST' })).key;
  keys.SELLER = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-1' })).key;
  await createLot('watches', 'seller-1', 10 * HOUR);
  await createLot('watches', 'seller-2', 30 * DAY);
  await createLot('cameras', 'seller-1', 30 * DAY);
  const defined = await postRaw(
    app,
    {
      query: `mutation { defineExperiment(input: { key: "${EXPERIMENT}", variants: [{ name: "${VARIANTS[0]}" }, { name: "${VARIANTS[1]}" }] }) { key } }`,
    },
    { authorization: `Bearer ${keys.ANALYST}` },
  );
  expect(defined.errors).toBeUndefined();
  // Most sessions are in a variant, some untagged; a few touches carry an undeclared variant or an
  // experiment nobody defined, and some sessions change variant on a later touch (a web app bug):
  // the first tagged touch of each journey decides. A generator of its own keeps the wandering below as it was.
  const nextTag = random(77);
  const tagOf = (sessionVariant: string | undefined): Tag => {
    const roll = nextTag();
    if (sessionVariant === undefined) return undefined;
    if (roll < 0.05) return { experiment: EXPERIMENT, variant: 'rogue' };
    if (roll < 0.1) return { experiment: 'ghost', variant: 'control' };
    if (roll < 0.15) return { experiment: EXPERIMENT, variant: VARIANTS[roll < 0.125 ? 0 : 1] };
    if (roll < 0.25) return undefined;
    return { experiment: EXPERIMENT, variant: sessionVariant };
  };
  // Sessions wander: each visits some lots and does some steps, in the natural order mostly, not
  // always; a click without an impression is flagged, a bid after a lot ended refused, and lot 0
  // ends part-way, so every rule shows in the counts.
  const next = random(2026);
  let eventCounter = 0;
  for (let index = 0; index < 36; index++) {
    const sessionId = `funnel-s${index}`;
    sessions.push(sessionId);
    const roll = nextTag();
    const sessionVariant = roll < 0.2 ? undefined : VARIANTS[roll < 0.6 ? 0 : 1];
    for (const itemId of lotIds) {
      if (next() < 0.35) continue;
      const steps = STEPS.filter(() => next() < 0.65);
      if (next() < 0.2) steps.reverse();
      for (const step of steps) {
        clock.advance(Math.floor(next() * 25 * MINUTE) + 31_000);
        const source = SOURCES[Math.floor(next() * SOURCES.length)]!;
        await report(step, sessionId, itemId, source, `e${++eventCounter}`, tagOf(sessionVariant));
      }
    }
  }
  clock.advance(2_000);
  await app.services.funnels.catchUp();
}, 240_000);
afterAll(() => app.stop());

interface Recounted {
  journeys: number[];
  medians: Array<number | null>;
}

/**
 * The funnel recounted from the stored raw events, written out plainly: each (session, lot) pair's
 * first time per step, the lot's and the window's rules, the steps in order.
 */
async function recount(
  funnel: readonly Step[],
  options: {
    by?: 'source' | 'category' | 'variant';
    lots?: (lot: { category: string; sellerId: string }) => boolean;
    /** Journeys tagged in EXPERIMENT (a declared variant) only. */
    tagged?: boolean;
  } = {},
): Promise<Map<string, Recounted>> {
  const db = app.database.connection;
  const touches = await db.collection('tracking_events').find({ outcome: 'ACCEPTED' }).toArray();
  const conversions = await db.collection('conversion_events').find().toArray();
  const journeys = new Map<
    string,
    { itemId: string; first: Map<string, number>; sources: Map<string, number>; variants: Map<string, number> }
  >();
  const journeyOf = (itemId: string, sessionId: string) => {
    const key = `${itemId}|${sessionId}`;
    let journey = journeys.get(key);
    if (!journey) journeys.set(key, (journey = { itemId, first: new Map(), sources: new Map(), variants: new Map() }));
    return journey;
  };
  const seen = (journey: { first: Map<string, number> }, step: string, at: number) =>
    journey.first.set(step, Math.min(journey.first.get(step) ?? Infinity, at));
  for (const event of touches) {
    const journey = journeyOf(String(event.itemId), event.sessionId as string);
    const at = (event.receivedAt as Date).getTime();
    seen(journey, event.type as string, at);
    journey.sources.set(event.source as string, Math.min(journey.sources.get(event.source as string) ?? Infinity, at));
    const variant = event.variant as string | undefined;
    if (event.experiment === EXPERIMENT && (VARIANTS as readonly unknown[]).includes(variant))
      journey.variants.set(variant!, Math.min(journey.variants.get(variant!) ?? Infinity, at));
  }
  for (const event of conversions)
    seen(
      journeyOf(String(event.itemId), event.sessionId as string),
      event.kind as string,
      (event.occurredAt as Date).getTime(),
    );

  const groups = new Map<string, { journeys: number[]; durations: number[][] }>();
  for (const journey of journeys.values()) {
    const lot = lots.get(journey.itemId)!;
    if (options.lots && !options.lots(lot)) continue;
    const counted = new Map([...journey.first].filter(([step, at]) => step === 'PURCHASE' || at < lot.endsAt));
    if (counted.size === 0) continue;
    const start = Math.min(...counted.values());
    for (const [step, at] of counted) if (at > start + WINDOW) counted.delete(step);
    const first = (times: Map<string, number>) =>
      [...times].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]?.[0];
    const variant = first(journey.variants);
    if ((options.tagged || options.by === 'variant') && variant === undefined) continue;
    const key =
      options.by === 'source'
        ? (first(journey.sources) ?? 'NONE')
        : options.by === 'category'
          ? lot.category
          : options.by === 'variant'
            ? variant!
            : 'all';
    // Each step in order, no earlier than the one before; a journey without the first is not in the funnel.
    const reached: number[] = [];
    for (const step of funnel) {
      const at = counted.get(step);
      if (at === undefined || at < (reached.at(-1) ?? -Infinity)) break;
      reached.push(at);
    }
    if (reached.length === 0) continue;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { journeys: funnel.map(() => 0), durations: funnel.map(() => []) }));
    reached.forEach((at, index) => {
      group.journeys[index]!++;
      if (index > 0) group.durations[index]!.push(at - reached[index - 1]!);
    });
  }
  const median = (values: number[]) => {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.ceil(sorted.length / 2) - 1]!;
  };
  return new Map(
    [...groups].map(([key, group]) => [key, { journeys: group.journeys, medians: group.durations.map(median) }]),
  );
}

interface StepFigures {
  step: string;
  journeys: number;
  conversionFromPrevious: number | null;
  medianSecondsFromPrevious: number | null;
}

/** Compares a funnel's steps with the recount: exact counts, medians within 10 % or a second. */
function expectMatches(steps: StepFigures[], expected: Recounted | undefined, funnel: readonly Step[]) {
  expect(steps.map((step) => step.step)).toEqual(funnel);
  expect(steps.map((step) => step.journeys)).toEqual(expected?.journeys ?? funnel.map(() => 0));
  steps.forEach((step, index) => {
    const exact = expected?.medians[index] ?? null;
    if (exact === null) expect(step.medianSecondsFromPrevious).toBeNull();
    else
      expect(Math.abs(step.medianSecondsFromPrevious! * 1000 - exact)).toBeLessThanOrEqual(
        Math.max(exact * 0.1, 1_000),
      );
  });
}

// From two days before the first event: a late conversion may move a journey's day earlier.
const range = () =>
  `{ from: "${new Date(START.getTime() - 2 * DAY).toISOString()}", to: "${new Date(clock.now().getTime() + HOUR).toISOString()}" }`;
const STEP_FIELDS = 'step journeys conversionFromPrevious conversionFromFirst medianSecondsFromPrevious';

interface FunnelAnswer {
  steps: StepFigures[];
  breakdown: Array<{ key: string; steps: StepFigures[] }>;
}

async function funnelQuery(args: string, role: keyof typeof keys = 'ANALYST') {
  return postRaw<{ funnel: FunnelAnswer }>(
    app,
    {
      query: `{ funnel(range: ${range()}${args}) { steps { ${STEP_FIELDS} } breakdown { key steps { ${STEP_FIELDS} } } } }`,
    },
    { authorization: `Bearer ${keys[role]}` },
  );
}

describe('funnel', () => {
  it('counts the marketplace funnel of all six steps, by first-touch source, exactly as a recount of the raw events', async () => {
    const response = await funnelQuery(', breakdown: SOURCE');
    expect(response.errors).toBeUndefined();
    const { steps, breakdown } = response.data!.funnel;
    const all = await recount(STEPS);
    expect(all.get('all')!.journeys[0]).toBeGreaterThan(20);
    expect(all.get('all')!.journeys[3]).toBeGreaterThan(0);
    expectMatches(steps, all.get('all'), STEPS);
    const bySource = await recount(STEPS, { by: 'source' });
    expect(breakdown.map((group) => group.key).sort()).toEqual([...bySource.keys()].sort());
    for (const group of breakdown) expectMatches(group.steps, bySource.get(group.key), STEPS);
    // Conversion rates follow from the counts.
    expect(steps[1]!.conversionFromPrevious).toBeCloseTo(steps[1]!.journeys / steps[0]!.journeys, 10);
  });

  it('counts any ordered subset of steps, by category and for one category', async () => {
    const funnel = ['IMPRESSION', 'BID', 'PURCHASE'] as const;
    const response = await funnelQuery(', steps: [IMPRESSION, BID, PURCHASE], breakdown: CATEGORY');
    expect(response.errors).toBeUndefined();
    const byCategory = await recount(funnel, { by: 'category' });
    expectMatches(response.data!.funnel.steps, (await recount(funnel)).get('all'), funnel);
    for (const group of response.data!.funnel.breakdown) expectMatches(group.steps, byCategory.get(group.key), funnel);
    const cameras = await funnelQuery(', steps: [IMPRESSION, BID, PURCHASE], filter: { category: "cameras" }');
    expectMatches(
      cameras.data!.funnel.steps,
      (await recount(funnel, { lots: (lot) => lot.category === 'cameras' })).get('all'),
      funnel,
    );
  });

  it("breaks an experiment's journeys down by variant (of each journey's first tagged touch), every declared variant and no other", async () => {
    const response = await funnelQuery(`, breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}" }`);
    expect(response.errors).toBeUndefined();
    const { steps, breakdown } = response.data!.funnel;
    const tagged = (await recount(STEPS, { tagged: true })).get('all')!;
    // Not every journey is tagged, and both variants have some.
    expect(tagged.journeys[0]).toBeLessThan((await recount(STEPS)).get('all')!.journeys[0]!);
    expectMatches(steps, tagged, STEPS);
    const byVariant = await recount(STEPS, { by: 'variant' });
    expect(byVariant.size).toBe(2);
    expect(breakdown.map((group) => group.key).sort()).toEqual([...VARIANTS].sort());
    for (const group of breakdown) expectMatches(group.steps, byVariant.get(group.key), STEPS);
    // By category, and for one category, among the experiment's journeys.
    const funnel = ['IMPRESSION', 'CLICK', 'WATCH'] as const;
    const byCategory = await funnelQuery(
      `, steps: [IMPRESSION, CLICK, WATCH], breakdown: CATEGORY, filter: { experiment: "${EXPERIMENT}" }`,
    );
    const expected = await recount(funnel, { by: 'category', tagged: true });
    for (const group of byCategory.data!.funnel.breakdown) expectMatches(group.steps, expected.get(group.key), funnel);
    const cameras = await funnelQuery(
      `, steps: [IMPRESSION, CLICK, WATCH], breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}", category: "cameras" }`,
    );
    const camerasByVariant = await recount(funnel, { by: 'variant', lots: (lot) => lot.category === 'cameras' });
    for (const group of cameras.data!.funnel.breakdown)
      expectMatches(group.steps, camerasByVariant.get(group.key), funnel);
  });

  it("breaks one lot's funnel down by variant, nested on its analytics", async () => {
    const response = await postRaw<{
      auctionItems: { edges: Array<{ node: { id: string; analytics: { funnel: FunnelAnswer } } }> };
    }>(
      app,
      {
        query: `{ auctionItems(first: 10) { edges { node { id analytics(range: ${range()}) { funnel(breakdown: VARIANT, experiment: "${EXPERIMENT}") { steps { ${STEP_FIELDS} } breakdown { key steps { ${STEP_FIELDS} } } } } } } } }`,
      },
      { authorization: `Bearer ${keys.ANALYST}` },
    );
    expect(response.errors).toBeUndefined();
    for (const { node } of response.data!.auctionItems.edges) {
      const ofLot = (lot: object) => lot === lots.get(node.id);
      expectMatches(
        node.analytics.funnel.steps,
        (await recount(STEPS, { tagged: true, lots: ofLot })).get('all'),
        STEPS,
      );
      const byVariant = await recount(STEPS, { by: 'variant', lots: ofLot });
      expect(node.analytics.funnel.breakdown.map((group) => group.key).sort()).toEqual([...VARIANTS].sort());
      for (const group of node.analytics.funnel.breakdown) expectMatches(group.steps, byVariant.get(group.key), STEPS);
    }
  });

  it('refuses a variant breakdown without an experiment, a source breakdown with one, a malformed or undefined experiment, and a SELLER asking for one', async () => {
    const refused = async (args: string, code: string, message: RegExp, role: keyof typeof keys = 'ANALYST') => {
      const response = await funnelQuery(args, role);
      expect(errorCodes(response)).toEqual([code]);
      expect(response.errors![0]!.message).toMatch(message);
    };
    await refused(', breakdown: VARIANT', 'BAD_USER_INPUT', /VARIANT needs filter\.experiment/);
    await refused(
      `, breakdown: SOURCE, filter: { experiment: "${EXPERIMENT}" }`,
      'BAD_USER_INPUT',
      /VARIANT or CATEGORY/,
    );
    await refused(', filter: { experiment: "no spaces allowed" }', 'BAD_USER_INPUT', /1 to 64 letters/);
    await refused(`, filter: { experiment: "${'x'.repeat(65)}" }`, 'BAD_USER_INPUT', /1 to 64 letters/);
    // Tags of an experiment nobody defined are not a funnel of their own.
    await refused(
      ', breakdown: VARIANT, filter: { experiment: "ghost" }',
      'NOT_FOUND',
      /No experiment "ghost" is defined/,
    );
    await refused(`, filter: { experiment: "${EXPERIMENT}" }`, 'FORBIDDEN', /ADMIN or ANALYST/, 'SELLER');
    const item = await postRaw(
      app,
      {
        query: `{ auctionItem(id: "${lotIds[2]}") { analytics { funnel(breakdown: VARIANT) { steps { step } } } } }`,
      },
      { authorization: `Bearer ${keys.ANALYST}` },
    );
    expect(errorCodes(item)).toEqual(['BAD_USER_INPUT']);
    // A SELLER's own lot, but an experiment: refused, the rest of the answer kept.
    const sellers = await postRaw<{ auctionItem: { id: string; analytics: unknown } }>(
      app,
      {
        query: `{ auctionItem(id: "${lotIds[2]}") { id analytics { funnel(experiment: "${EXPERIMENT}") { steps { step } } } } }`,
      },
      { authorization: `Bearer ${keys.SELLER}` },
    );
    expect(errorCodes(sellers)).toEqual(['FORBIDDEN']);
    expect(sellers.data?.auctionItem.id).toBe(lotIds[2]);
  });

  it("gives a SELLER key its own lots' funnel only, and refuses another seller's", async () => {
    const own = await funnelQuery('', 'SELLER');
    expect(own.errors).toBeUndefined();
    expectMatches(
      own.data!.funnel.steps,
      (await recount(STEPS, { lots: (lot) => lot.sellerId === 'seller-1' })).get('all'),
      STEPS,
    );
    const other = await funnelQuery(', filter: { sellerId: "seller-2" }', 'SELLER');
    expect(errorCodes(other)).toEqual(['FORBIDDEN']);
    // An analyst may ask for any seller's.
    const analyst = await funnelQuery(', filter: { sellerId: "seller-2" }');
    expectMatches(
      analyst.data!.funnel.steps,
      (await recount(STEPS, { lots: (lot) => lot.sellerId === 'seller-2' })).get('all'),
      STEPS,
    );
  });

  it('pushes the funnel live over graphql-ws, with the same scoping: a SELLER’s own lots, another seller refused', async () => {
    const live = (role: keyof typeof keys, args = '') =>
      new Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: unknown } }> }>((resolve, reject) => {
        const client = createClient({
          url: app.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: { authorization: `Bearer ${keys[role]}` },
        });
        const done = (value: { data?: unknown; errors?: Array<{ extensions?: { code?: unknown } }> }) => {
          resolve(value);
          void client.dispose();
        };
        client.subscribe(
          {
            query: `subscription { funnelUpdated(range: ${range()}${args}) { steps { ${STEP_FIELDS} } breakdown { key steps { ${STEP_FIELDS} } } } }`,
          },
          {
            next: (result) => done(result as never),
            error: (error) => (Array.isArray(error) ? done({ errors: error }) : reject(error)),
            complete: () => undefined,
          },
        );
      });
    expect(await live('ANALYST', ', breakdown: SOURCE')).toEqual({
      data: { funnelUpdated: (await funnelQuery(', breakdown: SOURCE')).data!.funnel },
    });
    const own = (await live('SELLER')) as { data: { funnelUpdated: { steps: StepFigures[] } } };
    expectMatches(
      own.data.funnelUpdated.steps,
      (await recount(STEPS, { lots: (lot) => lot.sellerId === 'seller-1' })).get('all'),
      STEPS,
    );
    const other = await live('SELLER', ', filter: { sellerId: "seller-2" }');
    expect(other.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    const badSteps = await live('ANALYST', ', steps: [BID, CLICK]');
    expect(badSteps.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    // An experiment's funnel: by variant for an analyst; refused to a SELLER and without an experiment.
    const experiment = `, breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}" }`;
    expect(await live('ANALYST', experiment)).toEqual({
      data: { funnelUpdated: (await funnelQuery(experiment)).data!.funnel },
    });
    const sellers = await live('SELLER', `, filter: { experiment: "${EXPERIMENT}" }`);
    expect(sellers.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    const noExperiment = await live('ANALYST', ', breakdown: VARIANT');
    expect(noExperiment.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('pushes the funnel again when a build round changes it', async () => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${keys.ANALYST}` },
    });
    const received: number[] = [];
    const unsubscribe = client.subscribe<{ funnelUpdated: { steps: StepFigures[] } }>(
      {
        query: `subscription { funnelUpdated(range: ${range()}, steps: [IMPRESSION, CLICK]) { steps { ${STEP_FIELDS} } } }`,
      },
      {
        next: (result) => received.push(result.data?.funnelUpdated.steps[0]?.journeys ?? -1),
        error: () => received.push(-1),
        complete: () => undefined,
      },
    );
    const nextMessage = async (count: number) => {
      while (received.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    try {
      await nextMessage(1);
      const events = [{ itemId: lotIds[2]!, sessionId: 'live-push', source: 'HOME' as const }];
      expect((await execute(app, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions.accepted).toBe(
        1,
      );
      clock.advance(2_000);
      await app.services.funnels.catchUp();
      await nextMessage(2);
      expect(received[1]).toBe(received[0]! + 1);
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });

  it('builds, when asked during a round, what was stored before it was asked', async () => {
    const journeys = async () => (await funnelQuery(', steps: [IMPRESSION, CLICK]')).data!.funnel.steps[0]!.journeys;
    const before = await journeys();
    const events = [{ itemId: lotIds[2]!, sessionId: 'asked-during-a-round', source: 'HOME' as const }];
    expect((await execute(app, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions.accepted).toBe(1);
    // Not settled yet for a round that starts now; settled for one asked for after the clock moves.
    const running = app.services.funnels.catchUp();
    clock.advance(2_000);
    const asked = app.services.funnels.catchUp();
    await Promise.all([running, asked]);
    expect(await journeys()).toBe(before + 1);
  });

  it("is nested on each lot's analytics, every lot of a page read at once", async () => {
    const funnel = ['IMPRESSION', 'CLICK', 'BID'] as const;
    const response = await postRaw<{
      auctionItems: { edges: Array<{ node: { id: string; analytics: { funnel: { steps: StepFigures[] } } } }> };
    }>(
      app,
      {
        query: `{ auctionItems(first: 10) { edges { node { id analytics(range: ${range()}) { funnel(steps: [IMPRESSION, CLICK, BID]) { steps { ${STEP_FIELDS} } } } } } } }`,
      },
      { authorization: `Bearer ${keys.ANALYST}` },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.auctionItems.edges).toHaveLength(3);
    for (const { node } of response.data!.auctionItems.edges)
      expectMatches(
        node.analytics.funnel.steps,
        (await recount(funnel, { lots: (lot) => lot === lots.get(node.id) })).get('all'),
        funnel,
      );
  });

  it('refuses steps out of order, repeated or fewer than two, and a category breakdown of one lot, saying what to send', async () => {
    for (const steps of ['[CLICK, IMPRESSION]', '[BID, BID]', '[BID]', '[]']) {
      const response = await funnelQuery(`, steps: ${steps}`);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).toMatch(/2 to 6 different steps in the funnel's order/);
    }
    const item = await postRaw(
      app,
      { query: `{ auctionItem(id: "${lotIds[1]}") { analytics { funnel(breakdown: CATEGORY) { steps { step } } } } }` },
      { authorization: `Bearer ${keys.ANALYST}` },
    );
    expect(errorCodes(item)).toEqual(['BAD_USER_INPUT']);
  });

  it('counts nothing twice: rebuilt from nothing in pages of 7 by two competing builders, the funnel is the same', async () => {
    const before = (await funnelQuery(', breakdown: SOURCE')).data!.funnel;
    const variantsBefore = (await funnelQuery(`, breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}" }`)).data!
      .funnel;
    // The app's builder holds the lease for a minute after its round.
    clock.advance(61_000);
    const db = app.database.connection;
    await db.collection('funnel_journeys').deleteMany({});
    await db.collection('funnel_days').deleteMany({});
    await createFunnelsRepository(db).rewind(new Date(START.getTime() - DAY));
    // Tiny pages: the cut between pages, events of one instant across a cut, the checkpoint moved page by page.
    const builder = (instanceId: string) =>
      new FunnelBuilder(
        createFunnelsRepository(db),
        createAuctionItemRepository(db),
        {
          cohorts: createCohortsRepository(db),
          exposures: new ExposureRecorder(createExperimentsRepository(db), clock),
        },
        clock,
        { windowMs: WINDOW, settleMs: 1_000, firstBuildMs: 90 * DAY, pageSize: 7, instanceId },
        createLogger('silent'),
      );
    const [a, b] = [builder('a'), builder('b')];
    const read = await Promise.all([a.catchUp(), b.catchUp()]);
    // One of them holds the lease and reads everything; the other reads nothing.
    expect(read.filter((count) => count > 0)).toHaveLength(1);
    expect(Math.max(...read)).toBeGreaterThan(200);
    await Promise.all([a.stop(), b.stop()]);
    expect((await funnelQuery(', breakdown: SOURCE')).data!.funnel).toEqual(before);
    expect((await funnelQuery(`, breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}" }`)).data!.funnel).toEqual(
      variantsBefore,
    );
  });

  it('reads every event of one instant, however many, before it moves past it, and stops after every round asked for', async () => {
    // 30 impressions stamped in one millisecond (one batch), with pages of 7.
    const db = app.database.connection;
    clock.advance(HOUR);
    const events = Array.from({ length: 30 }, (_, index) => ({
      itemId: lotIds[2]!,
      sessionId: `instant-${index}`,
      source: 'EXTERNAL' as const,
    }));
    expect((await execute(app, TrackImpressionsDocument, { events }, BROWSER)).data?.trackImpressions.accepted).toBe(
      30,
    );
    const builder = new FunnelBuilder(
      createFunnelsRepository(db),
      createAuctionItemRepository(db),
      { cohorts: createCohortsRepository(db), exposures: new ExposureRecorder(createExperimentsRepository(db), clock) },
      clock,
      { windowMs: WINDOW, settleMs: 1_000, firstBuildMs: 90 * DAY, pageSize: 7, instanceId: 'instant' },
      createLogger('silent'),
    );
    // A round started while the impressions are not a second old leaves them for the next one,
    // asked for during it; stopped then, the builder gives the lease back only after both.
    const first = builder.catchUp();
    clock.advance(2_000);
    let againDone = false;
    const again = builder.catchUp().then((read) => {
      againDone = true;
      return read;
    });
    await builder.stop();
    expect(againDone).toBe(true);
    expect((await first) + (await again)).toBeGreaterThanOrEqual(30);
    const external = (await funnelQuery(', steps: [IMPRESSION, CLICK], breakdown: SOURCE')).data!.funnel.breakdown.find(
      (group) => group.key === 'EXTERNAL',
    );
    expect(external?.steps[0]!.journeys).toBe(30);
    expect((await recount(['IMPRESSION', 'CLICK'], { by: 'source' })).get('EXTERNAL')!.journeys[0]).toBe(30);
  });

  it("takes in what arrives later, a late conversion included, and erasure removes a session's journeys", async () => {
    // A view of lot 1 reported late, timed the day before the session's first touch of it: the
    // journey now begins with it, a day earlier, and leaves its former day's rows.
    const sessionId = sessions[0]!;
    const journeys = app.database.connection.collection('funnel_journeys');
    clock.advance(HOUR);
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [{ itemId: lotIds[1]!, sessionId, source: 'HOME' }] },
      BROWSER,
    );
    clock.advance(2_000);
    await app.services.funnels.catchUp();
    const before = await journeys.findOne({ _id: `${lotIds[1]}:${sessionId}` as never });
    expect(before).not.toBeNull();
    const late = new Date(START.getTime() - DAY + MINUTE);
    const reported = await execute(
      app,
      TrackConversionsDocument,
      {
        events: [
          { eventId: 'late-view', kind: 'ITEM_VIEW', itemId: lotIds[1]!, sessionId, occurredAt: late.toISOString() },
        ],
      },
      { authorization: `Bearer ${keys.INGEST}` },
    );
    expect(reported.data!.trackConversions.accepted).toBe(1);
    clock.advance(2_000);
    await app.services.funnels.catchUp();
    const funnel = ['ITEM_VIEW', 'WATCH'] as const;
    const response = await funnelQuery(', steps: [ITEM_VIEW, WATCH]');
    expectMatches(response.data!.funnel.steps, (await recount(funnel)).get('all'), funnel);
    const after = await journeys.findOne({ _id: `${lotIds[1]}:${sessionId}` as never });
    expect((after!.day as Date).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect((before!.day as Date).getTime()).toBeGreaterThan((after!.day as Date).getTime());
    // The rows of the day it left no longer count it: every day's rows add up to the recount.
    expectMatches(
      (await funnelQuery(', steps: [IMPRESSION, CLICK, ITEM_VIEW]')).data!.funnel.steps,
      (await recount(['IMPRESSION', 'CLICK', 'ITEM_VIEW'])).get('all'),
      ['IMPRESSION', 'CLICK', 'ITEM_VIEW'],
    );

    const of = await journeys.countDocuments({ sessionId });
    expect(of).toBeGreaterThan(0);
    const erased = await execute(
      app,
      EraseSubjectDocument,
      { sessionId },
      { authorization: `Bearer ${(await app.services.auth.createKey({ role: 'ADMIN' })).key}` },
    );
    expect(erased.data!.eraseSubject.funnelJourneys).toBe(of);
    expect(await journeys.countDocuments({ sessionId })).toBe(0);
    expect(await journeys.countDocuments({ itemId: new Types.ObjectId(lotIds[1]) })).toBeGreaterThan(0);
  });
});
