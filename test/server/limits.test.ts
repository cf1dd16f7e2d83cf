import { commandCounter } from '../../bench/support';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { insertDemoItems } from '../support/catalogFixtures';
import {
  errorCodes,
  postRaw,
  productionEnv,
  startTestApp,
  type GraphQLResponse,
  type TestApp,
} from '../support/testApp';

/**
 * Cost and shape limits (issue 11): each attack and each limit is refused over HTTP and over
 * graphql-ws with its documented code, before the database sees a single command.
 */

const TOKEN = 'limits-token-0123456789';
/** An ADMIN key (AUTH_TOKENS). Attacks are sent without a key: the public endpoint's limits. */
const ADMIN = `Bearer ${TOKEN}`;
const quietEnv = { GAVEL_SEED_DEMO: 'false', AUTH_TOKENS: TOKEN };
// Periodic jobs would add their own commands to the count: off.
const quiet = { monitorCommands: true, periodicJobs: false } as const;
/** Production settings, default limits: what the public endpoint runs. */
let app: TestApp;
/** Default cost limit, but parse and alias limits raised and queries allowed over websockets: reaches the cost check. */
let loose: TestApp;

beforeAll(async () => {
  const env = {
    ...quietEnv,
    ...productionEnv(),
  };
  [app, loose] = await Promise.all([
    startTestApp({ ...quiet, env }),
    startTestApp({
      ...quiet,
      env: {
        ...env,
        GRAPHQL_MAX_TOKENS: '100000',
        GRAPHQL_MAX_QUERY_CHARS: '10000000',
        GRAPHQL_MAX_ALIASES: '10000',
        WS_ALLOW_QUERIES: 'true',
      },
    }),
  ]);
  await Promise.all([insertDemoItems(app, 60), insertDemoItems(loose, 60)]);
});
afterAll(() => Promise.all([app?.stop(), loose?.stop()]));

type Errors = NonNullable<GraphQLResponse<unknown>['errors']>;

/** Sends one operation over graphql-ws (official client) and collects its errors; anonymous unless `authorization`. */
async function overWebsocket(
  target: TestApp,
  query: string,
  variables?: Record<string, unknown>,
  authorization?: string,
): Promise<Errors> {
  const client = createClient({
    url: target.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: authorization ? { authorization } : {},
  });
  try {
    return await new Promise<Errors>((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: (result) => resolve((result.errors ?? []) as Errors),
          error: (error) => (Array.isArray(error) ? resolve(error as Errors) : reject(error)),
          complete: () => resolve([]),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

async function overHttp(target: TestApp, query: string, variables?: Record<string, unknown>, authorization?: string) {
  return postRaw(target, { query, variables }, authorization ? { authorization } : {});
}

/** The errors of one operation over either transport, with the caller's key. */
async function send(
  transport: 'http' | 'ws',
  target: TestApp,
  query: string,
  variables: Record<string, unknown> | undefined,
  authorization: string,
): Promise<Errors> {
  if (transport === 'ws') return overWebsocket(target, query, variables, authorization);
  return (await overHttp(target, query, variables, authorization)).errors ?? [];
}

const codes = (errors: Errors) => errors.map((error) => error.extensions?.code);

/** Asserts refusal with `code` (HTTP 400 over HTTP) and that no database command ran. */
async function expectRefused(
  transport: 'http' | 'ws',
  target: TestApp,
  query: string,
  code: string,
  variables?: Record<string, unknown>,
): Promise<Errors> {
  const { result, commands } = await commandCounter(target).measure(async () => {
    if (transport === 'ws') return overWebsocket(target, query, variables);
    const response = await overHttp(target, query, variables);
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    return response.errors ?? [];
  });
  expect(codes(result)).toContain(code);
  expect(JSON.stringify(result)).not.toMatch(/stacktrace|Maximum call stack|\.ts:\d/);
  expect(commands).toEqual([]);
  return result;
}

const facets = 'facets { category { value count } status { value count } priceBands { min max count } }';
const aliasedSearches = (count: number) =>
  `{ ${Array.from({ length: count }, (_, i) => `a${i}: auctionItems(first: 100) { totalCount ${facets} edges { node { id } } }`).join(' ')} }`;
const hourlyItems = `query ($from: DateTimeISO!) {
  auctionItems(first: 100) { edges { node { id analytics(range: { from: $from }) { timeSeries(granularity: HOUR) { bucketStart impressions clicks } } } } }
}`;
const eightyNineDaysAgo = () => new Date(Date.now() - 89 * 86_400_000).toISOString();
const fragmentChain = (count: number) =>
  `query { ...F0 } ${Array.from({ length: count }, (_, i) => `fragment F${i} on Query { ${i === count - 1 ? '__typename' : `...F${i + 1}`} }`).join(' ')}`;
const deepNesting = (depth: number) => `${'{ a '.repeat(depth)}${'}'.repeat(depth)}`;

describe.each(['http', 'ws'] as const)('limits over %s', (transport) => {
  // Cost is checked after the operation is known to be allowed on the transport; websockets
  // allow queries only on `loose`, whose cost limit is the default one.
  const costTarget = () => (transport === 'http' ? app : loose);

  it('refuses 500 aliased searches with totalCount and facets: too large to parse by default, too costly otherwise', async () => {
    // 60 KB of text: over GRAPHQL_MAX_QUERY_CHARS, refused before it is even lexed.
    const errors = await expectRefused(transport, app, aliasedSearches(500), 'QUERY_TOO_LARGE');
    expect(errors[0]!.extensions).toMatchObject({ maxQueryChars: 32_768 });
    const costly = await expectRefused(transport, loose, aliasedSearches(500), 'QUERY_TOO_COMPLEX');
    expect(costly[0]!.extensions).toMatchObject({ maxCost: 5000 });
    expect(costly[0]!.extensions!.cost as number).toBeGreaterThan(100_000);
  });

  it('refuses 100 items with an hourly timeSeries over 89 days (QUERY_TOO_COMPLEX with cost and maxCost)', async () => {
    const errors = await expectRefused(transport, costTarget(), hourlyItems, 'QUERY_TOO_COMPLEX', {
      from: eightyNineDaysAgo(),
    });
    expect(errors[0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 5000 });
    expect(errors[0]!.extensions!.cost as number).toBeGreaterThan(100 * 89 * 24);
  });

  it('refuses fragments re-spread to blow up the analysis (10^4 expansions in 150 tokens) with QUERY_TOO_COMPLEX', async () => {
    const levels = Array.from(
      { length: 4 },
      (_, i) => `fragment L${i + 1} on AuctionItem { ${`...L${i} `.repeat(10)}}`,
    ).join(' ');
    const query = `{ auctionItem(id: "65f000000000000000000000") { ...L4 } } fragment L0 on AuctionItem { id title } ${levels}`;
    const errors = await expectRefused(transport, costTarget(), query, 'QUERY_TOO_COMPLEX');
    expect(errors[0]!.extensions).toMatchObject({ maxCost: 5000 });
  });

  it('refuses a chain of 5,000 fragments with 400 QUERY_TOO_LARGE', async () => {
    await expectRefused(transport, app, fragmentChain(5_000), 'QUERY_TOO_LARGE');
  });

  it('refuses a short document of more than GRAPHQL_MAX_TOKENS tokens with QUERY_TOO_LARGE (maxTokens)', async () => {
    const errors = await expectRefused(transport, app, `{ ${'__typename '.repeat(2_001)}}`, 'QUERY_TOO_LARGE');
    expect(errors[0]!.extensions).toMatchObject({ maxTokens: 2000 });
  });

  // 50,000 levels (250 KB) still fit MAX_BODY_BYTES; 100,000 (500 KB) is PAYLOAD_TOO_LARGE (httpGuard.test.ts).
  it('refuses 50,000-deep nesting with QUERY_TOO_LARGE, not a stack overflow', async () => {
    await expectRefused(transport, app, deepNesting(50_000), 'QUERY_TOO_LARGE');
  });

  it('refuses nesting deeper than GRAPHQL_MAX_DEPTH with QUERY_TOO_DEEP', async () => {
    const deep = `{ auctionItems { edges { node { analytics { bySource { source ${'x { '.repeat(6)}y${' }'.repeat(6)} } } } } } }`;
    const errors = await expectRefused(transport, app, deep, 'QUERY_TOO_DEEP');
    expect(errors.find((error) => error.extensions?.code === 'QUERY_TOO_DEEP')!.extensions).toMatchObject({
      maxDepth: 10,
    });
  });

  it('refuses more aliases than GRAPHQL_MAX_ALIASES with TOO_MANY_ALIASES', async () => {
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: auctionItems(first: 1) { pageInfo { hasNextPage } }`).join(' ')} }`;
    const errors = await expectRefused(transport, app, query, 'TOO_MANY_ALIASES');
    expect(errors[0]!.extensions).toMatchObject({ maxAliases: 15 });
  });

  it('refuses more directives than GRAPHQL_MAX_DIRECTIVES with TOO_MANY_DIRECTIVES', async () => {
    const query = `{ __typename ${'@include(if: true) '.repeat(21)} }`;
    await expectRefused(transport, app, query, 'TOO_MANY_DIRECTIVES');
  });

  it('refuses introspection in production', async () => {
    await expectRefused(transport, app, '{ __schema { types { name } } }', 'GRAPHQL_VALIDATION_FAILED');
  });

  it('gives no field suggestions in production', async () => {
    const errors = await expectRefused(transport, app, '{ auctionItemz { totalCount } }', 'GRAPHQL_VALIDATION_FAILED');
    expect(errors[0]!.message).not.toMatch(/Did you mean/);
  });
});

/** 100 items, each with an hourly series over `days` days: about 100 × 24 × days points of cost. */
const hourlyPage = (days: number) =>
  `{ auctionItems(first: 100) { edges { node { id analytics(range: { last: "P${days}D" }) { timeSeries(granularity: HOUR) { bucketStart } } } } } }`;

describe.each(['http', 'ws'] as const)('cost limits per role over %s', (transport) => {
  const target = () => (transport === 'http' ? app : loose);
  let seller: { app: string; loose: string };

  beforeAll(async () => {
    const [onApp, onLoose] = await Promise.all(
      [app, loose].map((each) => each.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-limits' })),
    );
    seller = { app: `Bearer ${onApp!.key}`, loose: `Bearer ${onLoose!.key}` };
  });
  const sellerKey = () => (transport === 'http' ? seller.app : seller.loose);

  it('gives a SELLER key GRAPHQL_MAX_COST_SELLER (10,000) where anonymous callers get GRAPHQL_MAX_COST (5,000)', async () => {
    const query = hourlyPage(3); // 7,810
    const anonymous = await expectRefused(transport, target(), query, 'QUERY_TOO_COMPLEX');
    expect(anonymous[0]!.extensions).toMatchObject({ maxCost: 5000 });
    const cost = anonymous[0]!.extensions!.cost as number;
    expect(cost).toBeGreaterThan(5000);
    expect(cost).toBeLessThan(10_000);
    // Priced within the SELLER limit: runs (other sellers' items answer FORBIDDEN field by field).
    const errors = await send(transport, target(), query, undefined, sellerKey());
    expect(codes(errors)).not.toContain('QUERY_TOO_COMPLEX');
    expect(codes(errors)).toContain('FORBIDDEN');
  });

  it('refuses a SELLER over its limit with its maxCost, while an ADMIN key (25,000) runs the same query', async () => {
    const query = hourlyPage(7); // 17,410
    const refused = await send(transport, target(), query, undefined, sellerKey());
    expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(refused[0]!.extensions).toMatchObject({ maxCost: 10_000 });
    expect(refused[0]!.extensions!.cost as number).toBeGreaterThan(10_000);
    expect(refused[0]!.message).toMatch(/GRAPHQL_MAX_COST_SELLER/);
    expect(await send(transport, target(), query, undefined, ADMIN)).toEqual([]);
  });
});

describe.each(['http', 'ws'] as const)('analytics points per timeSeries over %s', (transport) => {
  const target = () => (transport === 'http' ? app : loose);
  const oneItemHourly = (days: number) =>
    `{ auctionItem(id: "65f000000000000000000000") { analytics(range: { last: "P${days}D" }) { timeSeries(granularity: HOUR) { bucketStart impressions } } } }`;

  it('refuses an hourly timeSeries over 89 days (2,137 points) with RANGE_TOO_LARGE, points and maxPoints, before the database', async () => {
    // Cheap enough for the cost limit (about 2,150): it is the points cap that refuses it.
    const errors = await expectRefused(transport, target(), oneItemHourly(89), 'RANGE_TOO_LARGE');
    expect(errors[0]!.extensions).toMatchObject({ points: 89 * 24 + 1, maxPoints: 1000 });
    expect(errors[0]!.message).toMatch(/DAY granularity or a shorter range \(ANALYTICS_MAX_POINTS\)/);
  });

  it('refuses the same series for an ADMIN key (the cap is per field, not per role)', async () => {
    const errors = await send(transport, target(), oneItemHourly(89), undefined, ADMIN);
    expect(codes(errors)).toEqual(['RANGE_TOO_LARGE']);
  });

  it('answers the same range daily, and hourly up to 41 days', async () => {
    const daily = oneItemHourly(89).replace('HOUR', 'DAY');
    // The item does not exist: the answer is null data, not a refusal.
    expect(await send(transport, target(), daily, undefined, ADMIN)).toEqual([]);
    expect(await send(transport, target(), oneItemHourly(41), undefined, ADMIN)).toEqual([]);
  });
});

describe('websocket operations', () => {
  it('refuses queries and mutations over websockets by default (OPERATION_NOT_ALLOWED), before the database', async () => {
    await expectRefused('ws', app, '{ auctionItems(first: 1) { totalCount } }', 'OPERATION_NOT_ALLOWED');
    await expectRefused(
      'ws',
      app,
      'mutation { trackImpression(event: { itemId: "x", sessionId: "s", source: SEARCH }) { accepted } }',
      'OPERATION_NOT_ALLOWED',
    );
  });

  it('runs queries over websockets when WS_ALLOW_QUERIES is on', async () => {
    expect(await overWebsocket(loose, '{ auctionItems(first: 1) { totalCount } }')).toEqual([]);
  });
});

describe('production error hygiene on HTTP', () => {
  it('answers a persisted-query hash that does not match its query with 400 BAD_REQUEST', async () => {
    const response = await postRaw(app, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    });
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['BAD_REQUEST']);
    expect(response.errors![0]!.message).not.toMatch(/Internal server error/);
  });

  it('answers an unknown persisted-query hash with PERSISTED_QUERY_NOT_FOUND', async () => {
    const response = await postRaw(app, {
      extensions: { persistedQuery: { version: 1, sha256Hash: '1'.repeat(64) } },
    });
    expect(errorCodes(response)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});

describe("the web app's real queries", () => {
  it('lets a 50-item search page with totalCount, facets and 7-day daily analytics per item through', async () => {
    const query = `query SearchPage($range: TimeRangeInput) {
      auctionItems(first: 50, orderBy: { field: ENDS_AT, direction: ASC }) {
        totalCount
        ${facets}
        pageInfo { hasNextPage endCursor }
        edges { cursor node {
          id title category status endsAt price { amount currency }
          analytics(range: $range) { impressions clicks ctr timeSeries(granularity: DAY) { bucketStart impressions clicks } }
        } }
      }
    }`;
    const { result, commands } = await commandCounter(app).measure(() =>
      overHttp(app, query, { range: { last: 'P7D' } }, ADMIN),
    );
    expect(result.errors).toBeUndefined();
    const data = result.data as { auctionItems: { totalCount: number; edges: unknown[] } };
    expect(data.auctionItems.totalCount).toBe(60);
    expect(data.auctionItems.edges).toHaveLength(50);
    expect(commands.length).toBeGreaterThan(0);
  });
});
