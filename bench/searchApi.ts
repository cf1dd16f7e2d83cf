/**
 * `npm run bench:search-api` — issue 22, item 6: what the API adds to a search's first page over the
 * database query it runs. On a catalog of BENCH_ITEMS (default 100,000) demo items:
 * - the server runs in its own process (`src/main.ts`, as in production), so the load client's
 *   work (this process) does not share its event loop;
 * - for each stored order, with the web app's `status: ACTIVE` filter and with none, in turn:
 *   the first page through the API (the web app's search document), the same page's database query
 *   from this process (the search repository, as the server runs it), and an HTTP round trip that
 *   does no work (`/healthz`: the floor any request pays);
 * - "API adds" is the API's median minus the query's median ("beyond the floor": minus the
 *   `/healthz` round trip's median too); "server CPU" is the server process's CPU time (all its
 *   threads) per API request over BENCH_RUNS API requests alone (from /proc: unlike a round trip,
 *   it does not grow when the machine is busy).
 * `BENCH_PROFILE=<dir>` writes the server's CPU profile there when it stops.
 */
import { print } from 'graphql';
import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';
import { createSearchRepository } from '../src/catalog/search.repository';
import { SearchItemsDocument } from '../test/generated/graphql';
import {
  benchCatalog,
  cpuMsOf,
  firstPageCases,
  graphqlRequest,
  loadAverage,
  loadCatalogInBulk,
  ms,
  printHeader,
  printProfile,
  printTable,
  spawnBenchServer,
  startBenchEngine,
  timeInTurn,
} from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const PAGE_SIZE = 20;
/** Requests of each case before any is measured. */
const WARM_UP_RUNS = 100;
/** How old the server's sort-window sample may grow before a page samples again (sortWindows.ts), and a margin. */
const SAMPLE_AGE_MS = 61_000;

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  const database = `bench_search_api_${randomBytes(4).toString('hex')}`;
  const connection = await mongoose.createConnection(engine.uri, { dbName: database }).asPromise();
  try {
    printHeader(`bench:search-api — ${ITEMS.toLocaleString('en')} items, page size ${PAGE_SIZE}`, engine);
    // The server first, on the empty database: its start-up popularity refresh (no impressions
    // tracked) then leaves the catalog's popularity alone, as in bench:search. It runs as in
    // production (NODE_ENV=production: graphql-js without its development checks); no popularity
    // refresh during the run.
    const server = await spawnBenchServer(engine.uri, database, {
      NODE_ENV: 'production',
      POPULARITY_REFRESH_MS: '86400000',
    });
    const loadSeconds = await loadCatalogInBulk(connection, benchCatalog(ITEMS));
    console.log(`catalog loaded in ${loadSeconds.toFixed(1)} s; load average ${loadAverage()}`);
    // The server samples its sort windows again on the first page once its sample (of the empty
    // catalog) is a minute old.
    const sampleStale = SAMPLE_AGE_MS - loadSeconds * 1000;
    if (sampleStale > 0) await new Promise((resolve) => setTimeout(resolve, sampleStale));
    const profileDir = process.env.BENCH_PROFILE;
    const profilesBefore = new Set(profileDir ? await profileFiles(profileDir) : []);
    try {
      const repository = createSearchRepository(connection);
      await repository.refreshSortWindows();
      const query = print(SearchItemsDocument);
      const healthz = new URL('/healthz', server.url).href;
      // A server in production is warm: every case's page a hundred times first (V8 optimizes what
      // runs often; the first case measured would otherwise pay for the others' warm-up), and each
      // query of this process's repository as often.
      for (const { page, variables } of firstPageCases(PAGE_SIZE))
        for (let run = 0; run < WARM_UP_RUNS; run++) {
          await graphqlRequest(server.url, query, variables);
          await repository.findPage(page);
        }
      const rows = [];
      for (const { order, filter, page, variables } of firstPageCases(PAGE_SIZE)) {
        const api = () => graphqlRequest(server.url, query, variables);
        const [apiTiming, databaseTiming, floorTiming] = await timeInTurn(
          [api, () => repository.findPage(page), () => fetch(healthz).then((response) => response.arrayBuffer())],
          RUNS,
        );
        // The server's CPU time per API request, over a run of API requests alone.
        const cpuBefore = cpuMsOf(server.server.child.pid!);
        for (let run = 0; run < RUNS; run++) await api();
        const serverCpu = (cpuMsOf(server.server.child.pid!) - cpuBefore) / RUNS;
        rows.push({
          order,
          filter,
          'API p50': ms(apiTiming!.median),
          'database p50': ms(databaseTiming!.median),
          'API adds (p50)': ms(apiTiming!.median - databaseTiming!.median),
          'HTTP floor p50': ms(floorTiming!.median),
          'adds beyond the floor': ms(apiTiming!.median - databaseTiming!.median - floorTiming!.median),
          'API p95': ms(apiTiming!.p95),
          'server CPU / request': ms(serverCpu),
        });
      }
      console.log(`\nFirst page through the API vs its database query (${RUNS} runs each, in turn):\n`);
      printTable(rows);
      console.log(`\nload average after: ${loadAverage()}`);
    } finally {
      await server.stop();
    }
    if (profileDir)
      for (const file of await profileFiles(profileDir)) if (!profilesBefore.has(file)) printProfile(file);
  } finally {
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
    await engine.stop();
  }
}

/** The CPU profiles in `dir` (the server writes one when it exits under BENCH_PROFILE). */
async function profileFiles(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries.filter((name) => name.endsWith('.cpuprofile')).map((name) => `${dir}/${name}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
