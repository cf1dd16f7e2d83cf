import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { connectionOutcome } from '../support/websocket';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BROWSER } from '../support/catalogFixtures';
import { errorCodes, postRaw, startTestApp, type TestApp } from '../support/testApp';

/**
 * The authorization matrix: every query, mutation, nested analytics field and subscription ×
 * every caller (anonymous, ADMIN, ANALYST, SELLER on its own item, SELLER on another seller's
 * item), over HTTP and over graphql-ws, asserting the exact code (`null`: allowed, no error).
 */
type Caller = 'anonymous' | 'ADMIN' | 'ANALYST' | 'SELLER own' | 'SELLER other' | 'INGEST';
type Expected = null | 'UNAUTHENTICATED' | 'FORBIDDEN';
const CALLERS: readonly Caller[] = ['anonymous', 'ADMIN', 'ANALYST', 'SELLER own', 'SELLER other', 'INGEST'];

const PUBLIC: Record<Caller, Expected> = {
  anonymous: null,
  ADMIN: null,
  ANALYST: null,
  'SELLER own': null,
  'SELLER other': null,
  INGEST: null,
};
const ADMIN_ONLY: Record<Caller, Expected> = {
  anonymous: 'UNAUTHENTICATED',
  ADMIN: null,
  ANALYST: 'FORBIDDEN',
  'SELLER own': 'FORBIDDEN',
  'SELLER other': 'FORBIDDEN',
  INGEST: 'FORBIDDEN',
};
/** The marketplace backend's conversions: an INGEST key writes them and reads nothing. */
const INGEST_ONLY: Record<Caller, Expected> = { ...ADMIN_ONLY, INGEST: null };
const ANALYTICS_ALL: Record<Caller, Expected> = { ...ADMIN_ONLY, ANALYST: null };
const ITEM_ANALYTICS: Record<Caller, Expected> = { ...ANALYTICS_ALL, 'SELLER own': null };
/** Rankings: every item for ADMIN and ANALYST, a SELLER's own items for a SELLER (see the ranking test below). */
const RANKINGS: Record<Caller, Expected> = { ...ANALYTICS_ALL, 'SELLER own': null, 'SELLER other': null };

const range = '{ last: "P1D" }';
const itemAnalyticsFields = [
  'range { from to }',
  'impressions',
  'clicks',
  'ctr',
  'uniqueSessions',
  'uniqueUsers',
  'bySource { source impressions clicks ctr }',
  'timeSeries(granularity: DAY) { bucketStart impressions clicks }',
  'funnel(steps: [IMPRESSION, CLICK, BID]) { steps { step journeys } }',
];
const event = (item: string) => `{ itemId: "${item}", sessionId: "s-roles", source: SEARCH, position: 0 }`;
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** Operations of the schema; `item` is the item the caller addresses (its own, or another seller's). */
const OPERATIONS: ReadonlyArray<{ name: string; doc: (item: string) => string; expected: Record<Caller, Expected> }> = [
  { name: 'query auctionItem', doc: (item) => `{ auctionItem(id: "${item}") { id title } }`, expected: PUBLIC },
  { name: 'query auctionItems', doc: () => '{ auctionItems(first: 5) { edges { node { id } } } }', expected: PUBLIC },
  {
    name: 'query searchSuggestions',
    doc: () => '{ searchSuggestions(prefix: "ite") { text openLots } }',
    expected: PUBLIC,
  },
  {
    // Marketplace-wide buyer demand: a seller would see what competitors' buyers look for.
    name: 'query searchAnalytics',
    doc: () =>
      `{ searchAnalytics(range: ${range}) { searches topQueries { query clicks clickedItems { itemId } } positions { position } } }`,
    expected: ANALYTICS_ALL,
  },
  ...itemAnalyticsFields.map((field) => ({
    name: `AuctionItem.analytics { ${field.split(/[ (]/)[0]} } (via auctionItem)`,
    doc: (item: string) => `{ auctionItem(id: "${item}") { id analytics(range: ${range}) { ${field} } } }`,
    expected: ITEM_ANALYTICS,
  })),
  {
    name: 'AuctionItem.analytics (via auctionItems, filtered to the item)',
    doc: (item) =>
      `{ auctionItems(first: 5, filter: { category: ["${item === ids.own ? 'own-cat' : 'other-cat'}"] }) { edges { node { id analytics { impressions } } } } }`,
    expected: ITEM_ANALYTICS,
  },
  {
    name: 'query popularItems',
    doc: () => `{ popularItems(first: 5) { item { id } impressions clicks ctr } }`,
    expected: RANKINGS,
  },
  {
    // A SELLER's funnel counts its own lots only (see test/funnels).
    name: 'query funnel',
    doc: () => '{ funnel(breakdown: SOURCE) { steps { step journeys } breakdown { key } } }',
    expected: RANKINGS,
  },
  {
    // Marketplace-wide bidders: a seller would see its competitors' buyers return.
    name: 'query bidderCohorts',
    doc: () => '{ bidderCohorts(weeks: 4) { cohorts { week bidders } lifecycle { week dormant } } }',
    expected: ANALYTICS_ALL,
  },
  {
    name: 'query experiments',
    doc: () => '{ experiments { key control } }',
    expected: ANALYTICS_ALL,
  },
  {
    // Defining what counts is the growth team's: an ANALYST key, not a seller's or the backend's.
    name: 'mutation defineExperiment',
    doc: () =>
      'mutation { defineExperiment(input: { key: "roles-defined", variants: [{ name: "a" }, { name: "b" }] }) { key } }',
    expected: ANALYTICS_ALL,
  },
  {
    // Marketplace-wide experiments: a seller would read the marketplace's tests.
    name: 'query experimentResults',
    doc: () => '{ experimentResults(experiment: "roles-exp") { control variants { variant sessions } } }',
    expected: ANALYTICS_ALL,
  },
  {
    name: 'query userAnalytics',
    doc: () => `{ userAnalytics(userId: "u-1") { impressions clicks } }`,
    expected: ANALYTICS_ALL,
  },
  {
    name: 'query analyticsOverview',
    doc: () => `{ analyticsOverview { impressions clicks ctr topItems { item { id } } } }`,
    expected: ANALYTICS_ALL,
  },
  {
    name: 'query trackingOutcomes',
    doc: () => `{ trackingOutcomes(granularity: HOUR, range: { last: "PT2H" }) { bucketStart accepted flagged } }`,
    expected: ANALYTICS_ALL,
  },
  {
    name: 'mutation createAuctionItem',
    doc: (item) =>
      `mutation { createAuctionItem(input: { title: "Roles test item", category: "c", sellerId: "${item === ids.own ? 'seller-own' : 'seller-other'}", startingPrice: { amount: 100, currency: "EUR" }, startsAt: "${future(1)}", endsAt: "${future(2)}" }) { id } }`,
    expected: ADMIN_ONLY,
  },
  {
    name: 'mutation updateAuctionItem',
    doc: (item) => `mutation { updateAuctionItem(id: "${item}", input: { title: "Renamed by a test" }) { id } }`,
    expected: ADMIN_ONLY,
  },
  {
    name: 'mutation purgeExpiredData',
    doc: () => 'mutation { purgeExpiredData(dryRun: true) { dryRun types { dataType count } } }',
    expected: ADMIN_ONLY,
  },
  {
    name: 'mutation eraseSubject',
    doc: () => 'mutation { eraseSubject(userId: "u-nobody") { countedEvents auditEvents } }',
    expected: ADMIN_ONLY,
  },
  {
    name: 'mutation trackConversions',
    doc: (item) =>
      `mutation { trackConversions(events: [{ eventId: "roles-${Math.random().toString(36).slice(2)}", kind: WATCH, itemId: "${item}", sessionId: "s-roles" }]) { accepted } }`,
    expected: INGEST_ONLY,
  },
  {
    name: 'mutation startSession',
    doc: () => 'mutation { startSession { sessionId expiresAt } }',
    expected: PUBLIC,
  },
  {
    name: 'mutation trackImpression',
    doc: (item) => `mutation { trackImpression(event: ${event(item)}) { accepted } }`,
    expected: PUBLIC,
  },
  {
    name: 'mutation trackImpressions',
    doc: (item) => `mutation { trackImpressions(events: [${event(item)}]) { accepted } }`,
    expected: PUBLIC,
  },
  {
    name: 'mutation trackClick',
    doc: (item) => `mutation { trackClick(event: ${event(item)}) { accepted } }`,
    expected: PUBLIC,
  },
  {
    name: 'mutation trackClicks',
    doc: (item) => `mutation { trackClicks(events: [${event(item)}]) { accepted } }`,
    expected: PUBLIC,
  },
];

const SUBSCRIPTIONS: ReadonlyArray<{
  name: string;
  doc: (item: string) => string;
  expected: Record<Caller, Expected>;
}> = [
  {
    name: 'subscription itemAnalyticsUpdated',
    doc: (item) => `subscription { itemAnalyticsUpdated(itemIds: ["${item}"]) { itemId impressions } }`,
    expected: ITEM_ANALYTICS,
  },
  {
    name: 'subscription analyticsOverviewUpdated',
    doc: () => 'subscription { analyticsOverviewUpdated { impressions clicks } }',
    expected: ANALYTICS_ALL,
  },
  {
    name: 'subscription searchAnalyticsUpdated',
    doc: () => 'subscription { searchAnalyticsUpdated { searches topQueries { query clicks } } }',
    expected: ANALYTICS_ALL,
  },
  {
    // A SELLER's live funnel counts its own lots only, as the query.
    name: 'subscription funnelUpdated',
    doc: () => 'subscription { funnelUpdated(breakdown: SOURCE) { steps { step journeys } } }',
    expected: RANKINGS,
  },
  {
    name: 'subscription experimentResultsUpdated',
    doc: () => 'subscription { experimentResultsUpdated(experiment: "roles-exp") { control variants { variant } } }',
    expected: ANALYTICS_ALL,
  },
];

let app: TestApp;
const ids = { own: '', other: '' };
const keys: Record<'ADMIN' | 'ANALYST' | 'SELLER' | 'INGEST', string> = {
  ADMIN: '',
  ANALYST: '',
  SELLER: '',
  INGEST: '',
};

function callerKey(caller: Caller): string | undefined {
  if (caller === 'anonymous') return undefined;
  return keys[caller.startsWith('SELLER') ? 'SELLER' : (caller as 'ADMIN' | 'ANALYST' | 'INGEST')];
}
const callerItem = (caller: Caller) => (caller === 'SELLER other' ? ids.other : ids.own);

beforeAll(async () => {
  app = await startTestApp({
    env: {
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      WS_ALLOW_QUERIES: 'true',
      LIVE_INTERVAL_MS: '50',
      // The experiment below counts as soon as the funnel builder runs.
      FUNNEL_SETTLE_MS: '0',
    },
    periodicJobs: false,
  });
  const item = (sellerId: string, category: string) =>
    app.services.catalog.createItem({
      title: `Item of ${sellerId}`,
      category,
      sellerId,
      startingPrice: { amount: 1_000, currency: 'EUR' },
      startsAt: new Date(Date.now() - 60_000),
      endsAt: new Date(Date.now() + 86_400_000),
    } as never);
  ids.own = (await item('seller-own', 'own-cat')).id;
  ids.other = (await item('seller-other', 'other-cat')).id;
  // An experiment with an exposure, so that experimentResults has something to answer.
  await app.services.experiments.define({ role: 'ANALYST', keyId: 'roles' } as never, {
    key: 'roles-exp',
    variants: [{ name: 'control' }, { name: 'treatment' }],
  });
  const tagged = await postRaw<{ trackImpressions: { accepted: number } }>(
    app,
    {
      query: `mutation { trackImpressions(events: [{ itemId: "${ids.own}", sessionId: "roles-exp", source: HOME, experiment: "roles-exp", variant: "control" }]) { accepted } }`,
    },
    BROWSER,
  );
  expect(tagged.data?.trackImpressions.accepted).toBe(1);
  await app.services.funnels.catchUp();
  keys.ADMIN = (await app.services.auth.createKey({ role: 'ADMIN', label: 'matrix' })).key;
  keys.ANALYST = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.SELLER = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-own' })).key;
  keys.INGEST = (await app.services.auth.createKey({ role: 'INGEST' })).key;
});
afterAll(() => app.stop());

const cases = OPERATIONS.flatMap((op) => CALLERS.map((caller) => [op.name, caller, op] as const));

describe('authorization matrix', () => {
  it('covers every query, mutation and subscription of the schema', () => {
    const schema = buildSchema(readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8'));
    const rootFields = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((name) => `query ${name}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((name) => `mutation ${name}`),
      ...Object.keys(schema.getSubscriptionType()!.getFields()).map((name) => `subscription ${name}`),
    ];
    const covered = new Set([...OPERATIONS, ...SUBSCRIPTIONS].map((operation) => operation.name));
    expect(rootFields.filter((field) => !covered.has(field))).toEqual([]);
  });
});

describe('authorization matrix over HTTP', () => {
  it.each(cases)('%s as %s', async (_name, caller, op) => {
    const key = callerKey(caller);
    const response = await postRaw(
      app,
      { query: op.doc(callerItem(caller)) },
      key ? { authorization: `Bearer ${key}` } : {},
    );
    expect(response.status).toBe(200);
    const expected = op.expected[caller];
    expect(errorCodes(response)).toEqual(expected ? [expected] : []);
  });
});

/** One operation over graphql-ws: the codes of the first result (or of the error), then unsubscribes. */
function firstResultCodes(client: Client, query: string): Promise<unknown[]> {
  return new Promise((resolve) => {
    let unsubscribe: () => void = () => undefined;
    const done = (codes: unknown[]) => {
      resolve(codes);
      unsubscribe();
    };
    unsubscribe = client.subscribe(
      { query },
      {
        next: (result) => done((result.errors ?? []).map((error) => error.extensions?.code)),
        error: (error) =>
          done(
            Array.isArray(error)
              ? error.map((each: { extensions?: { code?: unknown } }) => each.extensions?.code)
              : [String(error)],
          ),
        complete: () => done([]),
      },
    );
  });
}

describe('authorization matrix over graphql-ws', () => {
  const clients = new Map<Caller, Client>();
  const clientFor = (caller: Caller): Client => {
    let client = clients.get(caller);
    if (!client) {
      const key = callerKey(caller);
      client = createClient({
        url: app.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: key ? { authorization: `Bearer ${key}` } : {},
      });
      clients.set(caller, client);
    }
    return client;
  };
  afterAll(async () => {
    await Promise.all([...clients.values()].map((client) => client.dispose()));
  });

  const wsCases = [...OPERATIONS, ...SUBSCRIPTIONS].flatMap((op) =>
    CALLERS.map((caller) => [op.name, caller, op] as const),
  );
  it.each(wsCases)('%s as %s', async (_name, caller, op) => {
    const codes = await firstResultCodes(clientFor(caller), op.doc(callerItem(caller)));
    const expected = op.expected[caller];
    expect(codes).toEqual(expected ? [expected] : []);
  });
});

describe("a SELLER's ranking", () => {
  it("ranks the seller's own items only, as a full top-N of them rather than the marketplace's top-N filtered", async () => {
    // The other seller's item gets more impressions (distinct sessions), so it tops the marketplace.
    const impressions = (item: string, sessions: readonly string[]) =>
      postRaw(
        app,
        {
          query: `mutation { trackImpressions(events: [${sessions
            .map((session) => `{ itemId: "${item}", sessionId: "${session}", source: SEARCH, position: 0 }`)
            .join(', ')}]) { accepted } }`,
        },
        BROWSER,
      );
    const tracked = await Promise.all([
      impressions(ids.own, ['rank-1']),
      impressions(ids.other, ['rank-1', 'rank-2', 'rank-3']),
    ]);
    expect(
      tracked.map(
        (response) => (response.data as { trackImpressions: { accepted: number } }).trackImpressions.accepted,
      ),
    ).toEqual([1, 3]);
    const top = async (caller: 'ANALYST' | 'SELLER') => {
      const response = await postRaw<{ popularItems: Array<{ item: { id: string }; impressions: number }> }>(
        app,
        { query: '{ popularItems(first: 1, range: { last: "P1D" }) { item { id } impressions } }' },
        { authorization: `Bearer ${keys[caller]}` },
      );
      expect(response.errors).toBeUndefined();
      return response.data!.popularItems.map((row) => row.item.id);
    };
    expect(await top('ANALYST')).toEqual([ids.other]);
    expect(await top('SELLER')).toEqual([ids.own]);
  });

  it('is empty for a seller without items, not the marketplace ranking', async () => {
    const key = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-without-items' })).key;
    const response = await postRaw(
      app,
      { query: '{ popularItems { item { id } } }' },
      { authorization: `Bearer ${key}` },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ popularItems: [] });
  });
});

describe('unknown, malformed and revoked keys', () => {
  it('answer 401 UNAUTHENTICATED over HTTP, even for public fields, and close 4403 over websockets', async () => {
    const { id, key } = await app.services.auth.createKey({ role: 'ANALYST' });
    const query = '{ auctionItems(first: 1) { edges { node { id } } } }';
    expect((await postRaw(app, { query }, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect(await app.services.auth.revokeKey(id)).toBe(true);
    const forged = `${key.slice(0, -4)}AAAA`;
    for (const bad of [key, forged, 'gvl_0000000000000000_short', 'not-a-key']) {
      const response = await postRaw(app, { query }, { authorization: `Bearer ${bad}` });
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
      const closed = await connectionOutcome(app, `Bearer ${bad}`);
      expect(closed).toBe(4403);
    }
  });

  it('close an open websocket with 4403 and a reason at its next subscribe once its key is revoked', async () => {
    // Issue 19, finding 13: the socket stayed open, its next subscribe answered as anonymous
    // ("needs an API key"), so a client with a dead key never found out.
    const { id, key } = await app.services.auth.createKey({ role: 'ANALYST' });
    let closed!: (event: { code: number; reason: string }) => void;
    const closedWith = new Promise<{ code: number; reason: string }>((resolve) => (closed = resolve));
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${key}` },
      on: { closed: (event) => closed(event as { code: number; reason: string }) },
    });
    const overview = '{ analyticsOverview { impressions } }';
    try {
      expect(await firstResultCodes(client, overview)).toEqual([]);
      expect(await app.services.auth.revokeKey(id)).toBe(true);
      // The official client reports the close as the operation's error: nothing was answered.
      const refused = await new Promise<unknown>((resolve) =>
        client.subscribe(
          { query: 'subscription { analyticsOverviewUpdated { impressions } }' },
          { next: resolve, error: resolve, complete: () => resolve('complete') },
        ),
      );
      expect(refused).toMatchObject({ code: 4403 });
      expect(await closedWith).toEqual(
        expect.objectContaining({ code: 4403, reason: 'Forbidden: the API key is unknown, malformed or revoked.' }),
      );
    } finally {
      await client.dispose();
    }
  });

  it('registers no subscription for a refused SELLER and keeps its connection usable', async () => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${keys.SELLER}` },
    });
    try {
      const before = app.services.live.stats().subscriptions;
      const mixed = `subscription { itemAnalyticsUpdated(itemIds: ["${ids.own}", "${ids.other}"]) { itemId } }`;
      expect(await firstResultCodes(client, mixed)).toEqual(['FORBIDDEN']);
      expect(app.services.live.stats().subscriptions).toBe(before);
      expect(await firstResultCodes(client, `{ auctionItem(id: "${ids.own}") { analytics { clicks } } }`)).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
