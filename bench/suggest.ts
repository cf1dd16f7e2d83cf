/**
 * `npm run bench:suggest` — issue 21's suggestion targets. On a catalog of BENCH_ITEMS (default
 * 100,000) items whose titles also carry words of a large vocabulary (BENCH_VOCABULARY distinct
 * model names, Zipf-distributed, as brand and model names are in a real catalog):
 * - `searchSuggestions` through the API, letter by letter as a buyer types words of the catalog,
 *   for each path: the live counters (no filter, a category), and counting over the lots (a price
 *   filter, a word typed before), against two baselines in the same run: the API's floor
 *   (`{ __typename }`) and the first page of the open lots (`auctionItems(first: 8)`);
 * - database round trips per suggestion request;
 * - what keeping the counters costs: loading the catalog with and without them.
 * Targets: p50 ≤ 10 ms, p95 ≤ 25 ms.
 */
import { print } from 'graphql';
import { AuctionStatus } from '../src/catalog/auctionItem.model';
import type { NewAuctionItem } from '../src/catalog/auctionItem.repository';
import { seededRandom } from '../src/catalog/demoCatalog';
import { searchTermsOf } from '../src/catalog/searchTerms';
import { createSuggestionRepository } from '../src/catalog/suggestion.repository';
import { Types, type mongo } from 'mongoose';
import {
  emptySearchDay,
  type SearchDayRecord,
  type SearchEventRecord,
  type SearchPositionDayRecord,
} from '../src/searches/searchEvent.model';
import { DAY_MS, startOfDay } from '../src/shared/clock';
import { SearchInsightsDocument, SuggestDocument } from '../test/generated/graphql';
import {
  benchCatalog,
  commandCounter,
  loadCatalogInBulk,
  ms,
  printHeader,
  printTable,
  startBenchApp,
  graphqlRequest,
  startBenchEnvironment,
  summarize,
  profiled,
  timeInTurn,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const VOCABULARY = Number(process.env.BENCH_VOCABULARY ?? 20_000);
/** Keystrokes timed per case (each a prefix of a word, as typed). */
const KEYSTROKES = Number(process.env.BENCH_KEYSTROKES ?? 300);
/** Recorded searches over 30 days for the searchAnalytics comparison. */
const SEARCH_EVENTS = Number(process.env.BENCH_SEARCH_EVENTS ?? 1_000_000);
/** Past successful queries offered among the suggestions (`BENCH_PAST_QUERIES`). */
const PAST_QUERIES = Number(process.env.BENCH_PAST_QUERIES ?? 5_000);
/** Sessions the recorded searches come from. */
const SEARCH_SESSIONS = 200_000;

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ne',
  'to',
  'zu',
  'vi',
  'sa',
  'do',
  'ber',
  'tan',
  'gor',
  'lin',
  'mar',
  'sek',
];

/** `count` distinct pronounceable model names ("kalomira", "zutan"), from a fixed seed. */
function modelNames(count: number): string[] {
  const random = seededRandom(21);
  const names = new Set<string>();
  while (names.size < count) {
    const length = 2 + Math.floor(random() * 3);
    names.add(Array.from({ length }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join(''));
  }
  return [...names];
}

/** The demo catalog with one model name per title, the k-th most common chosen ∝ 1/k. */
function catalogWithModels(count: number, names: readonly string[]): NewAuctionItem[] {
  const random = seededRandom(7);
  const harmonic = names.reduce((sum, _, k) => sum + 1 / (k + 1), 0);
  const pick = () => {
    let target = random() * harmonic;
    for (let k = 0; k < names.length; k++) {
      target -= 1 / (k + 1);
      if (target <= 0) return names[k]!;
    }
    return names[names.length - 1]!;
  };
  return benchCatalog(count).map((item) => {
    const title = `${item.title} ${pick()[0]!.toUpperCase()}${pick().slice(1)}`;
    return { ...item, title, ...searchTermsOf({ ...item, title }) };
  });
}

const graphql = (url: string, query: string, variables: Record<string, unknown>) =>
  graphqlRequest<unknown>(url, query, variables);

async function main(): Promise<void> {
  const bench = await startBenchEnvironment({
    POPULARITY_REFRESH_MS: '86400000',
  });
  try {
    printHeader(
      `bench:suggest — ${ITEMS.toLocaleString('en')} items, ${VOCABULARY.toLocaleString('en')} model names`,
      bench.engine,
    );
    const connection = bench.app.database.connection;
    const names = modelNames(VOCABULARY);
    const catalog = catalogWithModels(ITEMS, names);
    const open = catalog.filter((item) => item.status === AuctionStatus.ACTIVE).length;

    // The load counts every open lot into the counters as it inserts (the repository's path); the
    // recount afterwards is what `gavel suggestions check` reads, and how long a first start takes
    // on a database written before the counters.
    const loadSeconds = await loadCatalogInBulk(connection, catalog);
    const suggestions = createSuggestionRepository(connection);
    const recountStart = Date.now();
    const differences = await suggestions.recount({ repair: false });
    const recountSeconds = (Date.now() - recountStart) / 1000;
    const counters = await connection.collection('search_suggestions').estimatedDocumentCount();
    console.log('Catalog and counters:\n');
    printTable([
      {
        items: ITEMS,
        'open lots': open,
        'counters stored': counters,
        'load s (counted as inserted)': loadSeconds.toFixed(1),
        'recount s': recountSeconds.toFixed(1),
        'counters off after load': differences.length,
      },
    ]);

    // Keystrokes: words of open lots' titles, typed letter by letter, the common ones most often
    // (a title picked at random, then one of its words).
    const random = seededRandom(3);
    const openTitles = catalog.filter((item) => item.status === AuctionStatus.ACTIVE);
    // The last WARM_UP are typed before the measured ones only: answers a server may reuse for a
    // moment (past queries' counts, 2 s) must not be warmed by the very keystrokes measured next.
    const WARM_UP = 20;
    const keystrokes: string[] = [];
    while (keystrokes.length < KEYSTROKES + WARM_UP) {
      const terms = openTitles[Math.floor(random() * openTitles.length)]!.titleTerms;
      const word = terms[Math.floor(random() * terms.length)]!;
      for (let length = 1; length <= [...word].length && keystrokes.length < KEYSTROKES + WARM_UP; length++)
        keystrokes.push([...word].slice(0, length).join(''));
    }
    // Past successful queries: the first and last (model) words of open titles, as buyers type them,
    // so that keystrokes find some (each found one is counted over the lots as it is suggested).
    const pastQueries = new Map<string, number>();
    for (let attempt = 0; pastQueries.size < PAST_QUERIES && attempt < PAST_QUERIES * 20; attempt++) {
      const terms = openTitles[Math.floor(random() * openTitles.length)]!.titleTerms;
      pastQueries.set(`${terms[0]} ${terms.at(-1)}`, 5 + Math.floor(random() * 500));
    }
    await suggestions.replaceQueries(
      [...pastQueries].map(([query, searchers]) => ({ query, searchers })),
      new Date(),
    );
    console.log(
      `\n${pastQueries.size.toLocaleString('en')} past successful queries stored (a title's first and last words).`,
    );
    const earlierWord = openTitles[0]!.titleTerms[0]!;
    const suggest = print(SuggestDocument);
    const url = bench.app.url;
    let turn = 0;
    const typed = () => keystrokes[turn % keystrokes.length]!;
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['baseline: { __typename } (the API floor)', () => graphql(url, '{ __typename }', {})],
      [
        'baseline: auctionItems(first: 8), status ACTIVE',
        () =>
          graphql(
            url,
            'query { auctionItems(first: 8, filter: { status: [ACTIVE] }) { edges { node { id title } } } }',
            {},
          ),
      ],
      ['suggest: prefix alone (counters)', () => graphql(url, suggest, { prefix: typed() })],
      [
        'suggest: prefix, category filter (counters)',
        () => graphql(url, suggest, { prefix: typed(), filter: { category: ['watches'] } }),
      ],
      [
        'suggest: prefix, one seller (counters)',
        () => graphql(url, suggest, { prefix: typed(), filter: { sellerId: openTitles[0]!.sellerId } }),
      ],
      [
        "suggest: prefix, price ≤ 100.00 (the bands' counters)",
        () => graphql(url, suggest, { prefix: typed(), filter: { price: { max: 10_000 } } }),
      ],
      [
        'suggest: prefix, price ≤ 123.45 (counted over the lots)',
        () => graphql(url, suggest, { prefix: typed(), filter: { price: { max: 12_345 } } }),
      ],
      [
        `suggest: "${earlierWord} " + prefix (counted over the lots)`,
        () => graphql(url, suggest, { prefix: `${earlierWord} ${typed()}` }),
      ],
    ];
    // Warm-up, then one keystroke per turn through every case: noise hits them alike and every
    // case sees the same prefixes.
    for (turn = KEYSTROKES; turn < KEYSTROKES + WARM_UP; turn++) for (const [, run] of cases) await run();
    const timings = cases.map((): number[] => []);
    for (turn = 0; turn < KEYSTROKES; turn++)
      for (const [index, [, run]] of cases.entries()) {
        const start = process.hrtime.bigint();
        await run();
        timings[index]!.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    const summary = timings.map(summarize);
    const floor = summary[0]!;
    const page = summary[1]!;
    console.log(`\nThrough the API, ${KEYSTROKES} keystrokes per case, in turn (target p50 ≤ 10 ms, p95 ≤ 25 ms):\n`);
    printTable(
      cases.map(([name], index) => ({
        case: name,
        p50: ms(summary[index]!.median),
        p95: ms(summary[index]!.p95),
        p99: ms(summary[index]!.p99),
        'p50 vs floor': (summary[index]!.median / floor.median).toFixed(2),
        'p50 vs page': (summary[index]!.median / page.median).toFixed(2),
      })),
    );

    // Where the tail is: the slowest keystrokes of each suggestion case, with what was typed.
    console.log('\nThe slowest keystrokes per suggestion case:\n');
    printTable(
      cases.slice(2).map(([name], offset) => ({
        case: name,
        slowest: timings[offset + 2]!.map((duration, keystroke) => ({
          duration,
          typed: keystrokes[keystroke % keystrokes.length]!,
        }))
          .sort((a, b) => b.duration - a.duration)
          .slice(0, 5)
          .map(({ duration, typed }) => `"${typed}" ${ms(duration)}`)
          .join(', '),
      })),
    );

    console.log('\nDatabase round trips per suggestion request (driver command monitoring):\n');
    const counter = commandCounter(bench.app);
    const shapes: Array<[string, Record<string, unknown>]> = [
      ['prefix alone', { prefix: 'ka' }],
      ['prefix, category', { prefix: 'ka', filter: { category: ['watches'] } }],
      ['prefix, one seller', { prefix: 'ka', filter: { sellerId: openTitles[0]!.sellerId } }],
      ['prefix, price on the bands', { prefix: 'ka', filter: { price: { max: 10_000 } } }],
      ['prefix, price off the bands', { prefix: 'ka', filter: { price: { max: 12_345 } } }],
      ['two words', { prefix: `${earlierWord} ka` }],
      ['a typo ("chronogrpah")', { prefix: 'chronogrpah' }],
    ];
    const roundTrips = [];
    for (const [name, variables] of shapes) {
      const { commands } = await counter.measure(() => graphql(url, suggest, variables));
      roundTrips.push({ request: name, 'round trips': commands.length, commands: commands.join(', ') });
    }
    printTable(roundTrips);

    await benchSearchEvents(bench, catalog);
  } finally {
    await bench.stop();
  }
}

/**
 * Issue 21's search-event targets: what recording adds to a search (the same first pages on two
 * servers over one database, one recording every search, one none), and `searchAnalytics` over
 * 30 days of BENCH_SEARCH_EVENTS (default 1,000,000) recorded searches against aggregating the raw
 * search events of the same days in the same run.
 */
async function benchSearchEvents(bench: Awaited<ReturnType<typeof startBenchEnvironment>>, catalog: NewAuctionItem[]) {
  const url = bench.app.url;
  const connection = bench.app.database.connection;
  const silent = await startBenchApp(bench.engine.uri, {
    MONGODB_DB: connection.name,
    SEARCH_EVENTS_SAMPLE_RATE: '0',
    POPULARITY_REFRESH_MS: '86400000',
  });
  try {
    const random = seededRandom(11);
    const words = catalog.slice(0, 2_000).flatMap((item) => item.titleTerms);
    const page = 'query ($q: String) { auctionItems(query: $q, first: 20) { searchId edges { node { id title } } } }';
    const queries = Array.from({ length: KEYSTROKES }, () => words[Math.floor(random() * words.length)]!);
    let turn = 0;
    const searchOn = (target: string) => async () => {
      await graphql(target, page, { q: queries[turn++ % queries.length] });
    };
    const [recording, quiet] = await timeInTurn([searchOn(url), searchOn(silent.app.url)], KEYSTROKES);
    console.log('\nSearch events: a first page through the API, recorded or not (target: ≤ 10 % more at p50):\n');
    printTable([
      {
        server: 'records every search (SEARCH_EVENTS_SAMPLE_RATE=1)',
        p50: ms(recording!.median),
        p95: ms(recording!.p95),
      },
      { server: 'records none (SEARCH_EVENTS_SAMPLE_RATE=0)', p50: ms(quiet!.median), p95: ms(quiet!.p95) },
      {
        server: 'ratio',
        p50: (recording!.median / quiet!.median).toFixed(2),
        p95: (recording!.p95 / quiet!.p95).toFixed(2),
      },
    ]);
  } finally {
    // Not `silent.stop()`: that drops the database, which is the benchmark's.
    await silent.app.stop();
  }

  // 30 days of recorded searches: the raw events, and the rollups the recorder would have written.
  const DAYS = 30;
  const today = startOfDay(new Date());
  const random = seededRandom(12);
  const distinct = 20_000;
  const harmonic = Array.from({ length: distinct }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);
  const zipf = () => {
    let target = random() * harmonic;
    for (let k = 0; k < distinct; k++) if ((target -= 1 / (k + 1)) <= 0) return k;
    return distinct - 1;
  };
  const rows = new Map<string, SearchDayRecord>();
  const positionDays = new Map<string, SearchPositionDayRecord>();
  const loadStart = Date.now();
  const events = connection.collection<SearchEventRecord>('search_events');
  let batch: SearchEventRecord[] = [];
  for (let n = 0; n < SEARCH_EVENTS; n++) {
    const k = zipf();
    const day = new Date(today.getTime() - Math.floor(random() * DAYS) * DAY_MS);
    const query = `query ${k}`;
    const filterKey = k % 7 === 0 ? JSON.stringify({ category: ['watches'] }) : '';
    const resultCount = k % 11 === 0 ? 0 : 20;
    const clicked = resultCount > 0 && random() < 0.3 ? Math.floor(random() * 5) : undefined;
    batch.push({
      _id: new Types.ObjectId(),
      at: new Date(day.getTime() + Math.floor(random() * DAY_MS)),
      query,
      filterKey,
      resultCount,
      hasMore: resultCount > 0,
      latencyMs: 5,
      sessionId: `session-${Math.floor(random() * SEARCH_SESSIONS)}`,
      address: `address-${Math.floor(random() * SEARCH_SESSIONS)}`,
      ...(clicked !== undefined ? { clicked: true } : {}),
    });
    const id = `${day.toISOString().slice(0, 10)}:${k}:${filterKey}`;
    const row = rows.get(id) ?? emptySearchDay(day, query, filterKey);
    row.searches++;
    row.latencyMsSum += 5;
    if (resultCount === 0) row.zeroResults++;
    if (clicked !== undefined) {
      row.clicks++;
      row.clickedSearches++;
      row.clicksAt[clicked] = (row.clicksAt[clicked] ?? 0) + 1;
    }
    rows.set(id, row);
    // The day's counters, as the recorder writes them after the rows.
    const dayId = day.toISOString().slice(0, 10);
    const counters = positionDays.get(dayId) ?? {
      _id: dayId,
      day,
      shown: {},
      clicks: {},
      totals: { searches: 0, zeroResults: 0, clicks: 0 },
    };
    counters.totals!.searches++;
    if (resultCount === 0) counters.totals!.zeroResults++;
    for (let position = 0; position < resultCount; position++)
      counters.shown[position] = (counters.shown[position] ?? 0) + 1;
    if (clicked !== undefined) {
      counters.totals!.clicks++;
      counters.clicks[clicked] = (counters.clicks[clicked] ?? 0) + 1;
    }
    positionDays.set(dayId, counters);
    if (batch.length === 10_000) {
      await events.insertMany(batch, { ordered: false });
      batch = [];
    }
  }
  if (batch.length > 0) await events.insertMany(batch, { ordered: false });
  const dayRows = [...rows.values()];
  for (let offset = 0; offset < dayRows.length; offset += 10_000)
    await connection.collection<SearchDayRecord>('search_days').insertMany(dayRows.slice(offset, offset + 10_000));
  // Added to (today's exists: the recording comparison above wrote it).
  await connection.collection<SearchPositionDayRecord>('search_position_days').bulkWrite(
    [...positionDays.values()].map(({ _id, day, shown, clicks, totals }) => {
      const inc: Record<string, number> = {};
      for (const [field, count] of Object.entries(totals!)) inc[`totals.${field}`] = count;
      for (const [position, count] of Object.entries(shown)) inc[`shown.${position}`] = count;
      for (const [position, count] of Object.entries(clicks)) inc[`clicks.${position}`] = count;
      return { updateOne: { filter: { _id }, update: { $setOnInsert: { day }, $inc: inc }, upsert: true } };
    }),
  );
  console.log(
    `\nsearchAnalytics over ${DAYS} days: ${SEARCH_EVENTS.toLocaleString('en')} recorded searches of ` +
      `${distinct.toLocaleString('en')} queries, ${dayRows.length.toLocaleString('en')} day rollups ` +
      `(loaded in ${((Date.now() - loadStart) / 1000).toFixed(0)} s):\n`,
  );
  // The background rebuild of the past successful queries over the same searches (30 % clicked).
  const rebuildStart = Date.now();
  const rebuilt = await bench.app.services.suggestions.refreshPastQueries();
  console.log(
    `Past successful queries rebuilt from the ${SEARCH_EVENTS.toLocaleString('en')} searches: ` +
      `${rebuilt.toLocaleString('en')} queries of 5 searchers or more, ${((Date.now() - rebuildStart) / 1000).toFixed(1)} s ` +
      '(every SUGGESTIONS_QUERY_REFRESH_MS, off the request path).\n',
  );
  const analytics = print(SearchInsightsDocument);
  const range = { last: `P${DAYS}D` };
  const fromRollups = () => graphql(url, analytics, { range });
  // The baseline: the same lists from the raw events of the range (clicks left out: cheaper still).
  const fromRaw = () =>
    events
      .aggregate([
        { $match: { at: { $gte: new Date(today.getTime() - DAYS * DAY_MS) } } },
        {
          $group: {
            _id: { query: '$query', filterKey: '$filterKey' },
            searches: { $sum: 1 },
            zeroResults: { $sum: { $cond: [{ $eq: ['$resultCount', 0] }, 1, 0] } },
          },
        },
        {
          $facet: {
            top: [{ $sort: { searches: -1 } }, { $limit: 10 }],
            zeroResult: [{ $match: { zeroResults: { $gt: 0 } } }, { $sort: { zeroResults: -1 } }, { $limit: 10 }],
          },
        },
      ])
      .toArray();
  // The first read lists each day's leading queries (once per day; today's again at most every
  // SEARCH_ANALYTICS_REFRESH_MS), the later ones read the lists and the contenders' rows.
  const firstRead = await commandCounter(bench.app).measure(async () => {
    const started = performance.now();
    await fromRollups();
    return performance.now() - started;
  });
  // What the dashboard's Search insights view asks (no day-by-day series, no clicked items), and
  // the service alone (no GraphQL, no HTTP): where the time of the full document goes.
  const dashboardFields = `query ($range: TimeRangeInput) { searchAnalytics(range: $range) {
    searches zeroResultSearches clicks clickThroughRate
    topQueries { query searches clicks clickThroughRate correctedClickThroughRate meanClickPosition }
    zeroResultQueries { query searches zeroResults } noClickQueries { query searches unclickedSearches }
    positions { position shown clicks clickThroughRate relativeClickThroughRate } } }`;
  const fromDashboard = () => graphql(url, dashboardFields, { range });
  const fromService = () => bench.app.services.searches.analytics(range, null, null);
  const [rollupTiming, rawTiming, dashboardTiming, serviceTiming] = await timeInTurn(
    [fromRollups, fromRaw, fromDashboard, fromService],
    9,
  );
  await profiled('searchAnalytics', async () => {
    for (let run = 0; run < 20; run++) await fromRollups();
  });
  const { commands } = await commandCounter(bench.app).measure(fromRollups);
  // Where one read's time goes: each database command as the driver timed it, and the rest
  // (the server's own work, GraphQL and HTTP).
  const timed: string[] = [];
  const client = connection.getClient();
  const onSucceeded = (event: mongo.CommandSucceededEvent) =>
    timed.push(`${event.commandName} ${event.duration.toFixed(1)} ms`);
  client.on('commandSucceeded', onSucceeded);
  const readStart = performance.now();
  await fromRollups();
  const readMs = performance.now() - readStart;
  client.off('commandSucceeded', onSucceeded);
  console.log(`One read: ${readMs.toFixed(1)} ms; its database commands: ${timed.join(', ')}.\n`);
  printTable([
    {
      read: 'searchAnalytics, first read (lists each day)',
      p50: ms(firstRead.result),
      p95: '',
      'round trips': firstRead.commands.length,
    },
    {
      read: 'searchAnalytics through the API (day lists)',
      p50: ms(rollupTiming!.median),
      p95: ms(rollupTiming!.p95),
      'round trips': commands.length,
    },
    {
      read: "the same, the dashboard view's fields",
      p50: ms(dashboardTiming!.median),
      p95: ms(dashboardTiming!.p95),
      'round trips': commands.length,
    },
    {
      read: 'the same, the service alone (no GraphQL, no HTTP)',
      p50: ms(serviceTiming!.median),
      p95: ms(serviceTiming!.p95),
      'round trips': commands.length,
    },
    {
      read: 'aggregating the raw search events (database only)',
      p50: ms(rawTiming!.median),
      p95: ms(rawTiming!.p95),
      'round trips': 1,
    },
    { read: 'raw / day lists', p50: (rawTiming!.median / rollupTiming!.median).toFixed(1), p95: '', 'round trips': '' },
    {
      read: 'raw / day lists, dashboard fields',
      p50: (rawTiming!.median / dashboardTiming!.median).toFixed(1),
      p95: '',
      'round trips': '',
    },
  ]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
