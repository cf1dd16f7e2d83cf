import { ManualClock } from '../../src/shared/clock';
import {
  CreateAuctionItemDocument,
  EraseSubjectDocument,
  RecordedSearchDocument,
  TrackClicksDocument,
  SuggestDocument,
  SuggestionCountDocument,
  UpdateAuctionItemDocument,
  type AuctionItemFilter,
  type SuggestQuery,
} from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';
import { runGavel, type CommandResult } from '../support/serverProcess';
import { executeOverWebsocket } from '../support/websocket';

/**
 * `searchSuggestions` (issue 21): completions from open lots' title words, tags and categories,
 * counted under the same filter as `auctionItems`, changed at once when a lot opens or closes.
 */

const clock = new ManualClock('2026-03-01T12:00:00.000Z');
const OPEN = { startsAt: '2026-03-01T11:00:00.000Z', endsAt: '2026-03-08T11:00:00.000Z' };
const LATER = { startsAt: '2026-03-02T11:00:00.000Z', endsAt: '2026-03-08T11:00:00.000Z' };

let app: TestApp;
const ids: Record<string, string> = {};
/** The main app's settings: each search may say its client address (X-Forwarded-For), as past queries count them. */
const SUGGESTING = { GAVEL_SEED_DEMO: 'false', SUGGESTIONS_PER_MINUTE: '0', TRUST_PROXY: '1' };

interface Lot {
  title: string;
  description?: string;
  tags?: string[];
  category?: string;
  price?: number;
  seller?: string;
  schedule?: { startsAt: string; endsAt: string };
}

async function create(key: string, lot: Lot): Promise<void> {
  const response = await execute(app, CreateAuctionItemDocument, {
    input: {
      title: lot.title,
      description: lot.description ?? '',
      tags: lot.tags ?? [],
      category: lot.category ?? 'cameras',
      startingPrice: { amount: lot.price ?? 10_000, currency: 'EUR' },
      ...(lot.schedule ?? OPEN),
      sellerId: lot.seller ?? 'seller-1',
    },
  });
  expect(response.errors).toBeUndefined();
  ids[key] = response.data!.createAuctionItem.id;
}

async function update(key: string, input: Record<string, unknown>): Promise<void> {
  const response = await execute(app, UpdateAuctionItemDocument, { id: ids[key]!, input });
  expect(response.errors).toBeUndefined();
}

async function suggest(
  prefix: string,
  filter?: AuctionItemFilter,
  first?: number,
): Promise<SuggestQuery['searchSuggestions']> {
  const response = await execute(app, SuggestDocument, { prefix, filter, first });
  expect(response.errors).toBeUndefined();
  return response.data!.searchSuggestions;
}

/** Suggestions as `KIND text n` lines (`~` marks a corrected one), for readable assertions. */
async function lines(prefix: string, filter?: AuctionItemFilter, first?: number): Promise<string[]> {
  return (await suggest(prefix, filter, first)).map(
    (s) => `${s.kind} ${s.text} ${s.openLots}${s.corrected ? ' ~' : ''}`,
  );
}

beforeAll(async () => {
  app = await startTestApp({ clock, env: SUGGESTING });
  await create('leica', { title: 'Leica rangefinder camera', tags: ['vintage'], price: 90_000 });
  await create('canon', { title: 'Canon camera body', tags: ['film'], price: 50_000, seller: 'seller-2' });
  await create('strap', { title: 'Camera strap', price: 1_000, seller: 'seller-3' });
  // "camera" only in the description: counted for the word, which its title does not offer.
  await create('tripod', { title: 'Tripod', description: 'Fits any camera.', price: 3_000 });
  await create('lantern', {
    title: 'Camping lantern',
    tags: ['camping gear'],
    category: 'outdoor',
    price: 2_000,
  });
  // Not open yet: counted by nothing until it opens.
  await create('bag', { title: 'Camera bag', schedule: LATER, price: 4_000 });
  await create('cafe', { title: 'Café crème cups', category: 'kitchen' });
});
afterAll(() => app?.stop());

describe('searchSuggestions', () => {
  it('completes the last word from open lots, with categories and tags, each with the open lots it finds', async () => {
    expect(await lines('cam')).toEqual(['WORD camera 4', 'WORD camping 1', 'CATEGORY cameras 4', 'TAG camping gear 1']);
    const [camera] = await suggest('Cam');
    expect(camera).toMatchObject({ query: 'camera', corrected: false });
    // The count is what the search finds among open lots.
    const found = await execute(app, SuggestionCountDocument, { query: 'camera', filter: { status: ['ACTIVE'] } });
    expect(found.data!.auctionItems.totalCount).toBe(camera!.openLots);
  });

  it('offers only words some open lot has in its title', async () => {
    // "fits" is a word of the tripod's description alone.
    expect(await lines('fit')).toEqual([]);
    expect(await lines('trip')).toEqual(['WORD tripod 1']);
  });

  it('keeps to `first`, words before filters', async () => {
    expect(await lines('cam', undefined, 1)).toEqual(['WORD camera 4']);
    expect(await lines('cam', undefined, 2)).toEqual(['WORD camera 4', 'WORD camping 1']);
  });

  it('counts under the filter of auctionItems: category, price, seller, status', async () => {
    expect(await lines('cam', { category: ['outdoor'] })).toEqual(['WORD camping 1', 'TAG camping gear 1']);
    expect(await lines('cam', { category: ['outdoor', 'cameras'] })).toEqual([
      'WORD camera 4',
      'WORD camping 1',
      'TAG camping gear 1',
    ]);
    expect(await lines('cam', { price: { max: 3_000 } })).toEqual([
      'WORD camera 2',
      'WORD camping 1',
      'CATEGORY cameras 2',
      'TAG camping gear 1',
    ]);
    expect(await lines('cam', { sellerId: 'seller-2' })).toEqual(['WORD camera 1', 'CATEGORY cameras 1']);
    // Another status is counted over its lots: the bag is scheduled.
    expect(await lines('cam', { status: ['SCHEDULED'] })).toEqual(['WORD camera 1', 'CATEGORY cameras 1']);
    for (const filter of [{ price: { max: 3_000 } }, { sellerId: 'seller-2' }, { category: ['outdoor'] }]) {
      const [first] = await suggest('cam', filter);
      const found = await execute(app, SuggestionCountDocument, {
        query: first!.query!,
        filter: { ...filter, status: ['ACTIVE'] },
      });
      expect(found.data!.auctionItems.totalCount).toBe(first!.openLots);
    }
  });

  it("counts a seller's lots and a price range on the facets' bounds (max included) as the lots do", async () => {
    // Prices: strap 1,000, tripod 3,000, lantern 2,000, cups 10,000, canon 50,000, leica 90,000. The
    // last case, two filters at once, is counted over the lots (the tripod has "camera" in its
    // description only: counted for the category, not offered as a word).
    const cases: Array<[AuctionItemFilter, string[]]> = [
      [{ price: { max: 1_000 } }, ['WORD camera 1', 'CATEGORY cameras 1']],
      [
        { price: { min: 1_000, max: 5_000 } },
        ['WORD camera 2', 'WORD camping 1', 'CATEGORY cameras 2', 'TAG camping gear 1'],
      ],
      [{ price: { min: 50_000 } }, ['WORD camera 2', 'CATEGORY cameras 2']],
      [{ price: { min: 5_000, max: 50_000 } }, ['WORD camera 1', 'CATEGORY cameras 1']],
      [{ price: { min: 50_000, max: 50_000 } }, ['WORD camera 1', 'CATEGORY cameras 1']],
      [{ sellerId: 'seller-3' }, ['WORD camera 1', 'CATEGORY cameras 1']],
      // A seller id is a name, never a pattern.
      [{ sellerId: 'seller-.*' }, []],
      [{ sellerId: 'seller-1', price: { max: 5_000 } }, ['WORD camping 1', 'CATEGORY cameras 1', 'TAG camping gear 1']],
    ];
    for (const [filter, expected] of cases) {
      expect({ filter, suggested: await lines('cam', filter) }).toEqual({ filter, suggested: expected });
      const [first] = await suggest('cam', filter);
      if (!first) continue;
      const found = await execute(app, SuggestionCountDocument, {
        query: first!.query!,
        filter: { ...filter, status: ['ACTIVE'] },
      });
      expect(found.data!.auctionItems.totalCount).toBe(first!.openLots);
    }
  });

  it('narrows the counts by the words typed before the last one', async () => {
    expect(await suggest('leica cam')).toEqual([
      { kind: 'WORD', text: 'camera', query: 'leica camera', openLots: 1, corrected: false },
    ]);
    expect(await lines('canon s')).toEqual([]);
    // A tag is completed whole, spaces included.
    expect(await lines('Camping  G')).toEqual(['TAG camping gear 1']);
  });

  it('corrects a typo in a word of 5 letters or more when nothing completes it as typed', async () => {
    expect(await suggest('camra')).toEqual([
      { kind: 'WORD', text: 'camera', query: 'camera', openLots: 4, corrected: true },
    ]);
    // A word that completes as typed is offered its completions alone.
    expect(await lines('lante')).toEqual(['WORD lantern 1']);
    // Four letters: typed exactly or not at all.
    expect(await lines('camr')).toEqual([]);
  });

  it('folds case and diacritics as search does', async () => {
    expect(await lines('CAF')).toEqual(['WORD cafe 1']);
    expect(await lines('crè')).toEqual(['WORD creme 1']);
  });

  it('follows lots as they open, close and change, at once', async () => {
    await create('zeppelin', { title: 'Zeppelin poster', category: 'posters' });
    expect(await lines('zep')).toEqual(['WORD zeppelin 1']);
    await update('zeppelin', { title: 'Airship poster' });
    expect(await lines('zep')).toEqual([]);
    expect(await lines('airs')).toEqual(['WORD airship 1']);
    await update('zeppelin', { status: 'ENDED' });
    expect(await lines('airs')).toEqual([]);
    expect(await lines('poster')).toEqual([]);

    // The scheduled bag opens: "camera" finds one more open lot. Read with first: 1, each answer
    // bounds the next read by its count (an index range on engines that sort after fetching); a
    // count that falls below it is still found.
    expect(await lines('camera', undefined, 1)).toEqual(['WORD camera 4']);
    await update('bag', { status: 'ACTIVE' });
    expect(await lines('camera', undefined, 1)).toEqual(['WORD camera 5']);
    await update('bag', { status: 'CANCELLED' });
    expect(await lines('camera', undefined, 1)).toEqual(['WORD camera 4']);
  });

  it.each([
    ['empty', '', 'prefix'],
    ['only punctuation and regex metacharacters', '.*+?^${}()|[]\\', 'prefix'],
    ['10,000 characters', 'a'.repeat(10_000), 'prefix'],
    ['nine words', 'a b c d e f g h i', 'prefix'],
  ])('refuses a prefix that is %s with BAD_USER_INPUT', async (_, prefix, field) => {
    const response = await execute(app, SuggestDocument, { prefix });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions).toMatchObject({ field });
  });

  it('treats metacharacters inside a prefix as separators, never as a pattern', async () => {
    // No tag holds "(": the words are completed as "cam" would be.
    expect(await lines('(cam')).toEqual(['WORD camera 4', 'WORD camping 1', 'CATEGORY cameras 4']);
    // Two words, "ca" and "ra": the Leica is the open lot with a word beginning each.
    expect(await suggest('ca.*ra')).toEqual([
      { kind: 'WORD', text: 'rangefinder', query: 'ca rangefinder', openLots: 1, corrected: false },
    ]);
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 21 }, 'first'],
    [{ filter: { price: { min: -1 } } }, 'filter.price.min'],
    [{ filter: { category: [] } }, 'filter.category'],
  ])('refuses %j with BAD_USER_INPUT on %s', async (variables, field) => {
    const response = await execute(app, SuggestDocument, { prefix: 'cam', ...variables });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions).toMatchObject({ field });
  });

  it('refuses a missing or mistyped prefix before it runs', async () => {
    const missing = await postRaw(app, { query: '{ searchSuggestions { text } }' });
    const mistyped = await postRaw(app, { query: '{ searchSuggestions(prefix: 42) { text } }' });
    expect(errorCodes(missing)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(errorCodes(mistyped)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('searchSuggestions per client address (SUGGESTIONS_PER_MINUTE)', () => {
  let limited: TestApp;
  const minute = new ManualClock('2026-03-01T12:00:10.000Z');
  beforeAll(async () => {
    limited = await startTestApp({
      clock: minute,
      env: { GAVEL_SEED_DEMO: 'false', SUGGESTIONS_PER_MINUTE: '3', WS_ALLOW_QUERIES: 'true' },
    });
  });
  afterAll(() => limited?.stop());

  it('refuses past the budget with RATE_LIMITED, on HTTP and on graphql-ws alike, until the next minute', async () => {
    for (let call = 0; call < 2; call++) {
      expect((await execute(limited, SuggestDocument, { prefix: 'cam' })).errors).toBeUndefined();
    }
    expect((await executeOverWebsocket(limited, SuggestDocument, { prefix: 'cam' })).errors).toBeUndefined();
    const overHttp = await execute(limited, SuggestDocument, { prefix: 'cam' });
    const overWebsocket = await executeOverWebsocket(limited, SuggestDocument, { prefix: 'cam' });
    for (const refused of [overHttp, overWebsocket]) {
      expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['RATE_LIMITED']);
      expect(refused.errors![0]!.extensions!.retryAfterMs).toBe(50_000);
    }
    minute.advance(50_000);
    expect((await execute(limited, SuggestDocument, { prefix: 'cam' })).errors).toBeUndefined();
  });
});

describe('counters that missed writes: gavel suggestions check|repair, and a database from before them', () => {
  /** `npm run suggestions -- …` (`gavel suggestions …`) as its own process on the app's database. */
  const suggestions = (command: string): Promise<CommandResult> =>
    runGavel(['suggestions', command], {
      NODE_ENV: 'test',
      MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
      MONGODB_DB: app.databaseName,
      ...(process.env.MONGODB_SHARDING ? { MONGODB_SHARDING: process.env.MONGODB_SHARDING } : {}),
    });
  const counters = () => app.database.connection.collection<{ _id: string; open: number }>('search_suggestions');

  it('finds a counter off by a missed write, and repairs it to the open lots', async () => {
    expect(await suggestions('check')).toMatchObject({ code: 0, stdout: '' });
    await counters().updateOne({ _id: 'WORD::camera' }, { $inc: { open: 5 } });
    expect((await suggest('camera'))[0]!.openLots).toBe(9);

    const checked = await suggestions('check');
    expect(checked.code).toBe(1);
    expect(checked.stdout).toBe('WORD\t*\tcamera\t9/3\t4/3\n');
    expect(checked.stderr).toContain('1 suggestion counters differ from the open lots.');
    const repaired = await suggestions('repair');
    expect(repaired.code).toBe(0);
    expect((await suggest('camera'))[0]!.openLots).toBe(4);
    expect(await suggestions('check')).toMatchObject({ code: 0, stdout: '' });
  });

  it('refuses an unknown command with its usage (exit 2)', async () => {
    const result = await suggestions('rebuild');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('suggestions check');
  });

  it('counts the open lots of a database written before the counters when the server starts', async () => {
    const before = await lines('cam');
    await counters().drop();
    await app.stop();
    app = await startTestApp({
      clock,
      databaseName: app.databaseName,
      env: SUGGESTING,
    });
    expect(await lines('cam')).toEqual(before);
  });

  it('counts the seller and price scopes of a database written before them when the server starts', async () => {
    const filters: AuctionItemFilter[] = [{ sellerId: 'seller-2' }, { price: { min: 50_000 } }];
    const before = await Promise.all(filters.map((filter) => lines('cam', filter)));
    await counters().deleteMany({ scope: { $regex: '^(seller|price)' } });
    await app.stop();
    app = await startTestApp({
      clock,
      databaseName: app.databaseName,
      env: SUGGESTING,
    });
    expect(await Promise.all(filters.map((filter) => lines('cam', filter)))).toEqual(before);
  });
});

describe('past successful queries (SUGGESTIONS_QUERY_MIN_SEARCHERS, 5 by default)', () => {
  /**
   * Each session searches `query` (as a browser: searchId back) and clicks the first result; the
   * n-th from `address(n)` (by default an address of its own).
   */
  async function succeed(
    query: string,
    sessions: readonly string[],
    address = (n: number) => `203.0.113.${n + 1}`,
  ): Promise<void> {
    for (const [n, sessionId] of sessions.entries()) {
      const found = await execute(
        app,
        RecordedSearchDocument,
        { query },
        { ...BROWSER, 'x-session-id': sessionId, 'x-forwarded-for': address(n) },
      );
      const page = found.data!.auctionItems;
      await app.services.tracking.drainImplicitQueue(); // the results page was the impression
      const clicked = await execute(
        app,
        TrackClicksDocument,
        {
          events: [
            { sessionId, itemId: page.edges[0]!.node.id, searchId: page.searchId, position: 0, source: 'SEARCH' },
          ],
        },
        BROWSER,
      );
      expect(clicked.data!.trackClicks.accepted).toBe(1);
    }
    await app.services.searches.flushRecorded();
  }
  const sessions = (name: string, count: number) => Array.from({ length: count }, (_, n) => `${name}-${n}`);
  /** Suggestions once the past queries' counts this prefix and filter ask for are taken (off the request path). */
  async function counted(prefix: string, filter?: AuctionItemFilter): Promise<string[]> {
    await lines(prefix, filter);
    await app.services.suggestions.pastQueryCountsSettled();
    return lines(prefix, filter);
  }

  it('offers a query five sessions clicked a result of, before the words, with the lots it finds; not one four did', async () => {
    await succeed('camera body', sessions('body', 5));
    // Four sessions, one of them twice (past the impression and click cooldowns): still four.
    await succeed('leica camera', sessions('leica', 4));
    clock.advance(60_000);
    await succeed('leica camera', ['leica-0']);
    expect(await app.services.suggestions.refreshPastQueries()).toBe(1);

    // Not in the answer that asks for its count first.
    expect(await lines('cam')).toEqual(['WORD camera 4', 'WORD camping 1', 'CATEGORY cameras 4', 'TAG camping gear 1']);
    await app.services.suggestions.pastQueryCountsSettled();
    expect(await lines('cam')).toEqual([
      'QUERY camera body 1',
      'WORD camera 4',
      'WORD camping 1',
      'CATEGORY cameras 4',
      'TAG camping gear 1',
    ]);
    const [body] = await suggest('CAMERA  b');
    expect(body).toMatchObject({ kind: 'QUERY', text: 'camera body', query: 'camera body', corrected: false });
    // The word completing to the same query is not offered twice.
    expect(await lines('camera b')).toEqual(['QUERY camera body 1']);
    expect(await lines('leica')).toEqual(['WORD leica 1']);
  });

  it('counts a past query under the filter, and leaves it out where it finds no lot', async () => {
    expect(await counted('camera b', { sellerId: 'seller-2' })).toEqual(['QUERY camera body 1']);
    expect(await counted('camera b', { sellerId: 'seller-1' })).toEqual([]);
    expect(await counted('camera b', { price: { max: 1_000 } })).toEqual([]);
  });

  it('counts a client that mints sessions once: five sessions from one address are one searcher', async () => {
    await succeed('canon camera', sessions('minted', 6), () => '198.51.100.7');
    await app.services.suggestions.refreshPastQueries();
    expect(await counted('canon')).toEqual(['WORD canon 1']);
  });

  it('never offers a query that found its results only through a typo correction', async () => {
    await succeed('leica camra', sessions('typo', 5));
    await app.services.suggestions.refreshPastQueries();
    expect(await counted('leica')).toEqual(['WORD leica 1']);
  });

  it('forgets a query at the next rebuild once an erasure leaves fewer than five sessions', async () => {
    const erased = await execute(app, EraseSubjectDocument, { sessionId: 'body-0' });
    expect(erased.data!.eraseSubject.searchEvents).toBe(1);
    expect(await lines('camera b')).toEqual(['QUERY camera body 1']);
    expect(await app.services.suggestions.refreshPastQueries()).toBe(0);
    expect(await lines('camera b')).toEqual(['WORD body 1']);
  });

  it('leaves out a past query within 5 s of its lots closing', async () => {
    await succeed('camera body', sessions('again', 5));
    await app.services.suggestions.refreshPastQueries();
    expect(await counted('camera b')).toEqual(['QUERY camera body 1']);
    await update('canon', { status: 'ENDED' });
    // A count is shown up to 5 s after it was taken, and taken again by a request after 1 s.
    clock.advance(1_000);
    expect(await lines('camera b')).toEqual(['QUERY camera body 1']);
    await app.services.suggestions.pastQueryCountsSettled();
    expect(await lines('camera b')).toEqual([]);
  });

  it('never shows a count older than 5 s, even before it is taken again', async () => {
    await update('strap', { title: 'Camera body strap' });
    clock.advance(1_000);
    expect(await counted('camera b')).toEqual(['QUERY camera body 1']);
    clock.advance(5_000);
    expect(await lines('camera b')).toEqual(['WORD body 1']);
  });
});
