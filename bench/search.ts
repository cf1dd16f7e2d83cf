/**
 * `npm run bench:search` — issue 3's benchmark. On a catalog of BENCH_ITEMS (default 100,000)
 * items: latency of page 1 vs page 200 with keyset pagination and with a skip/limit baseline,
 * and database round trips per search request with and without totalCount / facets.
 */
import { print } from 'graphql';
import { auctionItemModel, AuctionStatus } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import {
  createSearchRepository,
  searchFilter,
  type ItemSearch,
  type PageQuery,
} from '../src/catalog/search.repository';
import { SearchItemsDocument, SearchTotalsDocument } from '../test/generated/graphql';
import { commandCounter, ms, printHeader, printTable, startBenchEnvironment, summarize, type Timing } from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const PAGE_SIZE = 20;
const DEEP_PAGE = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: { auctionItems: { pageInfo: { endCursor: string | null } } };
    errors?: unknown[];
  };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** Times two operations alternately, so that machine noise hits both alike. */
async function timeAlternately(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  runs: number,
): Promise<[Timing, Timing]> {
  for (let i = 0; i < 3; i++) await Promise.all([a(), b()]);
  const da: number[] = [];
  const db: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [work, sink] of [
      [a, da],
      [b, db],
    ] as const) {
      const start = process.hrtime.bigint();
      await work();
      sink.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return [summarize(da), summarize(db)];
}

async function main(): Promise<void> {
  const bench = await startBenchEnvironment();
  try {
    printHeader(`bench:search — ${ITEMS.toLocaleString('en')} items, page size ${PAGE_SIZE}`, bench.engine);
    const items = createAuctionItemRepository(bench.app.database.connection);
    const catalog = generateDemoCatalog(ITEMS, new Date());
    const loadStart = Date.now();
    for (let offset = 0; offset < catalog.length; offset += 5_000)
      await items.insertMany(catalog.slice(offset, offset + 5_000));
    console.log(`loaded in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);

    const url = bench.app.url;
    const query = print(SearchItemsDocument);
    const variables = {
      filter: { status: ['ACTIVE'] },
      orderBy: { field: 'CREATED_AT', direction: 'DESC' },
      first: PAGE_SIZE,
    };

    // Follow cursors to the start of page 200 (in steps of 100 items, the maximum page size).
    let after: string | null = null;
    for (let skipped = 0; skipped < (DEEP_PAGE - 1) * PAGE_SIZE;) {
      const step = Math.min(100, (DEEP_PAGE - 1) * PAGE_SIZE - skipped);
      const data = await graphql(url, query, { ...variables, first: step, after });
      after = data.auctionItems.pageInfo.endCursor;
      skipped += step;
    }
    const deepCursor = after;

    const [apiFirst, apiDeep] = await timeAlternately(
      () => graphql(url, query, variables),
      () => graphql(url, query, { ...variables, after: deepCursor }),
      RUNS,
    );

    // The same pages at the database layer: keyset seek vs the reference design's skip/limit.
    const search: ItemSearch = { words: [], statuses: [AuctionStatus.ACTIVE] };
    const repository = createSearchRepository(bench.app.database.connection);
    const firstPage: PageQuery = { search, order: { key: 'createdAt', direction: -1 }, limit: PAGE_SIZE + 1 };
    const deepRows = await repository.findPage({ ...firstPage, limit: (DEEP_PAGE - 1) * PAGE_SIZE });
    const lastBeforeDeep = deepRows.at(-1)!;
    const deepPage: PageQuery = {
      ...firstPage,
      after: { value: lastBeforeDeep.sortValue, id: lastBeforeDeep.record._id },
    };
    const [keysetFirst, keysetDeep] = await timeAlternately(
      () => repository.findPage(firstPage),
      () => repository.findPage(deepPage),
      RUNS,
    );
    const model = auctionItemModel(bench.app.database.connection);
    const skipPage = (page: number) => () =>
      model
        .find(searchFilter(search))
        .sort({ createdAt: -1, _id: -1 })
        .skip((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .lean()
        .exec();
    const [skipFirst, skipDeep] = await timeAlternately(skipPage(1), skipPage(DEEP_PAGE), RUNS);

    const row = (name: string, first: Timing, deep: Timing) => ({
      pagination: name,
      'page 1 (median)': ms(first.median),
      [`page ${DEEP_PAGE} (median)`]: ms(deep.median),
      [`page ${DEEP_PAGE} p95`]: ms(deep.p95),
      'deep/first ratio': (deep.median / first.median).toFixed(2),
    });
    printTable([
      row('keyset, through the GraphQL API', apiFirst, apiDeep),
      row('keyset, database query only', keysetFirst, keysetDeep),
      row('skip/limit baseline, database query only', skipFirst, skipDeep),
    ]);

    console.log('\nDatabase round trips per search request (driver command monitoring):\n');
    const counter = commandCounter(bench.app);
    const shapes: Array<[string, string, Record<string, unknown>]> = [
      ['edges + pageInfo', query, variables],
      ['edges + pageInfo, page 200', query, { ...variables, after: deepCursor }],
      [
        'totalCount only',
        `query($filter: AuctionItemFilter) { auctionItems(filter: $filter) { totalCount } }`,
        { filter: variables.filter },
      ],
      [
        'edges + totalCount',
        `query($filter: AuctionItemFilter) { auctionItems(filter: $filter) { edges { node { id } } totalCount } }`,
        { filter: variables.filter },
      ],
      [
        'edges + totalCount + facets',
        print(SearchTotalsDocument).replace('totalCount', 'totalCount edges { node { id } }'),
        { filter: variables.filter },
      ],
    ];
    const roundTrips = [];
    for (const [name, document, vars] of shapes) {
      const { commands } = await counter.measure(() => graphql(url, document, vars));
      roundTrips.push({ request: name, 'round trips': commands.length, commands: commands.join(', ') });
    }
    printTable(roundTrips);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
