/**
 * `npm run bench:search` — issue 3's benchmark, extended for issue 10. On a catalog of BENCH_ITEMS
 * (default 100,000) items:
 * - loading: the app's path (the repository's `insertMany` into the indexed collection, as the demo
 *   seed does) and a bulk load (secondary indexes dropped, items inserted, indexes built again);
 * - the first page of every stored order (CREATED_AT, PRICE, ENDS_AT, POPULARITY), with the web app's
 *   `status: ACTIVE` filter and with none, against the baseline of one unbounded `find` per page;
 * - page 1 vs page 200 with keyset pagination and with a skip/limit baseline;
 * - issue 21: a one-word query as typed vs with one and two typos (first page through the API);
 * - database round trips per search request with and without totalCount / facets.
 */
import { print } from 'graphql';
import type { mongo } from 'mongoose';
import { auctionItemModel, AuctionStatus } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import {
  createSearchRepository,
  searchFilter,
  type ItemSearch,
  type PageQuery,
} from '../src/catalog/search.repository';
import { SearchItemsDocument, SearchTotalsDocument } from '../test/generated/graphql';
import {
  benchCatalog,
  commandCounter,
  firstPageCases,
  ms,
  printHeader,
  printTable,
  graphqlRequest,
  startBenchEnvironment,
  timeInTurn,
  type Timing,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const PAGE_SIZE = 20;
const DEEP_PAGE = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
/** Items loaded through the app's path into the fully indexed collection (the rest in bulk). */
const APP_PATH_ITEMS = Math.min(10_000, Math.floor(ITEMS / 10));
const BATCH = 5_000;

/** One search page through the API (its data: the end cursor for the next page). */
const graphql = (url: string, query: string, variables: Record<string, unknown>) =>
  graphqlRequest<{ auctionItems: { pageInfo: { endCursor: string | null } } }>(url, query, variables);

async function main(): Promise<void> {
  // No popularity refresh during the run: without tracked impressions it would reset the catalog's.
  const bench = await startBenchEnvironment({ POPULARITY_REFRESH_MS: '86400000' });
  try {
    printHeader(`bench:search — ${ITEMS.toLocaleString('en')} items, page size ${PAGE_SIZE}`, bench.engine);
    const connection = bench.app.database.connection;
    const items = createAuctionItemRepository(connection);
    const model = auctionItemModel(connection);
    const catalog = benchCatalog(ITEMS);

    // Loading, with the CPU time this process spent (mongoose, the driver, BSON): the rest of the
    // wall time is the engine's.
    const measureLoad = async (work: () => Promise<void>) => {
      const [start, cpu] = [Date.now(), process.cpuUsage()];
      await work();
      const { user, system } = process.cpuUsage(cpu);
      return { seconds: (Date.now() - start) / 1000, nodeSeconds: (user + system) / 1e6 };
    };
    // The app's path first, into the collection the app started with (every index in place).
    const appPath = await measureLoad(async () => {
      for (let offset = 0; offset < APP_PATH_ITEMS; offset += BATCH)
        await items.insertMany(catalog.slice(offset, Math.min(offset + BATCH, APP_PATH_ITEMS)));
    });
    // Then a bulk load: the secondary indexes dropped, the rest inserted, the indexes built again.
    await model.collection.dropIndexes();
    const bulkInsert = await measureLoad(async () => {
      for (let offset = APP_PATH_ITEMS; offset < ITEMS; offset += BATCH)
        await items.insertMany(catalog.slice(offset, offset + BATCH));
    });
    const indexBuild = await measureLoad(() => items.ensureIndexes());
    const bulkItems = ITEMS - APP_PATH_ITEMS;
    const rate = (count: number, seconds: number) => Math.round(count / seconds).toLocaleString('en');
    printTable([
      {
        load: `app path: repository insertMany, ${BATCH.toLocaleString('en')} per call, all indexes in place`,
        items: APP_PATH_ITEMS,
        seconds: appPath.seconds.toFixed(1),
        'Node CPU s': appPath.nodeSeconds.toFixed(1),
        'items/s': rate(APP_PATH_ITEMS, appPath.seconds),
      },
      {
        load: 'bulk: same insertMany without secondary indexes, then ensureIndexes',
        items: bulkItems,
        seconds: `${(bulkInsert.seconds + indexBuild.seconds).toFixed(1)} (${bulkInsert.seconds.toFixed(1)} + ${indexBuild.seconds.toFixed(1)} index build)`,
        'Node CPU s': (bulkInsert.nodeSeconds + indexBuild.nodeSeconds).toFixed(1),
        'items/s': rate(bulkItems, bulkInsert.seconds + indexBuild.seconds),
      },
    ]);

    // Windows of the sort order where the engine sorts after fetching, sampled from the new catalog.
    await bench.app.services.search.refreshSortWindows();
    const repository = createSearchRepository(connection);
    await repository.refreshSortWindows();
    const url = bench.app.url;
    const query = print(SearchItemsDocument);
    const counter = commandCounter(bench.app);
    /** `find` commands on the catalog while `work` runs (not the app's periodic jobs' reads). */
    const findsOnItems = async (work: () => Promise<unknown>) => {
      let finds = 0;
      const listener = (event: mongo.CommandStartedEvent) => {
        if (event.commandName === 'find' && event.command.find === 'auction_items') finds++;
      };
      connection.getClient().on('commandStarted', listener);
      try {
        await work();
      } finally {
        connection.getClient().off('commandStarted', listener);
      }
      return finds;
    };

    console.log(
      `\nFirst page (${PAGE_SIZE} items + 1 to know whether more follow) of each order, DESC; baseline: one unbounded find:\n`,
    );
    const firstPages = [];
    for (const { order, filter, page, variables } of firstPageCases(PAGE_SIZE)) {
      const queries = await findsOnItems(() => repository.findPage(page));
      const [api, database, baseline] = await timeInTurn(
        [
          () => graphql(url, query, variables),
          () => repository.findPage(page),
          () =>
            model
              .find(searchFilter(page.search))
              .sort({ [page.order.key]: -1, _id: -1 })
              .limit(PAGE_SIZE + 1)
              .lean()
              .exec(),
        ],
        RUNS,
      );
      firstPages.push({
        order,
        filter,
        'API (median)': ms(api!.median),
        'database (median)': ms(database!.median),
        'database p95': ms(database!.p95),
        'baseline (median)': ms(baseline!.median),
        'baseline/database': (baseline!.median / database!.median).toFixed(1),
        queries,
      });
    }
    printTable(firstPages);

    // Page 1 vs page 200 of the web app's view: ACTIVE, newest first.
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
    const search: ItemSearch = { words: [], statuses: [AuctionStatus.ACTIVE] };
    const firstPage: PageQuery = { search, order: { key: 'createdAt', direction: -1 }, limit: PAGE_SIZE + 1 };
    const deepRows = await repository.findPage({ ...firstPage, limit: (DEEP_PAGE - 1) * PAGE_SIZE });
    const lastBeforeDeep = deepRows.at(-1)!;
    const deepPage: PageQuery = {
      ...firstPage,
      after: { value: lastBeforeDeep.sortValue, id: lastBeforeDeep.record._id },
    };
    const skipPage = (page: number) => () =>
      model
        .find(searchFilter(search))
        .sort({ createdAt: -1, _id: -1 })
        .skip((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .lean()
        .exec();
    const [apiFirst, apiDeep, keysetFirst, keysetDeep, skipFirst, skipDeep] = await timeInTurn(
      [
        () => graphql(url, query, variables),
        () => graphql(url, query, { ...variables, after: deepCursor }),
        () => repository.findPage(firstPage),
        () => repository.findPage(deepPage),
        skipPage(1),
        skipPage(DEEP_PAGE),
      ],
      RUNS,
    );
    const row = (name: string, first: Timing, deep: Timing) => ({
      pagination: name,
      'page 1 (median)': ms(first.median),
      [`page ${DEEP_PAGE} (median)`]: ms(deep.median),
      [`page ${DEEP_PAGE} p95`]: ms(deep.p95),
      'deep/first ratio': (deep.median / first.median).toFixed(2),
    });
    console.log(`\nPage 1 vs page ${DEEP_PAGE}, status ACTIVE, CREATED_AT DESC:\n`);
    printTable([
      row('keyset, through the GraphQL API', apiFirst!, apiDeep!),
      row('keyset, database query only', keysetFirst!, keysetDeep!),
      row('skip/limit baseline, database query only', skipFirst!, skipDeep!),
    ]);

    // Typo tolerance: a word as typed vs the same word with one and two typos (swapped neighbours),
    // first page through the API, in turn. Each costs the dictionary lookup; the typo searches
    // then match through corrections.
    const word =
      catalog.flatMap((item) => item.titleTerms).find((term) => [...term].length >= 9) ??
      catalog.flatMap((item) => item.titleTerms).find((term) => [...term].length >= 5)!;
    const swap = (text: string, at: number) => text.slice(0, at) + text[at + 1]! + text[at]! + text.slice(at + 2);
    const oneTypo = swap(word, 1);
    const twoTypos = [...word].length >= 9 ? swap(oneTypo, 5) : undefined;
    const typoQuery = print(SearchItemsDocument);
    const searchFor = (text: string) => () => graphql(url, typoQuery, { query: text, first: PAGE_SIZE });
    const typoTimings = await timeInTurn(
      [searchFor(word), searchFor(oneTypo), ...(twoTypos ? [searchFor(twoTypos)] : [])],
      RUNS,
    );
    const asTyped = typoTimings[0]!;
    console.log(`\nTypo tolerance: first page of a one-word query, CREATED_AT DESC ("${word}"):\n`);
    printTable(
      [word, oneTypo, ...(twoTypos ? [twoTypos] : [])].map((text, index) => ({
        query: text,
        typos: index,
        p50: ms(typoTimings[index]!.median),
        p95: ms(typoTimings[index]!.p95),
        'vs as typed': (typoTimings[index]!.median / asTyped.median).toFixed(2),
      })),
    );

    console.log('\nDatabase round trips per search request (driver command monitoring):\n');
    const shapes: Array<[string, string, Record<string, unknown>]> = [
      ['edges + pageInfo', query, variables],
      ['edges + pageInfo, page 200', query, { ...variables, after: deepCursor }],
      [`edges + pageInfo, query "${oneTypo}" (one typo)`, typoQuery, { query: oneTypo, first: PAGE_SIZE }],
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
