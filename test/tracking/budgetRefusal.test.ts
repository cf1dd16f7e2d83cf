import { ManualClock } from '../../src/shared/clock';
import {
  TrackImpressionsDocument,
  TrackingOutcomesDocument,
  type ImpressionInput,
  type TrackImpressionsMutation,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, postRaw, startTestApp, type TestApp } from '../support/testApp';
import { executeOverWebsocket } from '../support/websocket';

// Issue 19, finding 7: a request whose address or session is over its tracking budget is refused
// as a whole before its events are processed (coerced by GraphQL, validated one by one): one
// RATE_LIMITED answer with retryAfterMs, its events accounted for in the audit aggregates.
const IP_BUDGET = 50;
const SESSION_BUDGET = 30;

const impressions = (items: readonly string[], sessionId: string, count: number): ImpressionInput[] =>
  Array.from({ length: count }, (_, index) => ({ itemId: items[index % items.length]!, sessionId, source: 'SEARCH' }));
const from = (address: string) => ({ ...BROWSER, 'x-forwarded-for': address });
const TRACK = 'mutation ($e: [ImpressionInput!]!) { trackImpressions(events: $e) { accepted rateLimited } }';

describe('tracking requests over their budget', () => {
  const clock = new ManualClock('2026-03-01T12:00:05.000Z');
  let app: TestApp;
  let items: string[];
  const rows = () => app.database.connection.collection('tracking_events');

  beforeAll(async () => {
    app = await startTestApp({
      clock,
      env: {
        GAVEL_SEED_DEMO: 'false',
        TRUST_PROXY: '1',
        TRACKING_IP_EVENTS_PER_MINUTE: String(IP_BUDGET),
        TRACKING_SESSION_EVENTS_PER_MINUTE: String(SESSION_BUDGET),
        TRACKING_AUDIT_ROWS_PER_MINUTE: '100',
        WS_ALLOW_QUERIES: 'true',
      },
    });
    items = await insertDemoItems(app, 40);
  });
  afterAll(() => app.stop());

  /** trackingOutcomes' RATE_LIMITED count of the current hour, aggregates written first. */
  const rateLimitedThisHour = async () => {
    await app.services.tracking.flushAuditAggregates();
    const response = await execute(app, TrackingOutcomesDocument, { range: { last: 'PT1H' } });
    return response.data!.trackingOutcomes.reduce((sum, bucket) => sum + bucket.rateLimited, 0);
  };

  it('an address over its budget: the whole request refused before its events are coerced, 429 with retryAfterMs; accounted for', async () => {
    const address = '198.51.100.1';
    // Within the budget, then across it: limited event by event, as before.
    const sessions = ['a-1', 'a-2'];
    const first = await execute(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, sessions[0]!, 25) },
      from(address),
    );
    expect(first.data!.trackImpressions).toMatchObject({ accepted: 25, rateLimited: 0 });
    const crossing = await execute(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, sessions[1]!, 30) },
      from(address),
    );
    expect(crossing.data!.trackImpressions).toMatchObject({ accepted: 25, rateLimited: 5 });
    const before = await rateLimitedThisHour();
    const storedBefore = await rows().countDocuments({ outcome: 'RATE_LIMITED' });

    // Nothing left: a full batch is refused as a whole, with one answer.
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from(address) },
      body: JSON.stringify({ query: TRACK, variables: { e: impressions(items, 'a-3', 500) } }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('55');
    const body = (await response.json()) as { data?: unknown; errors: Array<{ message: string; extensions: object }> };
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 55_000 });
    expect(body.errors[0]!.message).toMatch(/TRACKING_IP_EVENTS_PER_MINUTE.*500 events.*retry in 55 s/);

    // Before GraphQL coerces them: malformed events are refused the same way, not as BAD_USER_INPUT.
    const malformed = await postRaw(
      app,
      { query: TRACK, variables: { e: [{ itemId: 7, sessionId: 'a-3', source: 'NOWHERE', position: 'x' }] } },
      from(address),
    );
    expect(malformed.status).toBe(429);
    expect(malformed.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });

    // Accounted for: aggregated (no rows), in trackingOutcomes.
    expect(await rows().countDocuments({ outcome: 'RATE_LIMITED' })).toBe(storedBefore);
    expect((await rateLimitedThisHour()) - before).toBe(501);

    // Another address is not affected; the next minute the address has its budget again.
    const other = await execute(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, 'b-1', 5) },
      from('198.51.100.2'),
    );
    expect(other.data!.trackImpressions.accepted).toBe(5);
    clock.advance(60_000);
    const later = await execute(app, TrackImpressionsDocument, { events: impressions(items, 'a-4', 5) }, from(address));
    expect(later.data!.trackImpressions).toMatchObject({ accepted: 5, rateLimited: 0 });
  });

  it("a session over its budget: that session's requests refused as a whole, the address's other sessions served", async () => {
    clock.advance(60_000);
    const address = '198.51.100.3';
    const exhausted = await execute(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, 's-1', 35) },
      from(address),
    );
    expect(exhausted.data!.trackImpressions).toMatchObject({ accepted: 30, rateLimited: 5 });
    const refused = await execute(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, 's-1', 5) },
      from(address),
    );
    expect(refused.status).toBe(429);
    expect(refused.errors![0]!.message).toMatch(/from this session \(TRACKING_SESSION_EVENTS_PER_MINUTE\)/);
    // A batch naming a session with budget left is processed event by event.
    const mixed = await execute(
      app,
      TrackImpressionsDocument,
      { events: [...impressions(items, 's-1', 2), ...impressions(items.slice(10), 's-2', 2)] },
      from(address),
    );
    expect(mixed.data!.trackImpressions).toMatchObject({ accepted: 2, rateLimited: 2 });
  });

  it('the same refusal on the paths the HTTP guard does not read: graphql-ws, inline events, directives', async () => {
    clock.advance(60_000);
    // Websockets all come from 127.0.0.1: spend that address's budget first.
    const spent = await executeOverWebsocket(
      app,
      TrackImpressionsDocument,
      { events: [...impressions(items, 'w-1', 26), ...impressions(items, 'w-1b', IP_BUDGET - 25)] },
      { headers: BROWSER },
    );
    expect(spent.data!.trackImpressions.rateLimited).toBe(1);
    const overWs = await executeOverWebsocket(
      app,
      TrackImpressionsDocument,
      { events: impressions(items, 'w-2', 500) },
      { headers: BROWSER },
    );
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect(overWs.errors?.[0]?.message).toMatch(/none of this request's 500 events/);

    const address = '198.51.100.4';
    for (const session of ['l-1a', 'l-1b'])
      await execute(
        app,
        TrackImpressionsDocument,
        { events: impressions(items, session, IP_BUDGET / 2) },
        from(address),
      );
    const inline = await postRaw<TrackImpressionsMutation>(
      app,
      {
        query: `mutation { trackImpressions(events: [{ itemId: "${items[0]!}", sessionId: "l-2", source: SEARCH }]) @include(if: true) { accepted } }`,
      },
      from(address),
    );
    expect(inline.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect(inline.data?.trackImpressions ?? null).toBeNull();
  });
});
