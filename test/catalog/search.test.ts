import 'reflect-metadata';
import { createHmac } from 'node:crypto';
import { Types } from 'mongoose';
import type { AuctionItemRecord } from '../../src/catalog/auctionItem.model';
import { createAuctionItemRepository, type NewAuctionItem } from '../../src/catalog/auctionItem.repository';
import { demoCategories, generateDemoCatalog, seededRandom } from '../../src/catalog/demoCatalog';
import { createSearchRepository } from '../../src/catalog/search.repository';
import { SearchService, type SearchArguments } from '../../src/catalog/search.service';
import { searchTermsOf } from '../../src/catalog/searchTerms';
import { CursorCodec } from '../../src/graphql/cursor';
import {
  SearchItemsDocument,
  SearchTotalsDocument,
  type AuctionItemFilter,
  type AuctionItemOrder,
  type SearchItemsQueryVariables,
} from '../generated/graphql';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;
let app: TestApp;
let catalog: AuctionItemRecord[];

/**
 * A catalog with many ties in every sort key (creation dates on whole days, prices on round
 * amounts), so that pagination must break ties by id to be correct.
 */
function tiedCatalog(count: number, seed: number): NewAuctionItem[] {
  return generateDemoCatalog(count, NOW, seed).map((item, index) => ({
    ...item,
    createdAt: new Date(Math.floor(item.createdAt.getTime() / (5 * DAY)) * 5 * DAY),
    priceAmount: Math.round(item.priceAmount / 50_000) * 50_000,
    endsAt: index % 3 === 0 ? new Date(Math.floor(item.endsAt.getTime() / DAY) * DAY) : item.endsAt,
  }));
}

beforeAll(async () => {
  // The popularity set below must stay: the periodic refresh (no impressions tracked here) would
  // reset it to 0, so it runs only once, at startup, before the catalog exists.
  app = await startTestApp({
    env: { GAVEL_SEED_DEMO: 'false', POPULARITY_REFRESH_MS: '86400000' },
    monitorCommands: true,
  });
  const repository = createAuctionItemRepository(app.database.connection);
  await repository.insertMany(tiedCatalog(300, 7));
  // Popularity as the refresh stores it: a third of the items ranked, with ties; the rest never
  // ranked, so they tie at 0 and only their ids order them.
  const ids = await app.database.connection
    .collection('auction_items')
    .find({}, { projection: { _id: 1 } })
    .toArray();
  await repository.setPopularity(
    new Map(ids.filter((_, index) => index % 3 === 0).map(({ _id }, index) => [_id.toHexString(), 1 + (index % 7)])),
  );
  catalog = await app.database.connection.collection<AuctionItemRecord>('auction_items').find().toArray();
});
afterAll(() => app.stop());

// ---- An independent model of search, written from the API's documented semantics. ----

const words = (text: string) =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

function matches(item: AuctionItemRecord, query: string | undefined, filter: AuctionItemFilter): boolean {
  const itemWords = [...words(item.title), ...words(item.description), ...item.tags.flatMap(words)];
  const queryWords = words(query ?? '');
  const within = (value: number, min?: number | null, max?: number | null) =>
    (min == null || value >= min) && (max == null || value <= max);
  const inRange = (value: Date, range?: { from?: string | null; to?: string | null } | null) =>
    !range ||
    ((range.from == null || value.getTime() >= Date.parse(range.from)) &&
      (range.to == null || value.getTime() < Date.parse(range.to)));
  return (
    queryWords.every((word) => itemWords.some((itemWord) => itemWord.startsWith(word))) &&
    (filter.category == null || filter.category.includes(item.category)) &&
    (filter.status == null || filter.status.includes(item.status)) &&
    (filter.sellerId == null || filter.sellerId === item.sellerId) &&
    (filter.currency == null || filter.currency === item.currency) &&
    (filter.tags == null || filter.tags.every((tag) => item.tags.includes(tag))) &&
    within(item.priceAmount, filter.price?.min, filter.price?.max) &&
    inRange(item.createdAt, filter.createdAt) &&
    inRange(item.endsAt, filter.endsAt)
  );
}

function relevance(item: AuctionItemRecord, query: string): number {
  const titleWords = words(item.title);
  return words(query).reduce((score, word) => score + (titleWords.some((w) => w.startsWith(word)) ? 3 : 1), 0);
}

function expectedIds(query: string | undefined, filter: AuctionItemFilter, order: AuctionItemOrder): string[] {
  const keyOf = (item: AuctionItemRecord): number => {
    switch (order.field) {
      case 'CREATED_AT':
        return item.createdAt.getTime();
      case 'PRICE':
        return item.priceAmount;
      case 'ENDS_AT':
        return item.endsAt.getTime();
      case 'RELEVANCE':
        return relevance(item, query ?? '');
      case 'POPULARITY':
        return item.popularity ?? 0;
    }
  };
  const sign = order.direction === 'ASC' ? 1 : -1;
  return catalog
    .filter((item) => matches(item, query, filter))
    .sort((a, b) => sign * (keyOf(a) - keyOf(b) || a._id.toHexString().localeCompare(b._id.toHexString())))
    .map((item) => item._id.toHexString());
}

async function walkForward(
  variables: SearchItemsQueryVariables,
  pageSize: number,
  server: TestApp = app,
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null | undefined;
  for (let page = 0; page < 500; page++) {
    const response = await execute(server, SearchItemsDocument, { ...variables, first: pageSize, after });
    expect(response.errors).toBeUndefined();
    const connection = response.data!.auctionItems;
    ids.push(...connection.edges.map((edge) => edge.node.id));
    expect(connection.pageInfo.hasPreviousPage).toBe(page > 0);
    if (!connection.pageInfo.hasNextPage) return ids;
    after = connection.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

async function walkBackward(
  variables: SearchItemsQueryVariables,
  pageSize: number,
  server: TestApp = app,
): Promise<string[]> {
  const pages: string[][] = [];
  let before: string | null | undefined;
  for (let page = 0; page < 500; page++) {
    const response = await execute(server, SearchItemsDocument, { ...variables, last: pageSize, before });
    expect(response.errors).toBeUndefined();
    const connection = response.data!.auctionItems;
    pages.unshift(connection.edges.map((edge) => edge.node.id));
    expect(connection.pageInfo.hasNextPage).toBe(page > 0);
    if (!connection.pageInfo.hasPreviousPage) return pages.flat();
    before = connection.pageInfo.startCursor;
  }
  throw new Error('pagination did not end');
}

describe('auctionItems pagination (property-style, against an in-test model)', () => {
  const random = seededRandom(2026);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const queryWords = ['vint', 'watch', 'gold', 'sign', 'rare', 'class', 'mid', 'pearl', 'oak', 'lot', 'd'];
  const scenarios = Array.from({ length: 24 }, (_, index) => {
    const filter: AuctionItemFilter = {};
    if (random() < 0.4) filter.category = [pick(demoCategories), pick(demoCategories)];
    if (random() < 0.4) filter.status = [pick(['ACTIVE', 'SCHEDULED', 'ENDED', 'CANCELLED'] as const)];
    if (random() < 0.3) filter.price = { min: pick([0, 50_000, 100_000]), max: pick([null, 500_000, 2_000_000]) };
    if (random() < 0.2) filter.createdAt = { from: new Date(NOW.getTime() - 30 * DAY).toISOString() };
    if (random() < 0.2)
      filter.endsAt = { from: NOW.toISOString(), to: new Date(NOW.getTime() + 7 * DAY).toISOString() };
    if (random() < 0.15) filter.currency = pick(['USD', 'EUR', 'GBP']);
    if (random() < 0.1) filter.tags = ['vintage'];
    const query =
      random() < 0.45 ? [pick(queryWords), random() < 0.3 ? pick(queryWords) : ''].join(' ').trim() : undefined;
    const fields = query
      ? (['CREATED_AT', 'PRICE', 'ENDS_AT', 'POPULARITY', 'RELEVANCE'] as const)
      : (['CREATED_AT', 'PRICE', 'ENDS_AT', 'POPULARITY'] as const);
    const orderBy: AuctionItemOrder = { field: pick(fields), direction: pick(['ASC', 'DESC'] as const) };
    return {
      name: `#${index} ${JSON.stringify({ query, filter, orderBy })}`,
      query,
      filter,
      orderBy,
      pageSize: 1 + Math.floor(random() * 25),
    };
  });

  it.each(scenarios)('walks every page forward and backward: %#', async ({ query, filter, orderBy, pageSize }) => {
    const expected = expectedIds(query, filter, orderBy);
    const variables = { query, filter, orderBy };
    expect(await walkForward(variables, pageSize)).toEqual(expected);
    expect(await walkBackward(variables, pageSize)).toEqual(expected);
  });

  describe('with the sort order cut into windows (as on engines that sort after fetching)', () => {
    // The search service on a repository whose windows hold half a page of matches, with every item
    // sampled: every page spans several windows, some end exactly at a window's end, and ties
    // straddle window ends. (The service, not a second server: a second app's startup popularity
    // refresh would reset the popularity set above.)
    let service: SearchService;
    const sampleErrors: unknown[] = [];
    beforeAll(async () => {
      const repository = createSearchRepository(app.database.connection, {
        sortWindows: {
          mode: 'on',
          pagesPerWindow: 0.5,
          sampleSize: 1_000,
          onSampleError: (error) => sampleErrors.push(error),
        },
      });
      await repository.refreshSortWindows();
      service = new SearchService(repository, new CursorCodec('search-test-cursor-secret'));
    });

    const argumentsOf = (query: string | undefined, filter: AuctionItemFilter, orderBy: AuctionItemOrder) => {
      const dates = (range?: { from?: string | null; to?: string | null } | null) =>
        range && {
          from: range.from == null ? undefined : new Date(range.from),
          to: range.to == null ? undefined : new Date(range.to),
        };
      return {
        query,
        filter: { ...filter, createdAt: dates(filter.createdAt), endsAt: dates(filter.endsAt) },
        orderBy,
      } as SearchArguments;
    };

    it('fills a page from as many windows as it takes, one query each', async () => {
      // Every item is sampled and the search has no filter, so each window holds exactly half of what
      // the page still misses, rounded up: 11, 5, 3, 1 and 1 of the 21 items (20 and one more).
      expect(sampleErrors).toEqual([]);
      const client = app.database.connection.getClient();
      const finds: unknown[] = [];
      const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
        if (event.commandName === 'find') finds.push(event.command.filter);
      };
      client.on('commandStarted', listener);
      try {
        const { edges } = await service.search({ first: 20 }).page();
        expect(edges.map((edge) => edge.node.id)).toEqual(
          expectedIds(undefined, {}, { field: 'CREATED_AT', direction: 'DESC' }).slice(0, 20),
        );
      } finally {
        client.off('commandStarted', listener);
      }
      expect(finds).toHaveLength(5);
    });

    it.each(scenarios)('walks every page forward and backward: %#', async ({ query, filter, orderBy, pageSize }) => {
      const args = argumentsOf(query, filter, orderBy);
      const forward: string[] = [];
      for (let after: string | null | undefined; ;) {
        const { edges, pageInfo } = await service.search({ ...args, first: pageSize, after }).page();
        forward.push(...edges.map((edge) => edge.node.id));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      const backward: string[][] = [];
      for (let before: string | null | undefined; ;) {
        const { edges, pageInfo } = await service.search({ ...args, last: pageSize, before }).page();
        backward.unshift(edges.map((edge) => edge.node.id));
        if (!pageInfo.hasPreviousPage) break;
        before = pageInfo.startCursor;
      }
      const expected = expectedIds(query, filter, orderBy);
      expect(forward).toEqual(expected);
      expect(backward.flat()).toEqual(expected);
    });
  });

  it('defaults to 20 items, newest first', async () => {
    const response = await execute(app, SearchItemsDocument, {});
    expect(response.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(
      expectedIds(undefined, {}, { field: 'CREATED_AT', direction: 'DESC' }).slice(0, 20),
    );
  });

  it('never duplicates or skips pre-existing items when items are inserted between pages', async () => {
    const filter: AuctionItemFilter = { category: ['watches', 'art'] };
    const orderBy: AuctionItemOrder = { field: 'CREATED_AT', direction: 'DESC' };
    const before = expectedIds(undefined, filter, orderBy);
    const repository = createAuctionItemRepository(app.database.connection);
    const seen: string[] = [];
    let after: string | null | undefined;
    let insertRound = 0;
    for (;;) {
      const response = await execute(app, SearchItemsDocument, { filter, orderBy, first: 7, after });
      const connection = response.data!.auctionItems;
      seen.push(...connection.edges.map((edge) => edge.node.id));
      // New items land everywhere in the order: newest, oldest, and tied with existing dates.
      const fresh = tiedCatalog(6, 100 + insertRound++).map((item, index) => ({
        ...item,
        category: index % 2 === 0 ? 'watches' : 'art',
        createdAt: [NOW, new Date(0), catalog[index * 40]!.createdAt][index % 3]!,
      }));
      await repository.insertMany(fresh);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    const preExisting = new Set(before);
    const seenPreExisting = seen.filter((id) => preExisting.has(id));
    expect(seenPreExisting).toEqual(before);
    expect(new Set(seen).size).toBe(seen.length);
    // Restore the shared catalog for the other tests.
    await app.database.connection
      .collection('auction_items')
      .deleteMany({ _id: { $nin: catalog.map((item) => item._id) } });
  });
});

describe('auctionItems text search', () => {
  it('matches whole words and word prefixes case-insensitively ("vint wat" finds "Vintage Watch")', async () => {
    const repository = createAuctionItemRepository(app.database.connection);
    const base = tiedCatalog(1, 999)[0]!;
    const special = [
      { title: 'Vintage Watch', description: 'A fine piece', tags: [] },
      { title: 'Café Crème Poster', description: 'Paris 1920', tags: ['affiche'] },
      { title: 'Plain Box', description: 'Contains a vintage watch strap', tags: [] },
    ].map((text) => ({ ...base, ...text, ...searchTermsOf(text), category: 'testing' }));
    await repository.insertMany(special);
    const search = async (query: string, orderBy?: AuctionItemOrder) => {
      const response = await execute(app, SearchItemsDocument, { query, filter: { category: ['testing'] }, orderBy });
      expect(response.errors).toBeUndefined();
      return response.data!.auctionItems.edges.map((edge) => edge.node.title);
    };
    expect(await search('vint wat', { field: 'RELEVANCE', direction: 'DESC' })).toEqual(['Vintage Watch', 'Plain Box']);
    expect(await search('VINTAGE')).toHaveLength(2);
    expect(await search('cafe creme')).toEqual(['Café Crème Poster']);
    expect(await search('CRÈME')).toEqual(['Café Crème Poster']);
    expect(await search('affi')).toEqual(['Café Crème Poster']);
    // No infix matching: a word's middle is no prefix ("ntage" is two edits from "vintage", beyond
    // the one typo a 5-letter word may carry; test/catalog/typos.test.ts covers typos).
    expect(await search('ntage')).toEqual([]);
    expect(await search('tage')).toEqual([]);
    await app.database.connection.collection('auction_items').deleteMany({ category: 'testing' });
  });

  it.each(['.*', '(a+)+$', '{"$gt": ""}', '$where', '^\\', '[', 'a\u0000b'])(
    'treats hostile text %j as plain words',
    async (query) => {
      const response = await execute(app, SearchItemsDocument, { query, first: 100 });
      expect(response.errors).toBeUndefined();
      const expected = expectedIds(query, {}, { field: 'CREATED_AT', direction: 'DESC' }).slice(0, 100);
      expect(response.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(expected);
    },
  );

  it('searches other scripts and compatibility characters as words, not patterns', async () => {
    // NFKD folds "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" to "unicode" and "ǅ" to "dz": words no demo item has.
    const response = await execute(app, SearchItemsDocument, { query: 'ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉' });
    expect(response.errors).toBeUndefined();
    expect(response.data!.auctionItems.edges).toEqual([]);
  });

  it('rejects an oversized query or too many words with BAD_USER_INPUT', async () => {
    for (const query of ['x'.repeat(201), 'a b c d e f g h i']) {
      const response = await execute(app, SearchItemsDocument, { query });
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    }
  });
});

describe('auctionItems totals and facets', () => {
  it('counts all matches and facets them by category, status and price band', async () => {
    const filter: AuctionItemFilter = { status: ['ACTIVE', 'ENDED'] };
    const query = 'rare';
    const expected = catalog.filter((item) => matches(item, query, filter));
    const response = await execute(app, SearchTotalsDocument, { query, filter });
    expect(response.errors).toBeUndefined();
    const { totalCount, facets } = response.data!.auctionItems;
    expect(totalCount).toBe(expected.length);
    const tally = (values: string[]) =>
      Object.entries(
        values.reduce<Record<string, number>>((acc, value) => ({ ...acc, [value]: (acc[value] ?? 0) + 1 }), {}),
      )
        .map(([value, count]) => ({ value, count }))
        .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    expect(facets.category).toEqual(tally(expected.map((item) => item.category)));
    expect(facets.status).toEqual(tally(expected.map((item) => item.status)));
    const bands = [0, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000];
    expect(facets.priceBands).toEqual(
      bands.map((min, index) => ({
        min,
        max: bands[index + 1] ?? null,
        count: expected.filter(
          (item) => item.priceAmount >= min && (bands[index + 1] === undefined || item.priceAmount < bands[index + 1]!),
        ).length,
      })),
    );
  });
});

describe('auctionItems bad input', () => {
  const firstPage = () => execute(app, SearchItemsDocument, { first: 3 });

  it.each<[string, SearchItemsQueryVariables, string]>([
    ['first above 100', { first: 101 }, 'first'],
    ['first of 0', { first: 0 }, 'first'],
    ['negative first', { first: -1 }, 'first'],
    ['negative last', { last: -5 }, 'last'],
    ['both first and last', { first: 5, last: 5 }, 'last'],
    ['RELEVANCE without a query', { orderBy: { field: 'RELEVANCE', direction: 'DESC' } }, 'orderBy.field'],
    ['an inverted price range', { filter: { price: { min: 10, max: 5 } } }, 'filter.price'],
    ['a negative price', { filter: { price: { min: -1 } } }, 'filter.price.min'],
    [
      'an inverted date range',
      { filter: { endsAt: { from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' } } },
      'filter.endsAt',
    ],
    ['an empty category list', { filter: { category: [] } }, 'filter.category'],
    ['a garbage cursor', { after: 'bm9wZQ' }, 'after'],
    ['an oversized cursor', { after: 'x'.repeat(5_000) }, 'after'],
  ])('rejects %s with BAD_USER_INPUT', async (_name, variables, field) => {
    const response = await execute(app, SearchItemsDocument, variables);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(response.data).toBeNull();
  });

  it('rejects an edited, forged or foreign cursor with BAD_USER_INPUT, never a wrong page', async () => {
    const cursor = (await firstPage()).data!.auctionItems.pageInfo.endCursor!;
    const bytes = Buffer.from(cursor, 'base64url');
    const edited = Buffer.from(bytes);
    edited[40]! ^= 0x01;
    const payload = { o: 'createdAt:-1', s: 'AAAAAAAAAAAAAAAA', v: 0, t: 1, i: catalog[0]!._id.toHexString() };
    const forged = new CursorCodec('someone-elses-secret-value').encode(payload);
    // The signed-but-readable format cursors had before they were encrypted, even with this server's secret.
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signedInClear = `${body}.${createHmac('sha256', 'gavel-development-cursor-secret').update(body).digest().subarray(0, 12).toString('base64url')}`;
    for (const after of [edited.toString('base64url'), forged, cursor.slice(0, -4), `${cursor}AAAA`, signedInClear]) {
      const response = await execute(app, SearchItemsDocument, { first: 3, after });
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    const otherSearch = await execute(app, SearchItemsDocument, {
      first: 3,
      after: cursor,
      filter: { status: ['ACTIVE'] },
    });
    expect(otherSearch.errors?.[0]?.message).toMatch(/different search/);
    const otherOrder = await execute(app, SearchItemsDocument, {
      first: 3,
      after: cursor,
      orderBy: { field: 'PRICE', direction: 'DESC' },
    });
    expect(otherOrder.errors?.[0]?.message).toMatch(/different search or order/);
  });

  it('accepts a cursor for a deleted item and continues from its position', async () => {
    const page = (await firstPage()).data!.auctionItems;
    const last = page.edges.at(-1)!;
    const expected = expectedIds(undefined, {}, { field: 'CREATED_AT', direction: 'DESC' });
    const collection = app.database.connection.collection('auction_items');
    const removed = await collection.findOne({ _id: new Types.ObjectId(last.node.id) });
    await collection.deleteOne({ _id: removed!._id });
    try {
      const next = await execute(app, SearchItemsDocument, { first: 3, after: last.cursor });
      expect(next.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(expected.slice(3, 6));
    } finally {
      await collection.insertOne(removed!);
    }
  });

  it('rejects unknown enum values and wrong types before running', async () => {
    const query = 'query($o: AuctionItemOrder, $f: Int) { auctionItems(orderBy: $o, first: $f) { totalCount } }';
    const unknownField = await postRaw(app, { query, variables: { o: { field: 'POPULARITYX', direction: 'DESC' } } });
    expect(errorCodes(unknownField)).toEqual(['BAD_USER_INPUT']);
    const wrongType = await postRaw(app, { query, variables: { f: '10' } });
    expect(errorCodes(wrongType)).toEqual(['BAD_USER_INPUT']);
    const inlineEnum = await postRaw(app, { query: '{ auctionItems(filter: { status: [SOLD] }) { totalCount } }' });
    expect(errorCodes(inlineEnum)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});
