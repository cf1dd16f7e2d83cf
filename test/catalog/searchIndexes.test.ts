import type { mongo } from 'mongoose';
import { AuctionStatus } from '../../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import {
  createSearchRepository,
  type ItemSearch,
  type PageQuery,
  type SearchRepository,
  type SortKey,
} from '../../src/catalog/search.repository';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Every query search sends uses an index, checked with `explain` (executionStats) of the very
 * commands the repository sends, captured with the driver's command monitoring: the first page and a
 * continuation (the keyset seek) of every filter shape in every stored order, the relevance pipeline,
 * and the count and facets aggregations. Only engines with secondary indexes can pass: on
 * mongo-java-server, which accepts and ignores them (every query scans), the suite is skipped.
 */
const indexesIgnored = process.env.GAVEL_TEST_ENGINE === 'java';
const describeWithIndexes = indexesIgnored ? describe.skip : describe;
if (indexesIgnored) {
  // Jest lists no test of a file whose every test is skipped: say why in its output.
  console.warn('Skipping the search index checks (explain): mongo-java-server ignores secondary indexes.');
}

/**
 * Large enough that reading every match costs an order of magnitude more than a page needs (the
 * ACTIVE items are ~5,500 of them; a page of 21 read through a window of the order, ~275), and that
 * a planner weighing a scan against an index sees the difference; small enough to load in a few
 * seconds with every index in place.
 */
const CATALOG = 10_000;
/** A page, or a window of the order, reads at most this many keys or documents. */
const PAGE_WORK_LIMIT = CATALOG / 5;

/** The work a plan did and whether it used an index, from an explain with executionStats. */
interface PlanSummary {
  readonly usesIndex: boolean;
  readonly scansCollection: boolean;
  /** Most keys or documents examined by any stage. */
  readonly examined: number;
}

function summarize(explain: unknown): PlanSummary {
  // Rejected plans may scan; only what ran counts.
  const ran = JSON.stringify(explain, (key, value: unknown) => (key === 'rejectedPlans' ? undefined : value));
  let examined = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'totalKeysExamined' || key === 'totalDocsExamined') && typeof value === 'number')
          examined = Math.max(examined, value);
        else if (key !== 'rejectedPlans') visit(value);
      }
    }
  };
  visit(explain);
  return { usesIndex: ran.includes('"IXSCAN"'), scansCollection: ran.includes('"COLLSCAN"'), examined };
}

/** The commands whose plan scans the collection, uses no index, or examines more than `limit` entries. */
function problems(plans: ReadonlyArray<{ command: string; plan: PlanSummary }>, limit: number): string[] {
  return plans
    .filter(({ plan }) => !plan.usesIndex || plan.scansCollection || plan.examined > limit)
    .map(({ command, plan }) => `${command}: ${JSON.stringify(plan)}`);
}

describeWithIndexes(
  indexesIgnored
    ? 'search query shapes use an index (skipped: mongo-java-server ignores secondary indexes)'
    : 'search query shapes use an index (explain of the commands sent)',
  () => {
    let app: TestApp;
    let search: SearchRepository;
    const now = new Date();

    beforeAll(async () => {
      // The popularity set below must stay: the periodic refresh (no impressions tracked here) would
      // reset it to 0, so it runs only once, at startup, before the catalog exists.
      app = await startTestApp({
        env: { GAVEL_SEED_DEMO: 'false', POPULARITY_REFRESH_MS: '86400000' },
        monitorCommands: true,
      });
      const items = createAuctionItemRepository(app.database.connection);
      await items.insertMany(generateDemoCatalog(CATALOG, now));
      // Popularity as the refresh stores it: a fifth of the items ranked (with ties), the rest at 0.
      const ids = await app.database.connection
        .collection('auction_items')
        .find({}, { projection: { _id: 1 } })
        .toArray();
      await items.setPopularity(
        new Map(ids.filter((_, i) => i % 5 === 0).map(({ _id }, i) => [_id.toHexString(), 1 + (i % 50)])),
      );
      // As the app builds it: windows of the order where the engine sorts after fetching.
      search = createSearchRepository(app.database.connection);
      await search.refreshSortWindows();
    }, 120_000);
    afterAll(() => app.stop());

    /** Runs `work`, then explains each read command it sent (with executionStats). */
    async function explainSent(work: () => Promise<unknown>): Promise<Array<{ command: string; plan: PlanSummary }>> {
      const client = app.database.connection.getClient();
      const sent: mongo.Document[] = [];
      const listener = (event: mongo.CommandStartedEvent) => {
        if (['find', 'aggregate', 'count'].includes(event.commandName)) sent.push(event.command);
      };
      client.on('commandStarted', listener);
      try {
        await work();
      } finally {
        client.off('commandStarted', listener);
      }
      expect(sent.length).toBeGreaterThan(0);
      const explained = [];
      for (const command of sent) {
        // The command as the application wrote it, without the driver's session and routing fields.
        const bare = Object.fromEntries(
          Object.entries(command).filter(([key]) => !key.startsWith('$') && key !== 'lsid'),
        );
        const explain = await app.database.connection.db!.command({ explain: bare, verbosity: 'executionStats' });
        explained.push({
          command: JSON.stringify(bare, (_key, value: unknown) =>
            value instanceof Map ? Object.fromEntries(value) : value,
          ),
          plan: summarize(explain),
        });
      }
      return explained;
    }

    const searches: Array<[string, ItemSearch]> = [
      ['no filter', { words: [] }],
      ['status', { words: [], statuses: [AuctionStatus.ACTIVE] }],
      ['several statuses', { words: [], statuses: [AuctionStatus.ACTIVE, AuctionStatus.SCHEDULED] }],
      ['category and status', { words: [], categories: ['watches'], statuses: [AuctionStatus.ACTIVE] }],
      ['categories', { words: [], categories: ['watches', 'art'] }],
      ['price range', { words: [], price: { min: 1_000, max: 50_000 } }],
      ['ending within 24 h', { words: [], endsAt: { from: now, to: new Date(now.getTime() + 86_400_000) } }],
      ['created since', { words: [], createdAt: { from: new Date(now.getTime() - 7 * 86_400_000) } }],
      ['seller', { words: [], sellerId: 'seller-7' }],
      ['tags', { words: [], tags: ['vintage'] }],
      ['words', { words: ['vint', 'wat'] }],
    ];
    const sorts: Array<Exclude<SortKey, 'relevance'>> = ['createdAt', 'priceAmount', 'endsAt', 'popularity'];

    describe.each(sorts)('by %s', (key) => {
      it.each(searches)('%s: the first page and a continuation', async (_name, itemSearch) => {
        const first: PageQuery = { search: itemSearch, order: { key, direction: -1 }, limit: 21 };
        // A continuation well inside the order: after the 200th match (or the last, if fewer).
        const lead = await search.findPage({ ...first, limit: 200 });
        const position = lead.at(-1);
        const pages = [() => search.findPage(first)];
        if (position) {
          pages.push(() =>
            search.findPage({ ...first, after: { value: position.sortValue, id: position.record._id } }),
          );
        }
        const plans = [];
        for (const page of pages) plans.push(...(await explainSent(page)));
        expect(problems(plans, PAGE_WORK_LIMIT)).toEqual([]);
      });
    });

    it('words, by relevance: the pipeline matches through the word index', async () => {
      const first: PageQuery = {
        search: { words: ['vint', 'wat'] },
        order: { key: 'relevance', direction: -1 },
        limit: 21,
      };
      const [top] = await search.findPage(first);
      const plans = [];
      for (const page of [
        () => search.findPage(first),
        () => search.findPage({ ...first, after: { value: top!.sortValue, id: top!.record._id } }),
      ])
        plans.push(...(await explainSent(page)));
      // Relevance scores every match of the words, so only index use is asked of it.
      expect(problems(plans, CATALOG - 1)).toEqual([]);
    });

    // A count or facets reads every match, so the index cannot make it small: it must still select
    // the matches through an index instead of scanning the catalog.
    it.each(searches.filter(([name]) => name !== 'no filter'))(
      '%s: totalCount and facets select their matches through an index',
      async (_name, itemSearch) => {
        const plans = [];
        for (const work of [() => search.count(itemSearch), () => search.facets(itemSearch)])
          plans.push(...(await explainSent(work)));
        expect(problems(plans, CATALOG - 1)).toEqual([]);
      },
    );
  },
);
