import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import {
  RecordedSearchDocument,
  TrackClicksDocument,
  TrackConversionsDocument,
  TrackImpressionsDocument,
} from '../generated/graphql';
import { buildWebAssets, launchBrowser, newContext } from '../support/browser';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';
import { repoRoot } from '../../src/shared/repoRoot';

// The /dashboard page in headless Chromium against a real Gavel with keys enforced: live totals,
// drill-down chart, search with facets and paging, accessibility (axe-core) at laptop and phone size.

/** Coalescing interval of live updates for this server. */
const LIVE_INTERVAL_MS = 300;
const FUNNEL_SETTLE_MS = 1_500;
/** `SCREENSHOTS=1 npx jest test/web/dashboard.test.ts` also writes the screenshots of README.md and docs/dashboard.md into docs/. */
const screenshots = process.env.SCREENSHOTS === '1';

let app: TestApp;
let browser: Browser;
let assets: Awaited<ReturnType<typeof buildWebAssets>>;
let context: BrowserContext;
let page: Page;
let itemIds: string[];
const keys = { ANALYST: '', SELLER: '', INGEST: '' };
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

beforeAll(async () => {
  assets = await buildWebAssets();
  app = await startTestApp({
    env: {
      WEB_ASSETS_DIR: assets.dir,
      AUTH_MODE: 'keys',
      LIVE_INTERVAL_MS: String(LIVE_INTERVAL_MS),
      // Funnels and experiments are built (and read live) each second, from events at least
      // FUNNEL_SETTLE_MS old, as in production: an event is stamped when received and stored after,
      // and a round that read past its stamp before it was stored would miss it for good.
      FUNNEL_SETTLE_MS: String(FUNNEL_SETTLE_MS),
      FUNNEL_REFRESH_MS: '1000',
    },
  });
  itemIds = await insertDemoItems(app, 200);
  keys.ANALYST = (await app.services.auth.createKey({ role: 'ANALYST', label: 'dashboard test' })).key;
  // A seller with no items here: every result's figures are someone else's.
  keys.SELLER = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-without-items' })).key;
  keys.INGEST = (await app.services.auth.createKey({ role: 'INGEST' })).key;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  assets?.remove();
});

afterEach(async () => {
  await context?.close();
});

const origin = (): string => new URL(app.url).origin;

/** Opens the dashboard in a fresh profile and signs in with `key`. */
async function openDashboard(
  key: string,
  size: 'laptop' | 'phone' = 'laptop',
  hash = '',
  prepare?: (page: Page) => Promise<void>,
): Promise<void> {
  context = await newContext(browser, size);
  page = await context.newPage();
  await prepare?.(page);
  await page.goto(`${origin()}/dashboard${hash}`);
  await page.fill('#api-key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

/**
 * Opens the dashboard with its websockets passed through to the server by a route; returns the
 * latest one, for the test to close as a network or the server would.
 */
async function openWithRoutedSocket(key: string): Promise<() => WebSocketRoute> {
  let latest: WebSocketRoute | undefined;
  await openDashboard(key, 'laptop', '', (page) =>
    page.routeWebSocket(/\/graphql$/, (ws) => {
      ws.connectToServer();
      latest = ws;
    }),
  );
  return () => latest!;
}

/** Waits until the element's text is `expected` (the page updates on its own); returns the text seen. */
async function textOf(selector: string, expected: string, timeoutMs = 15_000): Promise<string> {
  await page
    .waitForFunction(
      ({ selector, expected }) => document.querySelector(selector)?.textContent === expected,
      { selector, expected },
      { timeout: timeoutMs },
    )
    .catch(() => undefined);
  return (await page.textContent(selector)) ?? '';
}

/** Serious or critical axe-core violations on the current page (ids and the nodes they hit). */
async function axeViolations(): Promise<Array<{ id: string; nodes: string[] }>> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            context: Document,
          ) => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    return (await axe.run(document)).violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return result.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

async function track(itemId: string, sessionId: string): Promise<void> {
  const impression = { itemId, sessionId, source: 'SEARCH' as const };
  const response = await execute(app, TrackImpressionsDocument, { events: [impression] }, BROWSER);
  expect(response.data?.trackImpressions.accepted).toBe(1);
}

async function shoot(name: string): Promise<void> {
  if (!screenshots) return;
  mkdirSync(path.join(repoRoot(), 'docs'), { recursive: true });
  await page.screenshot({ path: path.join(repoRoot(), 'docs', `${name}.png`), fullPage: false });
}

describe('key', () => {
  it('refuses an unknown key with a message, then remembers a valid one across reloads', async () => {
    context = await newContext(browser);
    page = await context.newPage();
    await page.goto(`${origin()}/dashboard`);
    // No views before a key is accepted.
    expect(await page.isHidden('#nav')).toBe(true);
    await page.fill('#api-key', 'gvl_0000000000000000_nope');
    await page.click('button[type=submit]');
    expect(await page.textContent('.notice.error')).toContain('refused this key');
    await page.fill('#api-key', keys.ANALYST);
    await page.click('button[type=submit]');
    await page.waitForSelector('#total-impressions');
    await page.reload();
    await page.waitForSelector('#total-impressions');
    expect(await page.$('#api-key')).toBeNull();
  });

  it('shows a SELLER key its own items only, and says why the marketplace views are empty', async () => {
    await openDashboard(keys.SELLER);
    // Search first: other sellers' figures are not this key's to read.
    await page.waitForSelector('#search-results tbody tr');
    const impressions = await page.$$eval('#search-results .impressions', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    expect(new Set(impressions)).toEqual(new Set(['—']));
    await page.click('nav >> text=Overview');
    // The overview renders once its (refused) query has answered.
    await page.waitForSelector('main >> text=need an ANALYST key');
  });
});

describe('live overview', () => {
  it('shows an event tracked through the API on the open dashboard, by the live update', async () => {
    await openDashboard(keys.ANALYST);
    await page.waitForSelector('#total-impressions');
    const before = Number((await page.textContent('#total-impressions'))!.replace(/,/g, ''));
    await track(itemIds[0]!, 'dash-live-1');
    await track(itemIds[1]!, 'dash-live-1');
    expect(await textOf('#total-impressions', String(before + 2))).toBe(String(before + 2));
    expect(await page.textContent('#live-status')).toBe('Live');
    // The leaderboard follows (refreshed on change).
    await page.waitForSelector(`main a[href="#item/${itemIds[0]!}"]`);
    await shoot('dashboard-overview-desktop');
  });
});

describe('connection state', () => {
  it('says it is reconnecting while the websocket is down, then catches up', async () => {
    // Every websocket of the page goes through this route; `down` refuses new ones and `drop` ends the open one.
    let down = false;
    let open: WebSocketRoute | undefined;
    await openDashboard(keys.ANALYST, 'laptop', '', (page) =>
      page.routeWebSocket(/\/graphql$/, (ws) => {
        if (down) return ws.close({ code: 1013, reason: 'test: try again later' });
        ws.connectToServer();
        open = ws;
      }),
    );
    await page.waitForSelector('#total-impressions');
    expect(await textOf('#live-status', 'Live')).toBe('Live');
    const before = Number((await page.textContent('#total-impressions'))!.replace(/,/g, ''));
    down = true;
    await open!.close({ code: 1001, reason: 'test: going away' });
    expect(await textOf('#live-status', 'Reconnecting… (figures may be stale)')).toBe(
      'Reconnecting… (figures may be stale)',
    );
    await track(itemIds[3]!, 'dash-reconnect-1');
    down = false;
    // graphql-ws backs off (a few seconds); once back, the overview is current again.
    expect(await textOf('#live-status', 'Live', 30_000)).toBe('Live');
    expect(await textOf('#total-impressions', String(before + 1))).toBe(String(before + 1));
  });

  it('says live updates stopped when the connection ends with a code graphql-ws never retries', async () => {
    const socket = await openWithRoutedSocket(keys.ANALYST);
    expect(await textOf('#live-status', 'Live')).toBe('Live');
    // 4400 Bad Request: the client gave the server something it refused; retrying would repeat it.
    await socket().close({ code: 4400, reason: 'test: bad request' });
    const stopped = 'Live updates stopped (reload the page)';
    expect(await textOf('#live-status', stopped)).toBe(stopped);
  });

  it('goes back to the key form, saying why, when its key is revoked while the page is open', async () => {
    const revoked = await app.services.auth.createKey({ role: 'ANALYST', label: 'revoked while open' });
    const socket = await openWithRoutedSocket(revoked.key);
    expect(await textOf('#live-status', 'Live')).toBe('Live');
    expect(await app.services.auth.revokeKey(revoked.id)).toBe(true);
    // The socket ends (as when an instance restarts); the reconnection presents the revoked key,
    // the server closes it with 4403, and retrying would only repeat that.
    await socket().close({ code: 1001, reason: 'test: going away' });
    await page.waitForSelector('#api-key', { timeout: 30_000 });
    expect(await page.textContent('.key-form')).toContain('The server refused this key');
    expect(await page.isHidden('#nav')).toBe(true);
  });
});

describe('content security policy', () => {
  it('connects its live websocket to its own origin under the enforced policy, which refuses a socket to any other host', async () => {
    // Not newContext: that one bypasses the CSP (for axe-core's inline script).
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await page.goto(`${origin()}/dashboard`);
    await page.fill('#api-key', keys.ANALYST);
    await page.click('button[type=submit]');
    await page.waitForSelector('#total-impressions');
    expect(await textOf('#live-status', 'Live')).toBe('Live');
    // The same server under another host name is another origin: `ws:` used to let any host in.
    const elsewhere = `ws://localhost:${new URL(app.url).port}/graphql`;
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          document.addEventListener(
            'securitypolicyviolation',
            (event) => resolve(`refused by ${event.effectiveDirective}: ${event.blockedURI}`),
            { once: true },
          );
          try {
            const socket = new WebSocket(url, 'graphql-transport-ws');
            socket.onopen = () => resolve('open');
            // Only reached if no violation was reported with the failure (a failing test).
            socket.onerror = () => setTimeout(() => resolve('error without a policy violation'), 2_000);
          } catch (error) {
            resolve(`threw ${(error as Error).name}`);
          }
        }),
      elsewhere,
    );
    expect(outcome).toMatch(/^refused by connect-src: ws:\/\/localhost:\d+/);
  });
});

describe('item drill-down', () => {
  it('charts the hour of a tracked event and lists it with its count', async () => {
    const itemId = itemIds[2]!;
    await track(itemId, 'dash-drill-1');
    await track(itemId, 'dash-drill-2');
    await execute(
      app,
      TrackClicksDocument,
      { events: [{ itemId, sessionId: 'dash-drill-1', source: 'SEARCH' }] },
      BROWSER,
    );
    await openDashboard(keys.ANALYST, 'laptop', `#item/${itemId}`);
    await page.waitForSelector('#item-chart canvas');
    expect(await textOf('#item-impressions', '2')).toBe('2');
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    const label = `${hour.slice(0, 10)} ${hour.slice(11, 16)}`;
    const rows = await page.$$eval('#main details tbody tr', (trs) => trs.map((tr) => tr.textContent));
    expect(rows).toContain(`${label}21`);
    // The live update of a new event reaches the open chart.
    await track(itemId, 'dash-drill-3');
    expect(await textOf('#item-impressions', '3')).toBe('3');
    await shoot('dashboard-item-desktop');
  });
});

describe('search', () => {
  it('pages forward and back, and filters by a category facet', async () => {
    await openDashboard(keys.ANALYST, 'laptop', '#search');
    await page.waitForSelector('#search-results tbody tr');
    const firstPage = await page.$$eval('#search-results tbody tr', (rows) =>
      rows.map((row) => row.getAttribute('data-item')),
    );
    expect(firstPage).toHaveLength(20);
    expect(await page.textContent('#search-count')).toBe('200 items');
    await page.click('text=Next');
    await page.waitForFunction(
      (first) => document.querySelector('#search-results tbody tr')?.getAttribute('data-item') !== first,
      firstPage[0],
    );
    const secondPage = await page.$$eval('#search-results tbody tr', (rows) =>
      rows.map((row) => row.getAttribute('data-item')),
    );
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    await page.click('text=Previous');
    await page.waitForFunction(
      (first) => document.querySelector('#search-results tbody tr')?.getAttribute('data-item') === first,
      firstPage[0],
    );

    const facet = page.locator('.facets input[type=checkbox]').first();
    const category = (await facet.getAttribute('value'))!;
    const facetCount = Number(/\((\d+)\)/.exec((await page.locator('.facets label').first().textContent())!)![1]);
    await facet.check();
    await page.waitForFunction(
      (expected) => document.querySelector('#search-count')?.textContent === expected,
      `${facetCount} items`,
    );
    const categories = await page.$$eval('#search-results tbody tr td:nth-child(2)', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    expect(new Set(categories)).toEqual(new Set([category]));
    await shoot('dashboard-search-desktop');
  });

  it('updates a result’s impressions live', async () => {
    await openDashboard(keys.ANALYST, 'laptop', '#search');
    await page.waitForSelector('#search-results tbody tr');
    const itemId = (await page.getAttribute('#search-results tbody tr', 'data-item'))!;
    const before = Number(await page.textContent(`tr[data-item="${itemId}"] .impressions`));
    await track(itemId, 'dash-search-1');
    expect(await textOf(`tr[data-item="${itemId}"] .impressions`, String(before + 1))).toBe(String(before + 1));
  });
});

describe('search insights', () => {
  /** A search made in `sessionId`, as a marketplace page makes it (recorded, with its searchId). */
  async function searchAs(sessionId: string, query: string) {
    const response = await execute(app, RecordedSearchDocument, { query }, { ...BROWSER, 'x-session-id': sessionId });
    return response.data!.auctionItems;
  }

  it('shows what buyers searched, what found nothing and what nobody clicked, and moves live', async () => {
    const found = await searchAs('insights-1', 'watch');
    await searchAs('insights-2', 'watch');
    await searchAs('insights-3', 'qqqzzz');
    await app.services.tracking.drainImplicitQueue();
    const click = { itemId: found.edges[0]!.node.id, sessionId: 'insights-1', searchId: found.searchId, position: 0 };
    const clicked = await execute(
      app,
      TrackClicksDocument,
      { events: [{ ...click, source: 'SEARCH' as const }] },
      BROWSER,
    );
    expect(clicked.data?.trackClicks.accepted).toBe(1);
    await app.services.searches.flushRecorded();
    const before = (await app.services.searches.analytics({ last: 'P7D' }, null, null)).searches;

    await openDashboard(keys.ANALYST, 'laptop', '#insights');
    expect(await textOf('#insights-searches', String(before))).toBe(String(before));
    const tables = await page.$$eval('main table', (found) =>
      found.map((table) => ({
        caption: table.querySelector('caption')?.textContent,
        rows: [...table.querySelectorAll('tbody tr')].map((row) =>
          [...row.querySelectorAll('td, th')].map((cell) => cell.textContent),
        ),
      })),
    );
    const rowsOf = (caption: string) => tables.find((table) => table.caption === caption)?.rows ?? [];
    expect(rowsOf('Top queries')[0]).toEqual(['watch', '2', '50%', expect.any(String), '1.0']);
    expect(rowsOf('Found nothing (demand for sellers)')).toContainEqual(['qqqzzz', '1', '1']);
    expect(rowsOf('Results nobody clicked')).toContainEqual(['watch', '2', '1']);
    await shoot('dashboard-insights');

    // A new search shows on the open page by itself.
    await searchAs('insights-4', 'watch');
    await app.services.searches.flushRecorded();
    expect(await textOf('#insights-searches', String(before + 1))).toBe(String(before + 1));
  });
});

describe('funnel and experiments', () => {
  const lots: string[] = [];
  /** Sessions of the experiment "dash-cards": tagged impressions, a click for some, a bid for more of "wide". */
  /** Once what was tracked so far has settled, builds it (the periodic round may be running). */
  async function builtNow() {
    await new Promise((resolve) => setTimeout(resolve, FUNNEL_SETTLE_MS + 100));
    await app.services.funnels.catchUp();
  }

  async function runExperiment(experiment: string, split: (index: number) => string, sessions: number) {
    await app.services.experiments.define({ role: 'ANALYST', keyId: 'dashboard' } as never, {
      key: experiment,
      variants: [{ name: 'control' }, { name: 'wide' }],
    });
    if (lots.length === 0)
      for (let index = 0; index < 3; index++)
        lots.push(
          (
            await app.services.catalog.createItem({
              title: `Funnel lot ${index}`,
              category: 'posters',
              sellerId: 'seller-funnel',
              startingPrice: { amount: 1_000, currency: 'EUR' },
              startsAt: new Date(Date.now() - 3_600_000),
              endsAt: new Date(Date.now() + 10 * 86_400_000),
            } as never)
          ).id,
        );
    const impressions = Array.from({ length: sessions }, (_, index) => ({
      itemId: lots[index % 3]!,
      sessionId: `${experiment}-${index}`,
      source: (index % 2 === 0 ? 'SEARCH' : 'HOME') as 'SEARCH' | 'HOME',
      experiment,
      variant: split(index),
    }));
    for (let from = 0; from < impressions.length; from += 100)
      expect(
        (await execute(app, TrackImpressionsDocument, { events: impressions.slice(from, from + 100) }, BROWSER)).data
          ?.trackImpressions.accepted,
      ).toBe(impressions.slice(from, from + 100).length);
    const clicked = impressions.filter((_, index) => index % 3 === 0);
    await execute(app, TrackClicksDocument, { events: clicked }, BROWSER);
    const bids = clicked
      // Clicked sessions alternate between the variants: every "wide" one bids, half the others.
      .filter((event, index) => event.variant === 'wide' || index % 4 === 0)
      .map((event, index) => ({
        itemId: event.itemId,
        eventId: `${experiment}-bid-${index}`,
        kind: 'BID' as const,
        sessionId: event.sessionId,
        amount: { amount: 5_000, currency: 'EUR' },
      }));
    const answer = await execute(
      app,
      TrackConversionsDocument,
      { events: bids },
      { authorization: `Bearer ${keys.INGEST}` },
    );
    expect(answer.data?.trackConversions.accepted).toBe(bids.length);
    await builtNow();
  }

  it('shows the funnel with its breakdown, and moves live when new journeys are built', async () => {
    await runExperiment('dash-cards', (index) => (index % 2 === 0 ? 'control' : 'wide'), 120);
    const expected = await app.services.funnels.funnel(
      { role: 'ANALYST', keyId: 'test' } as never,
      app.services.analytics.resolveRange({ last: 'P7D' }),
      ['IMPRESSION', 'CLICK', 'BID', 'PURCHASE'] as never,
      null,
      null,
    );
    await openDashboard(keys.ANALYST, 'laptop', '#funnels');
    await page.waitForSelector('main table');
    const rows = () =>
      page.$$eval('main table', (tables) =>
        tables.map((table) => ({
          caption: table.querySelector('caption')?.textContent,
          rows: [...table.querySelectorAll('tbody tr')].map((row) =>
            [...row.querySelectorAll('td')].map((cell) => cell.textContent),
          ),
        })),
      );
    const steps = (await rows()).find((table) => table.caption === 'Steps')!.rows;
    expect(steps.map((row) => [row[0], row[1]])).toEqual(
      expected.steps.map((step) => [expect.any(String), step.journeys.toLocaleString('en')]),
    );
    expect(steps[0]![1]).not.toBe('0');
    expect(steps[2]![1]).not.toBe('0');
    const bySource = (await rows()).find((table) => table.caption?.startsWith('By first-touch source'))!.rows;
    expect(bySource.map((row) => row[0]).sort()).toEqual(['HOME', 'SEARCH']);
    await shoot('dashboard-funnel');

    // New journeys show on the open page once built.
    const before = steps[0]![1]!;
    await execute(
      app,
      TrackImpressionsDocument,
      { events: [{ itemId: lots[0]!, sessionId: 'funnel-late', source: 'SEARCH' as const }] },
      BROWSER,
    );
    await builtNow();
    const after = (Number(before.replace(/,/g, '')) + 1).toLocaleString('en');
    expect(await textOf('main table tbody tr:first-child td:nth-child(2)', after)).toBe(after);
  });

  it('shows an experiment’s variants with their intervals, and warns of a sample ratio mismatch', async () => {
    const expected = await app.services.experiments.results('dash-cards', null, 'BID' as never);
    await openDashboard(keys.ANALYST, 'laptop', '#experiments/dash-cards');
    await page.waitForSelector('main table tbody tr:nth-child(2)');
    const tables = await page.$$eval('main table', (found) =>
      found.map((table) => ({
        caption: table.querySelector('caption')?.textContent ?? '',
        rows: [...table.querySelectorAll('tbody tr')].map((row) =>
          [...row.querySelectorAll('td')].map((cell) => cell.textContent),
        ),
      })),
    );
    const rows = tables.find((table) => table.caption === 'Variants against control')!.rows;
    const funnel = tables.find((table) => table.caption.startsWith('Funnel by variant'))!.rows;
    // Variant, then Clicked, Viewed, Watched, Bid, Bought: the bids after exposure.
    expect(funnel.map((row) => [row[0], row[4]!.split(' ')[0]])).toEqual(
      expected.variants.map((variant) => [variant.variant, String(variant.conversions)]),
    );
    expect(rows.map((row) => [row[0], row[1], row[3]])).toEqual(
      expected.variants.map((variant) => [variant.variant, String(variant.sessions), String(variant.conversions)]),
    );
    expect(rows[0]![5]).toBe('control');
    expect(rows[1]![5]).toMatch(/^[+−]\d+\.\d{2} pp \[[+−]\d+\.\d{2} pp, [+−]\d+\.\d{2} pp\]$/);
    expect(await page.locator('.interval-row').count()).toBe(1);
    expect(await page.locator('#srm-warning').count()).toBe(0);
    await shoot('dashboard-experiment');

    // 90 sessions in one arm, 30 in the other: the page says the split is broken.
    await runExperiment('dash-skewed', (index) => (index % 4 === 0 ? 'wide' : 'control'), 120);
    await page.fill('#experiment-key', 'dash-skewed');
    await page.click('form.controls button');
    await page.waitForSelector('#srm-warning');
    expect(await page.textContent('#srm-warning')).toMatch(/Sample ratio mismatch/);
  });

  it('says what to do for an experiment with no exposure yet, and refuses a SELLER key', async () => {
    await openDashboard(keys.ANALYST, 'laptop', '#experiments/not-started');
    await page.waitForSelector('main .notice.empty');
    expect(await page.textContent('main .notice.empty')).toMatch(/“not-started” is not defined yet/);
    await context.close();
    await openDashboard(keys.SELLER, 'laptop', '#experiments/dash-cards');
    expect(await page.textContent('main .notice')).toMatch(/need an ANALYST key/);
  });
});

describe('accessibility and phone width', () => {
  for (const size of ['laptop', 'phone'] as const)
    it(`has no serious axe-core violations on any view (${size})`, async () => {
      await openDashboard(keys.ANALYST, size);
      await page.waitForSelector('#total-impressions');
      const found: Record<string, unknown> = {};
      found.overview = await axeViolations();
      if (size === 'phone') await shoot('dashboard-overview-phone');
      await page.click('nav >> text=Search');
      await page.waitForSelector('#search-results tbody tr');
      found.search = await axeViolations();
      if (size === 'phone') await shoot('dashboard-search-phone');
      await page.click('nav >> text=Search insights');
      await page.waitForSelector('#insights-searches');
      found.insights = await axeViolations();
      // Some refused events, so that the outcomes view has more than one line to draw.
      const impression = { itemId: itemIds[5]!, sessionId: `dash-axe-${size}`, source: 'HOME' as const };
      await execute(app, TrackImpressionsDocument, { events: [impression, impression] }, BROWSER);
      await execute(
        app,
        TrackImpressionsDocument,
        { events: [impression, impression, impression] },
        { 'user-agent': 'curl/8' },
      );
      await execute(app, TrackClicksDocument, { events: [{ ...impression, itemId: itemIds[6]! }] }, BROWSER);
      await app.services.tracking.flushAuditAggregates();
      await page.click('nav >> text=Tracking outcomes');
      await page.waitForSelector('main .chart canvas');
      found.outcomes = await axeViolations();
      await shoot(`dashboard-outcomes-${size === 'phone' ? 'phone' : 'desktop'}`);
      await page.goto(`${origin()}/dashboard#item/${itemIds[0]!}`);
      await page.waitForSelector('#item-chart canvas');
      found.item = await axeViolations();
      await page.goto(`${origin()}/dashboard#funnels`);
      await page.waitForSelector('main table, main .notice.empty');
      found.funnels = await axeViolations();
      await page.goto(`${origin()}/dashboard#experiments/dash-cards`);
      await page.waitForSelector('main table, main .notice');
      found.experiments = await axeViolations();
      if (size === 'phone') await shoot('dashboard-experiment-phone');
      expect(found).toEqual({
        overview: [],
        search: [],
        insights: [],
        outcomes: [],
        item: [],
        funnels: [],
        experiments: [],
      });
      // Nothing wider than the screen: no sideways scrolling at phone width.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    });
});
