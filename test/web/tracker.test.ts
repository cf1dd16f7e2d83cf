import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Types } from 'mongoose';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { buildWebAssets, launchBrowser, newContext } from '../support/browser';
import type { Clock } from '../../src/shared/clock';
import { insertDemoItems } from '../support/catalogFixtures';
import { startTestApp, type TestApp } from '../support/testApp';

// The browser tracker (/tracker.js) in headless Chromium against a real Gavel: viewability,
// clicks, batching, keepalive on page hide and retries, checked in the stored events.

let app: TestApp;
let browser: Browser;
let assets: Awaited<ReturnType<typeof buildWebAssets>>;
let context: BrowserContext;
let page: Page;
/** The server's clock: real time (the browser's timestamps are real) plus what a test moved it on. */
let serverAheadMs = 0;
const serverClock: Clock = { now: () => new Date(Date.now() + serverAheadMs) };
/** The server's impression dedup window (TRACKING_IMPRESSION_COOLDOWN_MS default). */
const IMPRESSION_WINDOW_MS = 30_000;

beforeAll(async () => {
  assets = await buildWebAssets();
  app = await startTestApp({
    clock: serverClock,
    env: { WEB_ASSETS_DIR: assets.dir, TRACKING_REQUIRE_SIGNED_SESSIONS: 'true' },
  });
  await insertDemoItems(app, 300);
  browser = await launchBrowser();
  // Builds the assets, starts a server and a browser and writes 300 items: more than one test's time.
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  assets?.remove();
});

beforeEach(async () => {
  context = await newContext(browser);
  page = await context.newPage();
});

afterEach(async () => {
  await context.close();
});

const origin = (): string => new URL(app.url).origin;

/** The tracker's session on the current page (each test has a browser profile, hence a session, of its own). */
let sessionId: string;

/** Stored events of one item in this test's session, by outcome. */
async function stored(itemId: string, type: 'IMPRESSION' | 'CLICK'): Promise<Record<string, number>> {
  const rows = await app.database.connection
    .collection('tracking_events')
    .aggregate<{ _id: string; n: number }>([
      { $match: { itemId: new Types.ObjectId(itemId), type, sessionId } },
      { $group: { _id: '$outcome', n: { $sum: 1 } } },
    ])
    .toArray();
  return Object.fromEntries(rows.map((row) => [row._id, row.n]));
}

/** Waits until `check` holds (the tracker sends on its own schedule); fails with the last value. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** The item's stored outcomes once one is ACCEPTED, or what is stored when `eventually` gives up. */
function storedOnceAccepted(itemId: string, type: 'IMPRESSION' | 'CLICK'): Promise<Record<string, number>> {
  return eventually(
    () => stored(itemId, type),
    (n) => n.ACCEPTED === 1,
  );
}

/** Opens /demo (tracker on) and waits for the cards and the tracker's session. */
async function openDemo(query = ''): Promise<string[]> {
  await page.goto(`${origin()}/demo${query}`);
  await page.waitForSelector('#items li:nth-child(40)');
  await page.waitForFunction(() => !!window.sessionStorage.getItem('gavel.session'));
  sessionId = await page.evaluate(
    () => (JSON.parse(window.sessionStorage.getItem('gavel.session')!) as { sessionId: string }).sessionId,
  );
  return page.$$eval('#items li', (cards) => cards.map((card) => (card as HTMLElement).dataset.gavelItem!));
}

/** The id of the card at `index`, scrolled to the middle of the viewport. */
async function showCard(index: number): Promise<string> {
  const card = page.locator(`#items li >> nth=${index}`);
  await card.evaluate((element) => element.scrollIntoView({ block: 'center' }));
  return (await card.getAttribute('data-gavel-item'))!;
}

/** Scrolls back to the top (the first cards only in view). */
const scrollTop = (): Promise<void> => page.evaluate(() => window.scrollTo(0, 0));
const flush = (): Promise<void> => page.evaluate(() => window.gavel!.flush());
const pause = (ms: number): Promise<void> => page.waitForTimeout(ms);

/** The tracking requests (those carrying events) the page sends: their count and variables. */
function countTrackingRequests(): { count: () => number; bodies: Array<{ variables: { i?: Event[]; c?: Event[] } }> } {
  const bodies: Array<{ variables: { i?: Event[]; c?: Event[] } }> = [];
  page.on('request', (request) => {
    const body = request.postData() ?? '';
    if (request.url().endsWith('/graphql') && /track(Impressions|Clicks)/.test(body)) bodies.push(JSON.parse(body));
  });
  return { count: () => bodies.length, bodies };
}
type Event = { itemId: string };

describe('assets', () => {
  it('serves /tracker.js under 5 KB gzipped, as JavaScript, cacheable and embeddable from any origin', async () => {
    const response = await fetch(`${origin()}/tracker.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(readFileSync(path.join(assets.dir, 'tracker.js')))).toBe(true);
    expect(gzipSync(body, { level: 9 }).length).toBeLessThan(5 * 1024);
    expect(gzipSync(readFileSync(path.join(assets.dir, 'tracker.mjs')), { level: 9 }).length).toBeLessThan(5 * 1024);
  });

  it('serves the pages with a same-origin content security policy, revalidated on each load', async () => {
    for (const route of ['/demo', '/dashboard']) {
      const response = await fetch(`${origin()}${route}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const html = await (await fetch(`${origin()}/demo`)).text();
    const script = /src="(\/assets\/demo-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${origin()}${script!}`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect((await fetch(`${origin()}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${origin()}/assets/../package.json`)).status).toBe(404);
  });

  it('is importable as an ES module', async () => {
    await page.goto(`${origin()}/demo`);
    const exported = await page.evaluate(async (url) => Object.keys(await import(url)), `${origin()}/tracker.mjs`);
    expect(exported).toEqual(['startTracker']);
  });

  it('names the build command when the assets are missing', async () => {
    const bare = await startTestApp({ env: { WEB_ASSETS_DIR: path.join(assets.dir, 'missing') } });
    try {
      const response = await fetch(`${new URL(bare.url).origin}/dashboard`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('npm run build');
    } finally {
      await bare.stop();
    }
  });
});

describe('viewability impressions', () => {
  it('records exactly one ACCEPTED impression for an item in view for over a second', async () => {
    await openDemo();
    const itemId = await showCard(20);
    await pause(1_500);
    await flush();
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
    // Still in view, scrolled away and back, flushed again: one view of the page is one impression.
    await pause(1_200);
    await scrollTop();
    await showCard(20);
    await pause(1_200);
    await flush();
    expect(await stored(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });

  it('records nothing for an item in view for half a second', async () => {
    await openDemo();
    const glimpsed = await showCard(22);
    await pause(500);
    await scrollTop();
    await pause(1_500);
    await flush();
    // The cards at the top were in view long enough: their batch has arrived, the glimpsed one is not in it.
    const first = await page.locator('#items li >> nth=0').getAttribute('data-gavel-item');
    await storedOnceAccepted(first!, 'IMPRESSION');
    expect(await stored(glimpsed, 'IMPRESSION')).toEqual({});
  });

  it('picks up cards added after load (MutationObserver)', async () => {
    await openDemo();
    await page.click('#more');
    await page.waitForSelector('#items li:nth-child(80)');
    const itemId = await showCard(70);
    await pause(1_300);
    await flush();
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });
});

describe('clicks', () => {
  it('tracks a click, after the impression it proves, in the same request', async () => {
    await openDemo();
    const requests = countTrackingRequests();
    const itemId = await showCard(30);
    await page.locator('#items li >> nth=30').click();
    await flush();
    expect(await storedOnceAccepted(itemId, 'CLICK')).toEqual({ ACCEPTED: 1 });
    expect(await stored(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
    // One request carried both: the impression (the click proves the item was seen) and the click.
    const carrying = requests.bodies.filter(({ variables }) => variables.c?.some((event) => event.itemId === itemId));
    expect(carrying).toHaveLength(1);
    expect(carrying[0]!.variables.i?.map((event) => event.itemId)).toContain(itemId);
  });
});

describe('search results', () => {
  it("credits a click on a search result to its search and position, from the search's session", async () => {
    await page.goto(`${origin()}/demo?q=watch`);
    await page.waitForSelector('#items li:nth-child(3)');
    const searchId = await page.getAttribute('#items', 'data-gavel-search');
    expect(searchId).toMatch(/^[0-9a-f]{24}$/);
    const requests = countTrackingRequests();
    const itemId = await showCard(2);
    await page.locator('#items li >> nth=2').click();
    await flush();
    await eventually(
      async () => requests.bodies.flatMap(({ variables }) => variables.c ?? []),
      (clicks) => clicks.length === 1,
    );
    expect(requests.bodies.flatMap(({ variables }) => variables.c ?? [])).toEqual([
      expect.objectContaining({ itemId, searchId, position: 2, source: 'SEARCH' }),
    ]);
    // The search and the click were made in one session: the click counts for the query, at its position.
    const watch = await eventually(
      async () => {
        await app.services.searches.flushRecorded();
        const rows = await app.database.connection
          .collection<{ query: string; clicks: number; clicksAt: Record<string, number> }>('search_days')
          .find({ query: 'watch' })
          .toArray();
        return rows[0];
      },
      (row) => row?.clicks === 1,
    );
    expect(watch).toMatchObject({ clicks: 1, clicksAt: { '2': 1 } });
  });
});

describe('experiments', () => {
  it('tags the events of cards inside an element marked with an experiment and variant', async () => {
    await page.goto(`${origin()}/demo?experiment=hero-cards&variant=wide`);
    await page.waitForSelector('#items li:nth-child(10)');
    await page.waitForFunction(() => !!window.sessionStorage.getItem('gavel.session'));
    sessionId = await page.evaluate(
      () => (JSON.parse(window.sessionStorage.getItem('gavel.session')!) as { sessionId: string }).sessionId,
    );
    const itemId = await showCard(5);
    await page.locator('#items li >> nth=5').click();
    await flush();
    expect(await storedOnceAccepted(itemId, 'CLICK')).toEqual({ ACCEPTED: 1 });
    const events = await app.database.connection
      .collection('tracking_events')
      .find({ itemId: new Types.ObjectId(itemId), sessionId }, { projection: { type: 1, experiment: 1, variant: 1 } })
      .toArray();
    expect(
      events
        .map(({ type, experiment, variant }) => ({ type, experiment, variant }))
        .sort((a, b) => a.type.localeCompare(b.type)),
    ).toEqual([
      { type: 'CLICK', experiment: 'hero-cards', variant: 'wide' },
      { type: 'IMPRESSION', experiment: 'hero-cards', variant: 'wide' },
    ]);
  });

  it('leaves out a malformed tag instead of sending events the API would refuse', async () => {
    await page.goto(`${origin()}/demo?experiment=${encodeURIComponent('hero cards')}&variant=wide`);
    await page.waitForSelector('#items li:nth-child(10)');
    await page.waitForFunction(() => !!window.sessionStorage.getItem('gavel.session'));
    sessionId = await page.evaluate(
      () => (JSON.parse(window.sessionStorage.getItem('gavel.session')!) as { sessionId: string }).sessionId,
    );
    const itemId = await showCard(6);
    await pause(1_300);
    await flush();
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
    const event = await app.database.connection
      .collection('tracking_events')
      .findOne({ itemId: new Types.ObjectId(itemId), sessionId });
    expect(event).not.toHaveProperty('experiment');
  });
});

describe('signed-in users', () => {
  /** Stored events of one item carrying a user id, as tracking stored them. */
  const userEvents = (itemId: string) =>
    app.database.connection
      .collection('tracking_events')
      .find(
        { itemId: new Types.ObjectId(itemId), userId: { $exists: true } },
        { projection: { _id: 0, sessionId: 1, userId: 1, outcome: 1, userNotCounted: 1 } },
      )
      .toArray();

  it("starts the session for the page's user, and a new one when the user changes (issue 19, finding 9)", async () => {
    await openDemo('?userId=u-42');
    const first = sessionId;
    expect(await page.evaluate(() => JSON.parse(window.sessionStorage.getItem('gavel.session')!).userId)).toBe('u-42');
    const before = await showCard(24);
    await pause(1_300);
    await flush();
    // Counted as u-42's: its session was started for u-42 (no userNotCounted).
    expect(
      await eventually(
        () => userEvents(before),
        (rows) => rows.length === 1,
      ),
    ).toEqual([{ sessionId: first, userId: 'u-42', outcome: 'ACCEPTED' }]);

    await page.evaluate(() => window.gavel!.setUserId('u-43'));
    await page.waitForFunction(() => JSON.parse(window.sessionStorage.getItem('gavel.session')!).userId === 'u-43');
    // A card never in view before (the page's tracker records each card's impression once).
    await page.click('#more');
    await page.waitForSelector('#items li:nth-child(80)');
    const after = await showCard(75);
    await pause(1_300);
    await flush();
    const rows = await eventually(
      () => userEvents(after),
      (found) => found.length === 1,
    );
    expect(rows).toEqual([{ sessionId: expect.any(String), userId: 'u-43', outcome: 'ACCEPTED' }]);
    expect(rows[0]!.sessionId).not.toBe(first);
  });
});

describe('delivery', () => {
  it('delivers a batch still waiting when the page goes away (keepalive on pagehide)', async () => {
    await openDemo('?flushDelayMs=600000');
    const requests = countTrackingRequests();
    const itemId = await showCard(21);
    await pause(1_300);
    expect(requests.count()).toBe(0);
    await page.goto(`${origin()}/healthz`);
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });

  it('delivers when the tab is hidden (visibilitychange) before the batch was due', async () => {
    await openDemo('?flushDelayMs=600000');
    const itemId = await showCard(23);
    await pause(1_300);
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });

  it('retries while the server is unreachable and delivers once it is back, counted once', async () => {
    await openDemo();
    let failures = 0;
    const down = async (route: Route): Promise<void> => {
      if (/track(Impressions|Clicks)/.test(route.request().postData() ?? '')) {
        failures++;
        await route.abort('connectionrefused');
      } else await route.continue();
    };
    await page.route('**/graphql', down);
    const itemId = await showCard(25);
    await pause(1_300);
    await flush();
    await eventually(
      async () => failures,
      (n) => n >= 2,
    );
    expect(await stored(itemId, 'IMPRESSION')).toEqual({});
    expect(await page.evaluate(() => window.gavel!.pending())).toBeGreaterThan(0);
    await page.unroute('**/graphql', down);
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
    await eventually(
      () => page.evaluate(() => window.gavel!.pending()),
      (n) => n === 0,
    );
    expect(await stored(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });

  it('retries a batch whose answer was lost in the next dedup window of server time; it counts once', async () => {
    await openDemo();
    let lost = 0;
    await page.route('**/graphql', async (route) => {
      if (lost === 0 && /trackImpressions/.test(route.request().postData() ?? '')) {
        lost++;
        await route.fetch(); // the server stores it …
        // … a whole window of server time passes (the retry lands in the next one; the event's
        // timestamp, resent unchanged, keeps it in the first) …
        serverAheadMs += IMPRESSION_WINDOW_MS;
        await route.abort('connectionreset'); // … and the browser never hears back
      } else await route.continue();
    });
    const requests = countTrackingRequests();
    const itemId = await showCard(26);
    await pause(1_300);
    await flush();
    await eventually(
      () => page.evaluate(() => window.gavel!.pending()),
      (n) => n === 0,
    );
    expect(requests.count()).toBeGreaterThanOrEqual(2);
    expect(await stored(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
  });

  it('waits as long as a RATE_LIMITED answer says before it sends the batch again', async () => {
    await openDemo();
    const RETRY_AFTER_MS = 2_500;
    let refusedAt = 0;
    let retriedAt = 0;
    // This test's card only: other cards still in view send impressions of their own meanwhile.
    const target = (await page.locator('#items li >> nth=28').getAttribute('data-gavel-item'))!;
    await page.route('**/graphql', async (route) => {
      const body = route.request().postData() ?? '';
      const events = /trackImpressions/.test(body)
        ? ((JSON.parse(body) as { variables: { i?: Event[] } }).variables.i ?? [])
        : [];
      if (!events.some((event) => event.itemId === target)) return route.continue();
      if (refusedAt === 0) {
        refusedAt = Date.now();
        return route.fulfill({
          status: 429,
          contentType: 'application/json',
          body: JSON.stringify({
            data: null,
            errors: [{ message: 'over budget', extensions: { code: 'RATE_LIMITED', retryAfterMs: RETRY_AFTER_MS } }],
          }),
        });
      }
      retriedAt ||= Date.now();
      return route.continue();
    });
    const itemId = await showCard(28);
    expect(itemId).toBe(target);
    await pause(1_300);
    await flush();
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });
    // The backoff alone would retry after about 0.5 s.
    expect(retriedAt - refusedAt).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
  });

  it('retries SERVICE_UNAVAILABLE answers and gives up at once on refused requests', async () => {
    await openDemo();
    let answered = 0;
    await page.route('**/graphql', async (route) => {
      if (answered === 0 && /trackImpressions/.test(route.request().postData() ?? '')) {
        answered++;
        await route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            data: null,
            errors: [{ message: 'down', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
          }),
        });
      } else await route.continue();
    });
    const itemId = await showCard(27);
    await pause(1_300);
    await flush();
    expect(await storedOnceAccepted(itemId, 'IMPRESSION')).toEqual({ ACCEPTED: 1 });

    // A card with a malformed id: the server answers INVALID for it, which is final.
    const requests = countTrackingRequests();
    await page.evaluate(() => {
      const card = document.createElement('div');
      card.dataset.gavelItem = 'not-an-id';
      card.textContent = 'forged';
      card.id = 'forged';
      document.body.prepend(card);
    });
    await page.click('#forged');
    await flush();
    await eventually(
      () => page.evaluate(() => window.gavel!.pending()),
      (n) => n === 0,
    );
    await pause(1_500);
    expect(requests.count()).toBe(1);
    const invalid = await app.database.connection
      .collection('tracking_events')
      .countDocuments({ rawItemId: 'not-an-id', outcome: 'INVALID' });
    expect(invalid).toBeGreaterThan(0);
  });

  it('keeps memory bounded while offline: the oldest events are dropped beyond maxQueue', async () => {
    await openDemo();
    await page.route('**/graphql', (route) => route.abort('internetdisconnected'));
    const state = await page.evaluate(async (url) => {
      window.gavel!.stop();
      const { startTracker } = (await import(url)) as typeof import('../../web/tracker/tracker');
      const tracker = startTracker({ maxQueue: 5, flushDelayMs: 10 });
      for (const card of document.querySelectorAll<HTMLElement>('#items li')) card.click();
      await tracker.flush();
      return { pending: tracker.pending(), dropped: tracker.dropped() };
    }, `${origin()}/tracker.mjs`);
    expect(state.pending).toBe(5);
    // 40 cards clicked: an impression and a click each.
    expect(state.dropped).toBe(80 - 5);
  });
});
