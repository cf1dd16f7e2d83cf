import { loadConfig, settingNames } from '../../src/config';
import {
  benchServerSettings,
  CapReached,
  LOAD_GENERATOR_LIMITS,
  openSubscriber,
  type Subscriber,
} from '../../bench/loadGenerator';
import { graphqlRequest, sendTrackingBatch } from '../../bench/support';
import { insertDemoItems } from '../support/catalogFixtures';
import { startTestApp, type TestApp } from '../support/testApp';

// The benchmarks' load generator against a real server: a cap its clients meet stops the
// benchmark with an error naming the cap, on HTTP and on graphql-ws, instead of a quietly
// throttled measurement.

/** Settings named like a cap that refuse nothing a load client sends: counting rules and document shapes. */
const NOT_REFUSALS = [
  'TRACKING_AUDIT_ROWS_PER_MINUTE', // refused events beyond it are aggregated, not refused
  'TRACKING_CLICKS_PER_IMPRESSION', // a counting rule
  'LIVE_MAX_ITEMS_PER_SUBSCRIPTION', // the shape of a document, chosen by each benchmark
  'LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION',
];

describe('LOAD_GENERATOR_LIMITS', () => {
  it('lifts every per-address, per-session, per-key and rate cap of the configuration', () => {
    const caps = settingNames().filter(
      (name) => /_PER_(MINUTE|SECOND|ADDRESS|KEY|SESSION)$/.test(name) && !NOT_REFUSALS.includes(name),
    );
    expect(caps.length).toBeGreaterThanOrEqual(9);
    expect(caps.filter((name) => !(name in LOAD_GENERATOR_LIMITS))).toEqual([]);
  });

  it('holds values the configuration accepts, far above what 10,000 load clients on one address need', () => {
    const config = loadConfig(LOAD_GENERATOR_LIMITS);
    expect(config.ws.maxConnectionsPerAddress).toBeGreaterThanOrEqual(10_000);
    expect(config.live.maxOpenCostPerAddress).toBeGreaterThanOrEqual(10_000 * config.limits.maxCost);
    expect(config.httpRequestsPerMinute).toBe(0); // off
  });
});

describe('benchServerSettings', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("passes the operator's Gavel settings on, not where the benchmark's server runs, and lets the benchmark's own win", () => {
    process.env.LIVE_INTERVAL_MS = '250';
    process.env.WS_MAX_CONNECTIONS_PER_ADDRESS = '100';
    process.env.MONGODB_URI = 'mongodb://elsewhere:27017';
    process.env.TRACKING_MAX_BATCH = '10';
    process.env.NOT_A_GAVEL_SETTING = 'x';
    const settings = benchServerSettings({ TRACKING_MAX_BATCH: '100' });
    expect(settings.LIVE_INTERVAL_MS).toBe('250');
    // The operator's cap replaces the lifted one: the load meets it, and the run says so.
    expect(settings.WS_MAX_CONNECTIONS_PER_ADDRESS).toBe('100');
    expect(settings.MONGODB_URI).toBeUndefined();
    expect(settings.NOT_A_GAVEL_SETTING).toBeUndefined();
    expect(settings.TRACKING_MAX_BATCH).toBe('100');
    expect(() => loadConfig({ ...settings, NODE_ENV: 'production' })).not.toThrow();
  });
});

describe('a load client meeting a cap', () => {
  let app: TestApp | undefined;
  const open: Subscriber[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map(({ client }) => client.dispose()));
    await app?.stop();
    app = undefined;
  });

  const overview = { query: 'subscription { analyticsOverviewUpdated { impressions } }', onData: () => undefined };

  /** Expects `work` to fail with a {@link CapReached} naming `setting`. */
  async function expectCap(work: Promise<unknown>, setting: string): Promise<void> {
    const error = await work.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CapReached);
    expect((error as CapReached).setting).toBe(setting);
    expect((error as Error).message).toContain(setting);
  }

  it('stops at the websocket connection cap (HTTP 429 at the upgrade), naming WS_MAX_CONNECTIONS_PER_ADDRESS', async () => {
    app = await startTestApp({ env: { WS_MAX_CONNECTIONS_PER_ADDRESS: '2' } });
    open.push(await openSubscriber(app.url, [overview]), await openSubscriber(app.url, [overview]));
    await expectCap(openSubscriber(app.url, [overview]), 'WS_MAX_CONNECTIONS_PER_ADDRESS');
  });

  it('stops when the server closes a connection over its message rate, naming WS_MAX_MESSAGES_PER_SECOND', async () => {
    app = await startTestApp({ env: { WS_MAX_MESSAGES_PER_SECOND: '2' } });
    // connection_init and three subscribe messages in the same second.
    await expectCap(openSubscriber(app.url, [overview, overview, overview]), 'WS_MAX_MESSAGES_PER_SECOND');
  });

  it('stops when a subscription is refused by the open-cost budget, naming LIVE_MAX_OPEN_COST_PER_ADDRESS', async () => {
    app = await startTestApp({ env: { LIVE_MAX_OPEN_COST_PER_ADDRESS: '1' } });
    await expectCap(openSubscriber(app.url, [overview]), 'LIVE_MAX_OPEN_COST_PER_ADDRESS');
  });

  it('reports a refusal after the first results through `refused`', async () => {
    app = await startTestApp({ env: { WS_MAX_MESSAGES_PER_SECOND: '3' } });
    const subscriber = await openSubscriber(app.url, [overview]); // 2 messages
    open.push(subscriber);
    // Two more subscriptions in the same second: the fourth message is over the rate.
    subscriber.client.subscribe(
      { query: overview.query },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    subscriber.client.subscribe(
      { query: overview.query },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    await expectCap(subscriber.refused, 'WS_MAX_MESSAGES_PER_SECOND');
  });

  it('stops at a tracking cap, whether it refuses the request or some of its events', async () => {
    app = await startTestApp({ env: { TRACKING_IP_EVENTS_PER_MINUTE: '5' } });
    const [itemId] = await insertDemoItems(app, 1);
    const events = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, index) => ({
        itemId: itemId!,
        sessionId: `${prefix}-${index}`,
        source: 'SEARCH',
      }));
    // 4 of 5 allowed, then 3 more: 1 counted, 2 RATE_LIMITED in the answer.
    expect((await sendTrackingBatch(app.url, 'impressions', events(4, 'a'))).accepted).toBe(4);
    await expectCap(sendTrackingBatch(app.url, 'impressions', events(3, 'b')), 'TRACKING_IP_EVENTS_PER_MINUTE');
    // The budget spent: the whole next request is refused before it is looked at.
    await expectCap(sendTrackingBatch(app.url, 'impressions', events(2, 'c')), 'TRACKING_IP_EVENTS_PER_MINUTE');
  });

  it('tells a server that is not there from a cap: a plain error, not CapReached', async () => {
    app = await startTestApp();
    const url = app.url;
    await app.stop();
    app = undefined;
    const error = await openSubscriber(url, [overview]).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(CapReached);
    expect((error as Error).message).toMatch(/websocket (connection failed|closed by the server)/);
  });

  it('stops at the HTTP request cap, naming HTTP_REQUESTS_PER_MINUTE', async () => {
    app = await startTestApp({ env: { HTTP_REQUESTS_PER_MINUTE: '2' } });
    await graphqlRequest(app.url, '{ __typename }');
    await graphqlRequest(app.url, '{ __typename }');
    await expectCap(graphqlRequest(app.url, '{ __typename }'), 'HTTP_REQUESTS_PER_MINUTE');
  });
});
