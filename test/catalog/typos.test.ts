import { ManualClock } from '../../src/shared/clock';
import { allowedTypos, deletions, typoDistance } from '../../src/catalog/typos';
import { CreateAuctionItemDocument, TypoSearchDocument, UpdateAuctionItemDocument } from '../generated/graphql';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';

describe('typo distance', () => {
  it.each([
    ['camera', 'camera', 0],
    ['camera', 'cmaera', 1], // two neighbours swapped: one edit
    ['camera', 'camra', 1],
    ['camera', 'cameras', 1],
    ['camera', 'kamera', 1],
    ['chronograph', 'cronogrpah', 2],
    ['chronograph', 'kronogrpah', 3],
    ['chronograph', 'chronogrph', 1],
    ['watch', 'match', 1],
    ['watch', 'wrist', 4], // beyond the maximum: reported as max + 1
    ['ĉapelo', 'capelo', 1], // letters, not UTF-16 units
  ])('%s → %s: %i', (a, b, expected) => {
    expect(typoDistance(a, b, 1)).toBe(Math.min(expected, 2));
    expect(typoDistance(a, b, 2)).toBe(Math.min(expected, 3));
  });

  it('allows one typo from 5 letters and two from 9, none below', () => {
    expect(['lamp', 'clock', 'vintage!', 'porcelain', 'ŝtono'].map((word) => allowedTypos(word))).toEqual([
      0, 1, 1, 2, 1,
    ]);
  });

  it('lists the deletions of a word without the word itself', () => {
    expect(deletions('abc', 1).sort()).toEqual(['ab', 'ac', 'bc']);
    expect(deletions('aab', 1).sort()).toEqual(['aa', 'ab']);
    expect(deletions('abc', 2).sort()).toEqual(['a', 'ab', 'ac', 'b', 'bc', 'c']);
  });
});

describe('auctionItems with typos', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let app: TestApp;
  const ids: Record<string, string> = {};

  const create = async (key: string, title: string, description = '', tags: string[] = []) => {
    const response = await execute(app, CreateAuctionItemDocument, {
      input: {
        title,
        description,
        tags,
        category: 'cameras',
        startingPrice: { amount: 10_000, currency: 'EUR' },
        startsAt: '2026-03-01T11:00:00.000Z',
        endsAt: '2026-03-08T11:00:00.000Z',
        sellerId: 'seller-1',
      },
    });
    expect(response.errors).toBeUndefined();
    ids[key] = response.data!.createAuctionItem.id;
  };
  const search = async (query: string, orderBy?: { field: 'RELEVANCE'; direction: 'DESC' }) => {
    const response = await execute(app, TypoSearchDocument, { query, orderBy });
    expect(response.errors).toBeUndefined();
    return response.data!.auctionItems;
  };
  const titles = (result: Awaited<ReturnType<typeof search>>) => result.edges.map((edge) => edge.node.title);

  beforeAll(async () => {
    app = await startTestApp({ clock, env: { GAVEL_SEED_DEMO: 'false' } });
    await create('leica', 'Leica rangefinder camera', 'A 1958 body with its lens.');
    await create('canon', 'Canon reflex body', 'Sold with a camera strap.', ['camera']);
    await create('chrono', 'Omega chronograph', 'Steel, 1970.');
    await create('kamera', 'Kamera bag', 'Leather.');
    await create('lamp', 'Brass lamp', 'Art deco.');
  });
  afterAll(() => app.stop());

  it('finds a word with one typo from 5 letters, and says what it matched', async () => {
    // Two neighbours swapped: one edit from "camera"; "kamera" is two away.
    const result = await search('cmaera');
    expect(titles(result).sort()).toEqual(['Canon reflex body', 'Leica rangefinder camera']);
    expect(result.totalCount).toBe(2);
    expect(result.edges.map((edge) => edge.matchedTerms)).toEqual([['camera'], ['camera']]);
    expect(result.didYouMean).toBe('camera');
    // And a word with the other camera: one edit from "kamera" and from "camera".
    expect(titles(await search('kamra')).sort()).toEqual(['Kamera bag']);
  });

  it('finds a word with two typos from 9 letters, not three', async () => {
    const result = await search('cronogrpah');
    expect(titles(result)).toEqual(['Omega chronograph']);
    expect(result.didYouMean).toBe('chronograph');
    expect(titles(await search('kronogrpah'))).toEqual([]);
  });

  it('takes no typo under 5 letters, and no second typo under 9', async () => {
    expect(titles(await search('lmap'))).toEqual([]);
    expect(titles(await search('lamp'))).toEqual(['Brass lamp']);
    expect(titles(await search('cmaeras'))).toEqual([]);
  });

  it('ranks matches as typed above corrected ones, title before body, and reports no correction then', async () => {
    const result = await search('camera', { field: 'RELEVANCE', direction: 'DESC' });
    // As typed: in Leica's title, in Canon's description and tags; corrected: Kamera's title.
    expect(titles(result)).toEqual(['Leica rangefinder camera', 'Canon reflex body', 'Kamera bag']);
    expect(result.edges.map((edge) => edge.matchedTerms)).toEqual([['camera'], ['camera'], ['kamera']]);
    expect(result.didYouMean).toBeNull();
  });

  it('keeps prefixes as typed: a word still matches the longer words it begins', async () => {
    const result = await search('rangefind');
    expect(titles(result)).toEqual(['Leica rangefinder camera']);
    expect(result.edges[0]!.matchedTerms).toEqual(['rangefinder']);
    expect(result.didYouMean).toBeNull();
  });

  it('learns the words of a renamed item', async () => {
    expect(titles(await search('hasselbladd'))).toEqual([]);
    const renamed = await execute(app, UpdateAuctionItemDocument, {
      id: ids.lamp!,
      input: { title: 'Hasselblad lamp' },
    });
    expect(renamed.errors).toBeUndefined();
    expect(titles(await search('hasselbladd'))).toEqual(['Hasselblad lamp']);
  });

  it('treats hostile and odd queries as words, never as patterns', async () => {
    for (const query of ['.*', 'cam^era', '$where', 'camera)(', '(((((', 'ĉamera', '😀😀😀😀😀']) {
      const response = await execute(app, TypoSearchDocument, { query });
      expect([query, response.errors]).toEqual([query, undefined]);
    }
    // No letters, no words: every item, as without a query; never a pattern matching them all.
    expect(titles(await search('.*'))).toHaveLength(5);
    // As a pattern, "l.mp" would match "lamp"; as words ("l", "mp") it matches nothing.
    expect(titles(await search('l.mp'))).toEqual([]);
    const tooLong = await execute(app, TypoSearchDocument, { query: 'a'.repeat(10_000) });
    expect(errorCodes(tooLong)).toEqual(['BAD_USER_INPUT']);
  });
});
