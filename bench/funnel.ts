/**
 * `npm run bench:funnel` — the funnels' benchmark. A catalog of 1,000 lots; BENCH_EVENTS (default
 * 1,000,000) counted impressions and clicks and about a tenth as many conversions (views, watches,
 * bids, purchases) over 30 days, from sessions that each visit a few lots, written straight into
 * `tracking_events` and `conversion_events`. Then:
 *
 * 1. the funnel builder takes them in (one round, timed: events per second);
 * 2. a 5-step marketplace funnel with a source breakdown through the API (median of BENCH_RUNS,
 *    database commands per funnel) against the same funnel aggregated from the raw events in the
 *    same run (the design without journeys: group every event of the range by session and lot);
 * 3. `bidderCohorts` over the month's weeks through the API against the same matrix from the raw
 *    bids (every BID conversion read, grouped by bidder and week);
 * 4. `experimentResults` for 2 variants through the API against the same exposures and conversions
 *    grouped from the raw events (tagged events by session, then the sessions' bids); then the same
 *    5-step funnel of the experiment's journeys by variant against the raw grouping with the
 *    variant of each journey's first tagged touch;
 * 5. conversions through `trackConversions` against impressions through `trackImpressions`, in turn,
 *    batches of 100 from 4 clients: events per second of each and their ratio.
 */
import { Types } from 'mongoose';
import { startApp } from '../src/app';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { startOfWeek } from '../src/cohorts/cohorts';
import { conversionEventModel } from '../src/conversions/conversionEvent.model';
import { EventType, TrackingOutcome, trackingEventModel } from '../src/tracking/trackingEvent.model';
import {
  benchAppConfig,
  benchCatalog,
  BROWSER_USER_AGENT,
  commandCounter,
  graphqlRequest,
  loadAverage,
  loadCatalogInBulk,
  ms,
  printHeader,
  printTable,
  startBenchEngine,
  time,
} from './support';

const LOTS = 1_000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const DAYS = 30;
const DAY_MS = 86_400_000;
const SOURCES = ['SEARCH', 'HOME', 'RECOMMENDATION', 'ITEM_PAGE', 'EXTERNAL', 'OTHER'] as const;
const FUNNEL = ['IMPRESSION', 'CLICK', 'ITEM_VIEW', 'BID', 'PURCHASE'] as const;
/** The experiment the bench's sessions are tagged with. */
const EXPERIMENT = 'bench-exp';
const INGEST_BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? 40);

/** A pseudo-random generator with a seed: every engine gets the same events. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  const app = await startApp(benchAppConfig(engine.uri, { FUNNEL_SETTLE_MS: '0' }), {
    monitorCommands: true,
    periodicJobs: false,
  });
  const connection = app.database.connection;
  try {
    printHeader(`bench:funnel — ${EVENTS.toLocaleString('en')} events over ${DAYS} days, ${LOTS} lots`, engine);
    await loadCatalogInBulk(connection, benchCatalog(LOTS));
    // Every lot open through the month: the speed of the funnel is measured here, its rules in test/funnels.
    await auctionItemModel(connection).updateMany({}, { $set: { endsAt: new Date(Date.now() + 60 * DAY_MS) } });
    const lots = await auctionItemModel(connection)
      .find({}, { _id: 1, category: 1, sellerId: 1, endsAt: 1, currency: 1 })
      .lean();
    await app.services.experiments.define({ role: 'ADMIN', keyId: 'bench' } as never, {
      key: EXPERIMENT,
      variants: [{ name: 'control' }, { name: 'treatment' }],
    });
    const loaded = await load(connection, lots);
    console.log(
      `loaded ${loaded.events} tracked events and ${loaded.conversions} conversions in ${loaded.seconds.toFixed(1)} s`,
    );

    const buildStart = Date.now();
    const built = await app.services.funnels.catchUp();
    const buildSeconds = (Date.now() - buildStart) / 1000;
    console.log(
      `\nbuild: ${built} events in ${buildSeconds.toFixed(1)} s = ${Math.round(built / buildSeconds)} events/s`,
    );

    const query = `{ funnel(range: { last: "P${DAYS}D" }, steps: [${FUNNEL.join(', ')}], breakdown: SOURCE) { steps { step journeys conversionFromPrevious medianSecondsFromPrevious } breakdown { key steps { step journeys } } } }`;
    type Answer = { funnel: { steps: Array<{ step: string; journeys: number }> } };
    const api = () => graphqlRequest<Answer>(app.url, query);
    const counted = await commandCounter(app).measure(api);
    const apiTiming = await time(api, RUNS);
    const baselineStart = Date.now();
    const raw = (await rawFunnel(connection)).get('all')!;
    const baselineMs = Date.now() - baselineStart;
    const figures = counted.result.funnel.steps.map((step) => step.journeys);
    console.log('');
    printTable([
      {
        design: 'journeys → day rows (API)',
        median: ms(apiTiming.median),
        p95: ms(apiTiming.p95),
        'round trips': counted.commands.length,
        steps: figures.join(' → '),
      },
      {
        design: 'raw events, grouped by session and lot',
        median: ms(baselineMs),
        p95: '(1 run)',
        'round trips': 2,
        steps: raw.join(' → '),
      },
    ]);
    console.log(
      `\nratio: the API funnel is ${(baselineMs / apiTiming.median).toFixed(0)}× faster than aggregating the raw events; counts ${JSON.stringify(figures) === JSON.stringify(raw) ? 'equal' : 'DIFFER'}`,
    );
    if (JSON.stringify(figures) !== JSON.stringify(raw)) process.exitCode = 1;

    const weeks = Math.ceil(DAYS / 7) + 1;
    const cohortQuery = `{ bidderCohorts(weeks: ${weeks}) { cohorts { week bidders retention { bidders } } lifecycle { active dormant } } }`;
    type CohortAnswer = {
      bidderCohorts: { cohorts: Array<{ bidders: number; retention: Array<{ bidders: number }> }> };
    };
    const cohortApi = () => graphqlRequest<CohortAnswer>(app.url, cohortQuery);
    const cohortCounted = await commandCounter(app).measure(cohortApi);
    const cohortTiming = await time(cohortApi, RUNS);
    const rawCohortStart = Date.now();
    const rawCohorts = await rawBidderCohorts(connection, weeks);
    const rawCohortMs = Date.now() - rawCohortStart;
    const cohortFigures = cohortCounted.result.bidderCohorts.cohorts.map((row) =>
      row.retention.map((cell) => cell.bidders),
    );
    const cohortsEqual = JSON.stringify(cohortFigures) === JSON.stringify(rawCohorts);
    console.log('');
    printTable([
      {
        design: 'bidder-weeks (API)',
        median: ms(cohortTiming.median),
        p95: ms(cohortTiming.p95),
        'round trips': cohortCounted.commands.length,
        bidders: cohortFigures.reduce((sum, row) => sum + (row[0] ?? 0), 0),
      },
      {
        design: 'raw bids, grouped by bidder and week',
        median: ms(rawCohortMs),
        p95: '(1 run)',
        'round trips': 1,
        bidders: rawCohorts.reduce((sum, row) => sum + (row[0] ?? 0), 0),
      },
    ]);
    console.log(
      `\nratio: bidderCohorts is ${(rawCohortMs / cohortTiming.median).toFixed(1)}× faster than grouping the raw bids; matrices ${cohortsEqual ? 'equal' : 'DIFFER'}`,
    );
    if (!cohortsEqual) process.exitCode = 1;

    const experimentQuery = `{ experimentResults(experiment: "${EXPERIMENT}") { sampleRatio { pValue } variants { variant sessions conversions versusControl { conversion { value low high } cupedConversion { value } sequentialConversion { low high } chanceToBeatControl } } } }`;
    type ExperimentAnswer = {
      experimentResults: { variants: Array<{ variant: string; sessions: number; conversions: number }> };
    };
    const experimentApi = () => graphqlRequest<ExperimentAnswer>(app.url, experimentQuery);
    const experimentCounted = await commandCounter(app).measure(experimentApi);
    const experimentTiming = await time(experimentApi, RUNS);
    const rawExperimentStart = Date.now();
    const rawVariants = await rawExperiment(connection);
    const rawExperimentMs = Date.now() - rawExperimentStart;
    const apiVariants = experimentCounted.result.experimentResults.variants.map(
      ({ variant, sessions, conversions }) => ({
        variant,
        sessions,
        conversions,
      }),
    );
    const variantsEqual = JSON.stringify(apiVariants) === JSON.stringify(rawVariants);
    console.log('');
    printTable([
      {
        design: 'variant rows (API)',
        median: ms(experimentTiming.median),
        p95: ms(experimentTiming.p95),
        'round trips': experimentCounted.commands.length,
        variants: apiVariants.map((entry) => `${entry.variant} ${entry.conversions}/${entry.sessions}`).join(', '),
      },
      {
        design: 'raw tagged events and bids, grouped by session',
        median: ms(rawExperimentMs),
        p95: '(1 run)',
        'round trips': 2,
        variants: rawVariants.map((entry) => `${entry.variant} ${entry.conversions}/${entry.sessions}`).join(', '),
      },
    ]);
    console.log(
      `\nratio: experimentResults is ${(rawExperimentMs / experimentTiming.median).toFixed(0)}× faster than grouping the raw events; sessions and conversions ${variantsEqual ? 'equal' : 'DIFFER'}`,
    );
    if (!variantsEqual) process.exitCode = 1;

    const variantQuery = `{ funnel(range: { last: "P${DAYS}D" }, steps: [${FUNNEL.join(', ')}], breakdown: VARIANT, filter: { experiment: "${EXPERIMENT}" }) { breakdown { key steps { step journeys } } } }`;
    type VariantAnswer = { funnel: { breakdown: Array<{ key: string; steps: Array<{ journeys: number }> }> } };
    const variantApi = () => graphqlRequest<VariantAnswer>(app.url, variantQuery);
    const variantCounted = await commandCounter(app).measure(variantApi);
    const variantTiming = await time(variantApi, RUNS);
    const rawVariantStart = Date.now();
    const rawByVariant = await rawFunnel(connection, true);
    const rawVariantMs = Date.now() - rawVariantStart;
    const byVariant = (groups: Iterable<[string, number[]]>) =>
      [...groups]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([variant, counts]) => `${variant} ${counts.join(' → ')}`)
        .join('; ');
    const apiByVariant = byVariant(
      variantCounted.result.funnel.breakdown.map((group) => [group.key, group.steps.map((step) => step.journeys)]),
    );
    const variantFunnelsEqual = apiByVariant === byVariant(rawByVariant);
    console.log('');
    printTable([
      {
        design: 'variant entries of the day rows (API)',
        median: ms(variantTiming.median),
        p95: ms(variantTiming.p95),
        'round trips': variantCounted.commands.length,
        journeys: apiByVariant,
      },
      {
        design: 'raw events, grouped by session and lot',
        median: ms(rawVariantMs),
        p95: '(1 run)',
        'round trips': 3,
        journeys: byVariant(rawByVariant),
      },
    ]);
    console.log(
      `\nratio: the funnel by variant is ${(rawVariantMs / variantTiming.median).toFixed(0)}× faster than aggregating the raw events; counts ${variantFunnelsEqual ? 'equal' : 'DIFFER'}`,
    );
    if (!variantFunnelsEqual) process.exitCode = 1;

    const ingest = await ingestInTurn(app.url, lots);
    console.log('');
    printTable([
      { path: 'trackImpressions', 'events/s': Math.round(ingest.impressions) },
      { path: 'trackConversions', 'events/s': Math.round(ingest.conversions) },
    ]);
    console.log(
      `\nconversions ingest = ${((100 * ingest.conversions) / ingest.impressions).toFixed(0)} % of the impressions path`,
    );
    console.log(`load average: ${loadAverage()}`);
  } finally {
    await connection.dropDatabase().catch(() => undefined);
    await app.stop();
    await engine.stop();
  }
}

type Lot = { _id: Types.ObjectId; category: string; sellerId: string; endsAt: Date; currency: string };

/**
 * Sessions that each visit 1 to 5 lots: 1 to 4 impressions a visit (a minute apart), a click on
 * about a fifth, then a view on half of those, a watch, a bid and a purchase ever more rarely.
 */
async function load(
  connection: typeof import('mongoose').connection,
  lots: readonly Lot[],
): Promise<{ events: number; conversions: number; seconds: number }> {
  const started = Date.now();
  const next = seeded(23);
  const tracked = trackingEventModel(connection).collection;
  const converted = conversionEventModel(connection).collection;
  const from = Date.now() - DAYS * DAY_MS;
  let events = 0;
  let conversions = 0;
  let sessions = 0;
  let eventBatch: Record<string, unknown>[] = [];
  let conversionBatch: Record<string, unknown>[] = [];
  const flush = async (force = false) => {
    if (eventBatch.length >= 10_000 || (force && eventBatch.length > 0)) {
      await tracked.insertMany(eventBatch as never[], { ordered: false });
      eventBatch = [];
    }
    if (conversionBatch.length >= 10_000 || (force && conversionBatch.length > 0)) {
      await converted.insertMany(conversionBatch as never[], { ordered: false });
      conversionBatch = [];
    }
  };
  while (events < EVENTS) {
    const sessionId = `bench-session-${++sessions}`;
    let at = from + Math.floor(next() * (DAYS * DAY_MS - DAY_MS));
    // Two sessions in five are in the experiment, half of them in each variant.
    const tag = next() < 0.4 ? { experiment: EXPERIMENT, variant: next() < 0.5 ? 'control' : 'treatment' } : {};
    for (let visit = 1 + Math.floor(next() * 5); visit > 0 && events < EVENTS; visit--) {
      const lot = lots[Math.floor(Math.pow(next(), 2) * lots.length)]!;
      const source = SOURCES[Math.floor(next() * SOURCES.length)]!;
      const event = (type: EventType) => {
        const id = new Types.ObjectId();
        eventBatch.push({
          _id: id,
          type,
          itemId: lot._id,
          sessionId,
          source,
          position: 0,
          ...tag,
          receivedAt: new Date(at),
          ip: 'bench',
          outcome: TrackingOutcome.ACCEPTED,
          dedupKey: `~${id.toHexString()}`,
        });
        events++;
      };
      for (let shown = 1 + Math.floor(next() * 4); shown > 0; shown--) {
        event(EventType.IMPRESSION);
        at += 60_000;
      }
      if (next() > 0.2) continue;
      event(EventType.CLICK);
      const conversion = (kind: string, amount?: number) => {
        at += Math.floor(next() * 3_600_000);
        conversionBatch.push({
          itemId: lot._id,
          eventId: `bench-${++conversions}`,
          kind,
          sessionId,
          ...(amount ? { amount, currency: lot.currency } : {}),
          occurredAt: new Date(at),
          receivedAt: new Date(at),
          sellerId: lot.sellerId,
          category: lot.category,
        });
      };
      if (next() < 0.5) conversion('ITEM_VIEW');
      if (next() < 0.3) conversion('WATCH');
      if (next() < 0.25) conversion('BID', 10_000);
      if (next() < 0.06) conversion('PURCHASE', 12_000);
    }
    await flush();
  }
  await flush(true);
  return { events, conversions, seconds: (Date.now() - started) / 1000 };
}

/**
 * The experiment's sessions and conversions per variant from the raw events: every tagged counted
 * event grouped by session (variant, first time), then every bid of those sessions after it.
 */
async function rawExperiment(
  connection: typeof import('mongoose').connection,
): Promise<Array<{ variant: string; sessions: number; conversions: number }>> {
  const exposed = await trackingEventModel(connection)
    .collection.aggregate<{ _id: string; variant: string; variants: string[]; at: Date }>([
      { $match: { experiment: EXPERIMENT, outcome: TrackingOutcome.ACCEPTED } },
      {
        $group: {
          _id: '$sessionId',
          variants: { $addToSet: '$variant' },
          variant: { $first: '$variant' },
          at: { $min: '$receivedAt' },
        },
      },
    ])
    .toArray();
  const bids = await conversionEventModel(connection)
    .collection.find({ kind: 'BID' }, { projection: { _id: 0, sessionId: 1, occurredAt: 1 } })
    .toArray();
  const bidTimes = Map.groupBy(bids, (bid) => bid.sessionId as string);
  const totals = new Map<string, { variant: string; sessions: number; conversions: number }>();
  for (const session of exposed.filter((entry) => entry.variants.length === 1)) {
    const entry = totals.get(session.variant) ?? { variant: session.variant, sessions: 0, conversions: 0 };
    entry.sessions++;
    if ((bidTimes.get(session._id) ?? []).some((bid) => (bid.occurredAt as Date) >= session.at)) entry.conversions++;
    totals.set(session.variant, entry);
  }
  return [...totals.values()].sort((a, b) => a.variant.localeCompare(b.variant));
}

/**
 * The retention matrix of the `weeks` weeks up to now from the raw bids: every BID conversion read
 * (bidder: the session, as the bench sends no user), grouped by bidder and week here.
 */
async function rawBidderCohorts(connection: typeof import('mongoose').connection, weeks: number): Promise<number[][]> {
  const bids = await conversionEventModel(connection)
    .collection.find({ kind: 'BID' }, { projection: { _id: 0, sessionId: 1, occurredAt: 1 } })
    .toArray();
  const weeksOf = new Map<string, Set<number>>();
  for (const bid of bids) {
    const week = startOfWeek(bid.occurredAt as Date).getTime();
    weeksOf.set(bid.sessionId as string, (weeksOf.get(bid.sessionId as string) ?? new Set()).add(week));
  }
  const last = startOfWeek(new Date()).getTime();
  const matrix: number[][] = [];
  for (let index = 0; index < weeks; index++) {
    const week = last - (weeks - 1 - index) * 7 * DAY_MS;
    const members = [...weeksOf.values()].filter((set) => Math.min(...set) === week);
    const row: number[] = [];
    for (let later = 0; index + later < weeks; later++)
      row.push(members.filter((set) => set.has(week + later * 7 * DAY_MS)).length);
    matrix.push(row);
  }
  return matrix;
}

/**
 * The same funnel from the raw events: every counted touch and conversion of the range grouped by
 * (lot, session) into first times per step (two aggregations), the journeys counted here; by
 * variant, a third groups the tagged touches by (lot, session, variant) into first times, and each
 * journey counts under the variant tagged first (ties: name order), journeys without one left out.
 */
async function rawFunnel(
  connection: typeof import('mongoose').connection,
  byVariant = false,
): Promise<Map<string, number[]>> {
  const since = new Date(Math.floor((Date.now() - DAYS * DAY_MS) / DAY_MS) * DAY_MS);
  const firstTimes = (collection: string, match: object, key: string, at: string) =>
    connection
      .collection(collection)
      .aggregate<{ _id: { i: unknown; s: string; k: string }; at: Date }>(
        [{ $match: match }, { $group: { _id: { i: '$itemId', s: '$sessionId', k: key }, at: { $min: at } } }],
        { allowDiskUse: true },
      )
      .toArray();
  const counted = { outcome: 'ACCEPTED', receivedAt: { $gte: since } };
  const [touches, conversions, tagged] = await Promise.all([
    firstTimes('tracking_events', counted, '$type', '$receivedAt'),
    firstTimes('conversion_events', { occurredAt: { $gte: since } }, '$kind', '$occurredAt'),
    byVariant ? firstTimes('tracking_events', { ...counted, experiment: EXPERIMENT }, '$variant', '$receivedAt') : [],
  ]);
  const journeys = new Map<string, Map<string, number>>();
  for (const row of [...touches, ...conversions]) {
    const key = `${String(row._id.i)}|${row._id.s}`;
    let steps = journeys.get(key);
    if (!steps) journeys.set(key, (steps = new Map()));
    steps.set(row._id.k, row.at.getTime());
  }
  const variants = new Map<string, { variant: string; at: number }>();
  for (const row of tagged) {
    const key = `${String(row._id.i)}|${row._id.s}`;
    const seen = variants.get(key);
    const at = row.at.getTime();
    if (!seen || at < seen.at || (at === seen.at && row._id.k.localeCompare(seen.variant) < 0))
      variants.set(key, { variant: row._id.k, at });
  }
  const groups = new Map<string, number[]>();
  for (const [key, steps] of journeys) {
    const group = byVariant ? variants.get(key)?.variant : 'all';
    if (group === undefined) continue;
    const counts = groups.get(group) ?? FUNNEL.map(() => 0);
    groups.set(group, counts);
    let previous = -Infinity;
    for (let index = 0; index < FUNNEL.length; index++) {
      const at = steps.get(FUNNEL[index]!);
      if (at === undefined || at < previous) break;
      counts[index]!++;
      previous = at;
    }
  }
  return groups;
}

/** Impressions and conversions in batches of 100 from 4 clients, taking turns; events per second of each. */
async function ingestInTurn(url: string, lots: readonly Lot[]): Promise<{ impressions: number; conversions: number }> {
  const seconds = { impressions: 0, conversions: 0 };
  const sent = { impressions: 0, conversions: 0 };
  let counter = 0;
  // Each conversion is a watch of a lot its session was just shown (the impressions of the round
  // before), so attribution finds a touch, as in a marketplace.
  let shown: Array<{ itemId: string; sessionId: string }> = [];
  const batch = (kind: 'impressions' | 'conversions', index: number) =>
    Array.from({ length: 100 }, (_, position) => {
      if (kind === 'conversions') {
        const touched = shown[index * 100 + position]!;
        return { eventId: `ingest-${++counter}`, kind: 'WATCH', ...touched };
      }
      const lot = lots[++counter % lots.length]!;
      return { itemId: lot._id.toHexString(), sessionId: `ingest-${counter}`, source: 'SEARCH', position: 0 };
    });
  const mutations = {
    impressions: 'mutation ($events: [ImpressionInput!]!) { trackImpressions(events: $events) { accepted } }',
    conversions: 'mutation ($events: [ConversionInput!]!) { trackConversions(events: $events) { accepted } }',
  };
  for (let round = 0; round < INGEST_BATCHES; round++)
    for (const kind of ['impressions', 'conversions'] as const) {
      const batches = Array.from({ length: 4 }, (_, index) => batch(kind, index));
      if (kind === 'impressions')
        shown = batches
          .flat()
          .map((event) => ({ itemId: event.itemId as string, sessionId: event.sessionId as string }));
      const start = process.hrtime.bigint();
      const answers = await Promise.all(
        batches.map((events) =>
          graphqlRequest<Record<string, { accepted: number }>>(
            url,
            mutations[kind],
            { events },
            { 'user-agent': BROWSER_USER_AGENT },
          ),
        ),
      );
      seconds[kind] += Number(process.hrtime.bigint() - start) / 1e9;
      sent[kind] += answers.reduce((sum, answer) => sum + Object.values(answer)[0]!.accepted, 0);
    }
  return { impressions: sent.impressions / seconds.impressions, conversions: sent.conversions / seconds.conversions };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
