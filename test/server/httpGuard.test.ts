import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ManualClock } from '../../src/shared/clock';
import { insertDemoItems } from '../support/catalogFixtures';
import { startRedis } from '../support/redisServer';
import {
  errorCodes,
  postRaw,
  productionEnv,
  startTestApp,
  type GraphQLResponse,
  type TestApp,
} from '../support/testApp';

/**
 * The cheap HTTP refusals of issue 11's big-body attacks (src/server/httpGuard.ts): the request
 * rate per client address (HTTP_REQUESTS_PER_MINUTE), the document length
 * (GRAPHQL_MAX_QUERY_CHARS) and the body size (MAX_BODY_BYTES), over the real server; and that
 * the web app's largest legitimate request passes the defaults.
 */

const PER_MINUTE = 5;
const clock = new ManualClock('2026-03-02T10:00:05.000Z');
/** A low request limit behind one trusted proxy hop, on a clock the test moves. */
let limited: TestApp;
/** Production defaults (limits not lowered): what the public endpoint runs. */
let defaults: TestApp;
let itemIds: string[];

beforeAll(async () => {
  const production = {
    ...productionEnv(),
    GAVEL_SEED_DEMO: 'false',
    CORS_ORIGINS: 'https://app.example.com',
  };
  [limited, defaults] = await Promise.all([
    startTestApp({
      clock,
      periodicJobs: false,
      env: { ...production, TRUST_PROXY: '1', HTTP_REQUESTS_PER_MINUTE: String(PER_MINUTE) },
    }),
    startTestApp({ periodicJobs: false, env: production }),
  ]);
  itemIds = await insertDemoItems(defaults, 5);
});
afterAll(() => Promise.all([limited?.stop(), defaults?.stop()]));

const from = (address: string) => ({ 'x-forwarded-for': address });
const typename = (address: string) => postRaw(limited, { query: '{ __typename }' }, from(address));

describe('HTTP requests per client address (HTTP_REQUESTS_PER_MINUTE)', () => {
  it('refuses an address past its budget with 429, RATE_LIMITED and Retry-After, and spares other addresses', async () => {
    for (let i = 0; i < PER_MINUTE; i++) expect((await typename('203.0.113.1')).data).toEqual({ __typename: 'Query' });

    const response = await fetch(limited.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from('203.0.113.1') },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(429);
    // 55 s left in the clock's minute.
    expect(response.headers.get('retry-after')).toBe('55');
    const body = (await response.json()) as GraphQLResponse<unknown>;
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 55_000 });
    expect(body.errors?.[0]?.message).toMatch(/HTTP_REQUESTS_PER_MINUTE/);

    // Another address behind the same proxy is unaffected.
    expect((await typename('203.0.113.2')).data).toEqual({ __typename: 'Query' });
    // The refusal comes before the body is read: an oversized or malformed body is not even looked at.
    expect(errorCodes(await postRaw(limited, 'x'.repeat(400_000), from('203.0.113.1')))).toEqual(['RATE_LIMITED']);
    expect(errorCodes(await postRaw(limited, '{not json', from('203.0.113.1')))).toEqual(['RATE_LIMITED']);
    // Health probes are not GraphQL requests: never limited.
    const health = await fetch(limited.url.replace('/graphql', '/healthz'), { headers: from('203.0.113.1') });
    expect(health.status).toBe(200);

    // The next minute, the budget is back.
    clock.advance(60_000);
    expect((await typename('203.0.113.1')).data).toEqual({ __typename: 'Query' });
  });

  it('counts an IPv6 client by its /64 (IPV6_LIMIT_PREFIX) and an IPv4-mapped address as its IPv4 address', async () => {
    // One host, a fresh address of its /64 for every request: one budget all the same.
    const network = [
      '2001:db8:aa:1::1',
      '2001:db8:aa:1::2',
      '2001:db8:aa:1:1::3',
      '2001:db8:aa:1:ffff::4',
      '2001:db8:aa:1::5',
    ];
    for (const address of network) expect((await typename(address)).data).toEqual({ __typename: 'Query' });
    const refused = await typename('2001:db8:aa:1:abcd:ef01:2345:6789');
    expect(refused.status).toBe(429);
    expect(errorCodes(refused)).toEqual(['RATE_LIMITED']);
    // The next /64 is another subscriber.
    expect((await typename('2001:db8:aa:2::1')).data).toEqual({ __typename: 'Query' });

    for (let i = 0; i < PER_MINUTE; i++) expect((await typename('203.0.113.60')).data).toEqual({ __typename: 'Query' });
    expect(errorCodes(await typename('::ffff:203.0.113.60'))).toEqual(['RATE_LIMITED']);
    // IPv4 addresses stay one each.
    expect((await typename('203.0.113.61')).data).toEqual({ __typename: 'Query' });
  });

  it('is one budget for every instance when REDIS_URL is set', async () => {
    const redis = await startRedis();
    const env = { GAVEL_SEED_DEMO: 'false', REDIS_URL: redis.url, TRUST_PROXY: '1', HTTP_REQUESTS_PER_MINUTE: '4' };
    const shared = new ManualClock('2026-03-02T10:00:05.000Z');
    const [one, two] = await Promise.all([
      startTestApp({ clock: shared, periodicJobs: false, env }),
      startTestApp({ clock: shared, periodicJobs: false, env }),
    ]);
    try {
      const ask = (app: TestApp) => postRaw(app, { query: '{ __typename }' }, from('198.51.100.9'));
      // Alternating instances: 4 in all pass, the 5th is refused wherever it lands.
      for (const app of [one, two, one, two]) expect((await ask(app)).data).toEqual({ __typename: 'Query' });
      expect(errorCodes(await ask(one))).toEqual(['RATE_LIMITED']);
      expect(errorCodes(await ask(two))).toEqual(['RATE_LIMITED']);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await redis.stop();
    }
  });

  it('does not count CORS preflights, and a browser can read the 429', async () => {
    const origin = 'https://app.example.com';
    for (let i = 0; i < PER_MINUTE * 3; i++) {
      const preflight = await fetch(limited.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', ...from('203.0.113.3') },
      });
      expect(preflight.status).toBe(204);
    }
    const browser = { origin, ...from('203.0.113.3') };
    for (let i = 0; i < PER_MINUTE; i++)
      expect((await postRaw(limited, { query: '{ __typename }' }, browser)).data).toEqual({ __typename: 'Query' });
    const refused = await fetch(limited.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...browser },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('access-control-allow-origin')).toBe(origin);
  });
});

/** A document of exactly `length` characters: `{ __typename }` padded with a comment. */
function documentOf(length: number): string {
  const base = '{ __typename }\n#';
  return base + 'x'.repeat(length - base.length);
}

async function overWebsocket(app: TestApp, query: string): Promise<unknown[]> {
  const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    return await new Promise<unknown[]>((resolve, reject) => {
      client.subscribe(
        { query },
        {
          next: (result) => resolve((result.errors ?? []).map((error) => error.extensions?.code)),
          error: (error) =>
            Array.isArray(error)
              ? resolve(error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code))
              : reject(error),
          complete: () => resolve([]),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('document length (GRAPHQL_MAX_QUERY_CHARS) and body size (MAX_BODY_BYTES), defaults', () => {
  it('answers a document of exactly the default length and refuses one character more, before lexing', async () => {
    expect((await postRaw(defaults, { query: documentOf(32_768) })).data).toEqual({ __typename: 'Query' });

    const refused = await postRaw(defaults, { query: documentOf(32_769) });
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TOO_LARGE', maxQueryChars: 32_768 });
    expect(refused.errors?.[0]?.message).toMatch(/32769 characters.*GRAPHQL_MAX_QUERY_CHARS/);
    // Refused on its length, not its syntax: an unterminated document says the same.
    expect(errorCodes(await postRaw(defaults, { query: `{ ${'a '.repeat(20_000)}` }))).toEqual(['QUERY_TOO_LARGE']);
  });

  it('applies the same length limit over graphql-ws', async () => {
    expect(await overWebsocket(defaults, `subscription ${documentOf(40_000).slice('subscription '.length)}`)).toEqual([
      'QUERY_TOO_LARGE',
    ]);
  });

  it("lets the web app's largest request through: a full tracking batch of signed sessions", async () => {
    const session = await postRaw<{ startSession: { sessionId: string } }>(defaults, {
      query: 'mutation { startSession { sessionId } }',
    });
    const sessionId = session.data!.startSession.sessionId;
    // TRACKING_MAX_BATCH (500) events, every optional field filled at its longest.
    const events = Array.from({ length: 500 }, (_, index) => ({
      itemId: itemIds[index % itemIds.length],
      sessionId,
      userId: 'u'.repeat(128),
      source: 'RECOMMENDATION',
      position: 10_000,
      timestamp: new Date().toISOString(),
    }));
    const body = JSON.stringify({
      query:
        'mutation Track($events: [ImpressionInput!]!) { trackImpressions(events: $events) { accepted events { index outcome reason } } }',
      variables: { events },
    });
    // Well within the 256 KiB default, with room for a larger client.
    expect(Buffer.byteLength(body)).toBeLessThan(262_144 / 1.5);
    const response = await postRaw<{ trackImpressions: { events: unknown[] } }>(defaults, body, {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?.trackImpressions.events).toHaveLength(500);
  });

  it('refuses a body over the 256 KiB default with 413 PAYLOAD_TOO_LARGE', async () => {
    const refused = await postRaw(defaults, { query: documentOf(100), variables: { pad: 'x'.repeat(262_144) } });
    expect(refused.status).toBe(413);
    expect(errorCodes(refused)).toEqual(['PAYLOAD_TOO_LARGE']);
  });
});
