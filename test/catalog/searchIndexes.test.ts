import { auctionItemModel, AuctionStatus } from '../../src/catalog/auctionItem.model';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { searchFilter, type ItemSearch, type SortKey } from '../../src/catalog/search.repository';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Index use can only be checked on the real `mongod`: the offline engine accepts secondary
 * indexes but never uses them. On it, this suite is skipped (and says so in the jest output).
 */
const realMongod = process.env.GAVEL_TEST_ENGINE !== 'java';
const describeOnMongod = realMongod ? describe : describe.skip;

describeOnMongod('search query shapes use an index on the real mongod (explain)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false' } });
    await createAuctionItemRepository(app.database.connection).ensureIndexes();
    await createAuctionItemRepository(app.database.connection).insertMany(generateDemoCatalog(2_000, new Date()));
  });
  afterAll(() => app.stop());

  const now = new Date();
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
  const sorts: SortKey[] = ['createdAt', 'priceAmount', 'endsAt'];

  it.each(searches.flatMap(([name, search]) => sorts.map((sort) => [`${name}, by ${sort}`, search, sort] as const)))(
    '%s',
    async (_name, search, sort) => {
      const model = auctionItemModel(app.database.connection);
      const plan = (await model
        .find(searchFilter(search))
        .sort({ [sort]: -1, _id: -1 })
        .limit(21)
        .explain('queryPlanner')) as unknown as
        Array<{ queryPlanner: { winningPlan: unknown } }> | { queryPlanner: { winningPlan: unknown } };
      const winning = JSON.stringify(
        Array.isArray(plan) ? plan[0]!.queryPlanner.winningPlan : plan.queryPlanner.winningPlan,
      );
      expect(winning).toContain('IXSCAN');
      expect(winning).not.toContain('COLLSCAN');
    },
  );
});
