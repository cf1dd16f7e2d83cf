import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TrackImpressionsDocument } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { labelValues, parsePrometheusText, sumOf, type Scrape } from '../support/prometheus';
import { recordingLogger, type RecordingLogger } from '../support/recordingLogger';
import { errorCodes, execute, postRaw, productionEnv, startTestApp, type TestApp } from '../support/testApp';

const TOKEN = 'metrics-token-0123456789';
const MAX_NAMES = 5;

let app: TestApp;
let logs: RecordingLogger;
let items: string[];
const clients: Client[] = [];

beforeAll(async () => {
  logs = recordingLogger();
  app = await startTestApp({
    logger: logs.logger,
    env: {
      GAVEL_SEED_DEMO: 'false',
      METRICS_TOKEN: TOKEN,
      METRICS_MAX_OPERATION_NAMES: String(MAX_NAMES),
      METRICS_OPERATION_NAMES: 'PinnedOperation',
      LOG_TRACKING_SAMPLE_RATE: '1',
      GRAPHQL_MAX_COST: '150',
      GRAPHQL_MAX_COST_ADMIN: '150',
      METRICS_DB_COMMANDS: 'true',
    },
  });
  items = await insertDemoItems(app, 3);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await app.stop();
});

const origin = () => app.url.replace('/graphql', '');

/** Scrapes `/metrics` with the token; the strict reader throws on anything not in the text format. */
async function scrape(): Promise<Scrape> {
  const response = await fetch(`${origin()}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

/** A counter's or gauge's value summed over the series matching `labels`. */
const value = (scrape: Scrape, name: string, labels: Record<string, string> = {}) => sumOf(scrape, name, labels);

/** A histogram's observation count (or sum) over the series matching `labels`. */
const observations = (
  scrape: Scrape,
  name: string,
  labels: Record<string, string> = {},
  field: 'count' | 'sum' = 'count',
) => sumOf(scrape, `${name}_${field}`, labels);

/** Waits for the request log line of a request id: the operation is then counted too. */
const loggedLine = (reqId: string) => logs.waitFor((line) => line.reqId === reqId && line.msg === 'graphql operation');

const operations = 'gavel_graphql_operations_total';

describe('/metrics', () => {
  it('needs the token when METRICS_TOKEN is set', async () => {
    const none = await fetch(`${origin()}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toMatch(/gavel_/);
    const wrong = await fetch(`${origin()}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${origin()}/metrics`, { headers: { authorization: TOKEN } });
    expect(basic.status).toBe(401);
  });

  it('serves Prometheus text with the process, event-loop and Gavel families', async () => {
    const families = await scrape();
    expect([...families.types.keys()]).toEqual(
      expect.arrayContaining([
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_eventloop_lag_p99_seconds',
        operations,
        'gavel_graphql_operation_duration_seconds',
        'gavel_graphql_refused_total',
        'gavel_tracking_events_total',
        'gavel_tracking_flush_events',
        'gavel_tracking_flush_duration_seconds',
        'gavel_tracking_writer_backlog',
        'gavel_tracking_write_timeouts_total',
        'gavel_tracking_backlog_refusals_total',
        'gavel_tracking_implicit_dropped_total',
        'gavel_rollup_recovery_runs_total',
        'gavel_live_connections',
        'gavel_live_subscriptions',
        'gavel_live_pushes_total',
        'gavel_db_command_duration_seconds',
      ]),
    );
    expect(families.types.get('gavel_graphql_operation_duration_seconds')).toBe('histogram');
  });

  it('counts rollup recovery runs (the first runs at startup, with nothing to rebuild)', async () => {
    let families = await scrape();
    while (value(families, 'gavel_rollup_recovery_runs_total') === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      families = await scrape();
    }
    expect(value(families, 'gavel_rollup_recovery_runs_total', { result: 'idle' })).toBe(1);
    expect(value(families, 'gavel_rollup_recovery_buckets_total')).toBe(0);
  });

  it('counts a query by name and outcome, its latency and its database commands', async () => {
    const before = await scrape();
    const reqId = 'metrics-query-1';
    const response = await postRaw(
      app,
      { query: 'query ItemTitle($id: ID!) { auctionItem(id: $id) { title } }', variables: { id: items[0] } },
      { 'x-request-id': reqId },
    );
    expect(response.errors).toBeUndefined();
    await loggedLine(reqId);
    const after = await scrape();
    const labels = { transport: 'http', type: 'query', operation: 'ItemTitle' };
    expect(
      value(after, operations, { ...labels, code: 'OK' }) - value(before, operations, { ...labels, code: 'OK' }),
    ).toBe(1);
    expect(
      observations(after, 'gavel_graphql_operation_duration_seconds', labels) -
        observations(before, 'gavel_graphql_operation_duration_seconds', labels),
    ).toBe(1);
    // The item lookup is at least one `find` round trip, timed through command monitoring.
    expect(
      observations(after, 'gavel_db_command_duration_seconds', { command: 'find', result: 'ok' }) -
        observations(before, 'gavel_db_command_duration_seconds', { command: 'find', result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts tracked events by type and outcome, and the writer flush that stored them', async () => {
    const before = await scrape();
    const reqId = 'metrics-track-1';
    const event = { itemId: items[1]!, sessionId: 'metrics-session-1', source: 'SEARCH' as const };
    // The same impression twice in one batch: one ACCEPTED, one DUPLICATE; and one unknown item.
    const response = await execute(
      app,
      TrackImpressionsDocument,
      { events: [event, event, { ...event, itemId: 'f'.repeat(24) }] },
      { ...BROWSER, 'x-request-id': reqId },
    );
    expect(response.data?.trackImpressions).toMatchObject({ accepted: 1, duplicates: 1, invalid: 1 });
    await loggedLine(reqId);
    const after = await scrape();
    const delta = (outcome: string) =>
      value(after, 'gavel_tracking_events_total', { type: 'IMPRESSION', outcome }) -
      value(before, 'gavel_tracking_events_total', { type: 'IMPRESSION', outcome });
    expect([delta('ACCEPTED'), delta('DUPLICATE'), delta('INVALID'), delta('RATE_LIMITED')]).toEqual([1, 1, 1, 0]);
    // One flush stored the accepted event and the audit row of the invalid one.
    expect(
      observations(after, 'gavel_tracking_flush_events') - observations(before, 'gavel_tracking_flush_events'),
    ).toBe(1);
    expect(
      observations(after, 'gavel_tracking_flush_events', {}, 'sum') -
        observations(before, 'gavel_tracking_flush_events', {}, 'sum'),
    ).toBe(2);
    expect(
      observations(after, 'gavel_tracking_flush_duration_seconds', { result: 'ok' }) -
        observations(before, 'gavel_tracking_flush_duration_seconds', { result: 'ok' }),
    ).toBe(1);
    expect(value(after, 'gavel_tracking_writer_backlog')).toBe(0);
    expect(
      value(after, operations, { transport: 'http', type: 'mutation', operation: 'TrackImpressions', code: 'OK' }) -
        value(before, operations, { transport: 'http', type: 'mutation', operation: 'TrackImpressions', code: 'OK' }),
    ).toBe(1);
  });

  it('counts operations refused by a limit by code, before any resolver runs', async () => {
    const before = await scrape();
    const aliases = `query TooManyAliases { ${Array.from({ length: 20 }, (_, index) => `a${index}: auctionItem(id: "${items[0]}") { id }`).join(' ')} }`;
    const expensive = 'query Expensive { auctionItems(first: 100) { totalCount edges { node { id } } } }';
    expect(errorCodes(await postRaw(app, { query: aliases }, { 'x-request-id': 'refused-1' }))).toEqual([
      'TOO_MANY_ALIASES',
    ]);
    expect(errorCodes(await postRaw(app, { query: expensive }, { 'x-request-id': 'refused-2' }))).toEqual([
      'QUERY_TOO_COMPLEX',
    ]);
    const tooLarge = await postRaw(
      app,
      { query: '{ __typename }', variables: { padding: 'x'.repeat(1_100_000) } },
      { 'x-request-id': 'refused-3' },
    );
    expect(tooLarge.status).toBe(413);
    const lines = await Promise.all(['refused-1', 'refused-2', 'refused-3'].map(loggedLine));
    const after = await scrape();
    const refused = (code: string) =>
      value(after, 'gavel_graphql_refused_total', { code }) - value(before, 'gavel_graphql_refused_total', { code });
    expect([refused('TOO_MANY_ALIASES'), refused('QUERY_TOO_COMPLEX'), refused('PAYLOAD_TOO_LARGE')]).toEqual([
      1, 1, 1,
    ]);
    const counted = (labels: Record<string, string>) =>
      value(after, operations, labels) - value(before, operations, labels);
    // A document that failed validation names itself in the log, but cannot claim a label of its own.
    expect(lines[0]).toMatchObject({
      operation: 'TooManyAliases',
      type: 'query',
      code: 'TOO_MANY_ALIASES',
      status: 400,
    });
    expect(counted({ operation: 'other', code: 'TOO_MANY_ALIASES' })).toBe(1);
    // One that validated and was refused on cost keeps its name.
    expect(counted({ operation: 'Expensive', type: 'query', code: 'QUERY_TOO_COMPLEX' })).toBe(1);
    // A body that never reached GraphQL.
    expect(lines[2]).toMatchObject({ operation: null, type: null, code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(counted({ transport: 'http', type: 'unknown', operation: 'anonymous', code: 'PAYLOAD_TOO_LARGE' })).toBe(1);
  });

  it('counts websocket connections, subscriptions, pushes and refusals', async () => {
    const before = await scrape();
    const requestIds: string[] = [];
    const client = createClient({
      url: app.wsUrl,
      retryAttempts: 0,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { 'x-request-id': 'ws-connection-1' } });
          this.on('upgrade', (response) => requestIds.push(String(response.headers['x-request-id'])));
        }
      },
    });
    clients.push(client);
    const first = await new Promise<unknown>((resolve, reject) => {
      client.subscribe(
        // An item no test tracks: its figures never change, so exactly one message is pushed.
        {
          query: 'subscription Watch($ids: [ID!]!) { itemAnalyticsUpdated(itemIds: $ids) { impressions } }',
          variables: { ids: [items[2]] },
        },
        { next: resolve, error: reject, complete: () => undefined },
      );
    });
    expect(first).toMatchObject({ data: { itemAnalyticsUpdated: { impressions: 0 } } });
    const refusal = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: 'query OverWebsocket { __typename }' },
        { next: resolve, error: resolve, complete: () => undefined },
      );
    });
    expect(JSON.stringify(refusal)).toMatch(/OPERATION_NOT_ALLOWED/);
    const line = await logs.waitFor((candidate) => candidate.operation === 'Watch');
    expect(line).toMatchObject({
      reqId: 'ws-connection-1',
      transport: 'ws',
      type: 'subscription',
      code: 'OK',
      role: 'ADMIN',
    });
    expect(requestIds).toEqual(['ws-connection-1']);
    await logs.waitFor((candidate) => candidate.operation === 'OverWebsocket');

    const during = await scrape();
    expect(value(during, 'gavel_live_connections')).toBe(1);
    expect(value(during, 'gavel_live_subscriptions')).toBe(1);
    expect(value(during, 'gavel_live_pushes_total') - value(before, 'gavel_live_pushes_total')).toBe(1);
    const ws = { transport: 'ws' };
    expect(
      value(during, operations, { ...ws, type: 'subscription', operation: 'Watch', code: 'OK' }) -
        value(before, operations, { ...ws, type: 'subscription', operation: 'Watch', code: 'OK' }),
    ).toBe(1);
    expect(
      value(during, 'gavel_graphql_refused_total', { code: 'OPERATION_NOT_ALLOWED' }) -
        value(before, 'gavel_graphql_refused_total', { code: 'OPERATION_NOT_ALLOWED' }),
    ).toBe(1);

    await client.dispose();
    // The server notices the close asynchronously: wait for the subscription to be released.
    let after = await scrape();
    while (value(after, 'gavel_live_subscriptions') !== 0 || value(after, 'gavel_live_connections') !== 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      after = await scrape();
    }
    expect(value(after, 'gavel_live_subscriptions')).toBe(0);
  });

  // 1,000 real requests: seconds alone, over a minute on a machine busy with other suites (hence the timeout).
  it('keeps the operation label bounded: 1,000 distinct names give at most the budget plus fallbacks', async () => {
    for (let batch = 0; batch < 10; batch++)
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          postRaw(app, { query: `query Flood${batch * 100 + index} { __typename }` }),
        ),
      );
    await postRaw(app, { query: 'query PinnedOperation { __typename }' }, { 'x-request-id': 'pinned-1' });
    await loggedLine('pinned-1');
    const families = await scrape();
    const labelled = labelValues(families, operations, 'operation');
    // Names seen before this test, this test's first few, the pinned one, `other` and `anonymous`.
    expect(labelled.size).toBeLessThanOrEqual(MAX_NAMES + 3);
    expect(labelled).toContain('PinnedOperation');
    expect(labelled).toContain('other');
    expect([...labelled].filter((name) => name?.startsWith('Flood')).length).toBeLessThanOrEqual(MAX_NAMES);
    expect(value(families, operations, { operation: 'other', code: 'OK' })).toBeGreaterThanOrEqual(1_000 - MAX_NAMES);
    const histogramSeries = families.samples.filter(
      (sample) => sample.name === 'gavel_graphql_operation_duration_seconds_count',
    ).length;
    expect(histogramSeries).toBeLessThanOrEqual((MAX_NAMES + 3) * 2 * 4);
  }, 240_000);
});

describe('request ids', () => {
  it('echoes a sane x-request-id and replaces a missing or hostile one with a fresh UUID', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    expect((await post({ 'x-request-id': 'abc-123.DEF:4_5' })).headers.get('x-request-id')).toBe('abc-123.DEF:4_5');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const generated = [
      (await post({})).headers.get('x-request-id'),
      (await post({ 'x-request-id': 'x'.repeat(65) })).headers.get('x-request-id'),
      (await post({ 'x-request-id': 'evil" \\n{"level":60}' })).headers.get('x-request-id'),
      (await post({ 'x-request-id': '' })).headers.get('x-request-id'),
    ];
    for (const id of generated) expect(id).toMatch(uuid);
    expect(new Set(generated).size).toBe(generated.length);
    // Not only GraphQL: every response names its request.
    expect(
      (await fetch(`${origin()}/healthz`, { headers: { 'x-request-id': 'probe-1' } })).headers.get('x-request-id'),
    ).toBe('probe-1');
  });
});

describe('request log', () => {
  it('writes one line per operation with id, name, type, duration, outcome and role, and no address or ids in clear', async () => {
    const reqId = 'log-query-1';
    await postRaw(
      app,
      { query: 'query ItemTitle($id: ID!) { auctionItem(id: $id) { title } }', variables: { id: items[2] } },
      { 'x-request-id': reqId, 'x-session-id': 'session-in-clear-42' },
    );
    const line = await loggedLine(reqId);
    expect(line).toMatchObject({
      reqId,
      transport: 'http',
      operation: 'ItemTitle',
      type: 'query',
      code: 'OK',
      status: 200,
      role: 'ADMIN',
      client: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      session: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      durationMs: expect.any(Number),
    });
    expect(
      logs.lines.filter((candidate) => candidate.reqId === reqId && candidate.msg === 'graphql operation'),
    ).toHaveLength(1);
    const text = JSON.stringify(line);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('session-in-clear-42');
  });

  it('logs a tracking mutation without the user id, session id or address of its events', async () => {
    const reqId = 'log-track-1';
    await execute(
      app,
      TrackImpressionsDocument,
      {
        events: [
          { itemId: items[0]!, sessionId: 'session-secret-7', userId: 'user-secret-42', source: 'SEARCH' as const },
        ],
      },
      { ...BROWSER, 'x-request-id': reqId },
    );
    const line = await loggedLine(reqId);
    expect(line).toMatchObject({ operation: 'TrackImpressions', type: 'mutation', code: 'OK' });
    const text = JSON.stringify(logs.lines.filter((candidate) => candidate.msg === 'graphql operation'));
    for (const secret of ['user-secret-42', 'session-secret-7', '127.0.0.1', '::ffff:127.0.0.1'])
      expect(text).not.toContain(secret);
  });
});

describe('request log sampling (LOG_TRACKING_SAMPLE_RATE)', () => {
  let sampled: TestApp;
  let sampledLogs: RecordingLogger;

  beforeAll(async () => {
    sampledLogs = recordingLogger();
    sampled = await startTestApp({
      logger: sampledLogs.logger,
      databaseName: app.databaseName,
      // Keys enforced (AUTH_TOKENS), so a wrong key is refused.
      env: {
        GAVEL_SEED_DEMO: 'false',
        LOG_TRACKING_SAMPLE_RATE: '0',
        AUTH_TOKENS: 'sampled-admin-token-0123456789',
        TRACKING_IMPLICIT_QUEUE_SIZE: '0',
      },
    });
  });
  afterAll(() => sampled.stop());

  it('leaves successful tracking mutations out of the log but always logs failures, and counts both', async () => {
    const event = { itemId: items[0]!, sessionId: 'sampled-session', source: 'SEARCH' as const };
    await execute(sampled, TrackImpressionsDocument, { events: [event] }, { ...BROWSER, 'x-request-id': 'sampled-ok' });
    const empty = await execute(
      sampled,
      TrackImpressionsDocument,
      { events: [] },
      { ...BROWSER, 'x-request-id': 'sampled-bad' },
    );
    expect(errorCodes(empty)).toEqual(['BAD_USER_INPUT']);
    await postRaw(sampled, { query: 'query Marker { __typename }' }, { 'x-request-id': 'sampled-marker' });
    // Lines are written in order: once the marker's is there, the earlier ones would be too.
    await sampledLogs.waitFor((line) => line.reqId === 'sampled-marker');
    const requestLines = sampledLogs.lines.filter((line) => line.msg === 'graphql operation');
    expect(requestLines.map((line) => line.reqId)).toEqual(['sampled-bad', 'sampled-marker']);
    expect(requestLines[0]).toMatchObject({ operation: 'TrackImpressions', code: 'BAD_USER_INPUT' });
    const families = parsePrometheusText(await (await fetch(sampled.url.replace('/graphql', '/metrics'))).text());
    expect(value(families, operations, { operation: 'TrackImpressions' })).toBe(2);
  });

  it('logs a refused key with its code and no role', async () => {
    const reqId = 'log-401';
    const response = await postRaw(
      sampled,
      { query: '{ __typename }' },
      { 'x-request-id': reqId, authorization: 'Bearer nope' },
    );
    expect(response.status).toBe(401);
    const line = await sampledLogs.waitFor((candidate) => candidate.reqId === reqId);
    expect(line).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(line.role).toBeUndefined();
  });

  it('counts implicit impressions dropped because their queue is full', async () => {
    const scrapeSampled = async () =>
      parsePrometheusText(await (await fetch(sampled.url.replace('/graphql', '/metrics'))).text());
    const before = await scrapeSampled();
    const search = await postRaw(
      sampled,
      { query: 'query Page { auctionItems(first: 3) { edges { node { id } } } }' },
      { ...BROWSER, 'x-session-id': 'implicit-session' },
    );
    expect(search.errors).toBeUndefined();
    const after = await scrapeSampled();
    // TRACKING_IMPLICIT_QUEUE_SIZE=0: the three impressions the page implies are dropped, and counted.
    expect(
      value(after, 'gavel_tracking_implicit_dropped_total') - value(before, 'gavel_tracking_implicit_dropped_total'),
    ).toBe(3);
    // METRICS_DB_COMMANDS is off by default (its cost: bench:metrics): the search's reads are not timed.
    expect(value(after, 'gavel_db_command_duration_seconds_count')).toBe(0);
  });
});

describe('where /metrics is served (issue 19, finding 6)', () => {
  const started: TestApp[] = [];
  afterAll(() => Promise.all(started.map((server) => server.stop())));
  const start = async (env: Record<string, string>): Promise<TestApp> => {
    const server = await startTestApp({ periodicJobs: false, env: { GAVEL_SEED_DEMO: 'false', ...env } });
    started.push(server);
    return server;
  };
  const publicMetrics = (server: TestApp, headers: Record<string, string> = {}) =>
    fetch(server.url.replace('/graphql', '/metrics'), { headers });
  /** A scrape that is Prometheus text with Gavel's families in it. */
  const isScrape = async (response: Response) => {
    expect(response.status).toBe(200);
    expect([...parsePrometheusText(await response.text()).types.keys()]).toContain(operations);
  };

  it('answers 404 on the public port in production without METRICS_TOKEN or METRICS_PORT', async () => {
    const server = await start(productionEnv());
    const response = await publicMetrics(server);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toMatch(/gavel_|process_/);
    expect((await publicMetrics(server, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect(server.metricsUrl).toBeUndefined();
    // The rest of the port is unchanged.
    expect((await fetch(server.url.replace('/graphql', '/healthz'))).status).toBe(200);
  });

  it('still serves it on the public port in production behind METRICS_TOKEN', async () => {
    const server = await start({ ...productionEnv(), METRICS_TOKEN: TOKEN });
    expect((await publicMetrics(server)).status).toBe(401);
    await isScrape(await publicMetrics(server, { authorization: `Bearer ${TOKEN}` }));
  });

  it('serves it without a token on the public port outside production, as before', async () => {
    await isScrape(await publicMetrics(await start({})));
  });

  it.each([
    ['production', true],
    ['development', false],
  ])(
    'serves it on a METRICS_PORT listener on loopback only, and 404 on the public port (%s)',
    async (_name, production) => {
      const server = await start({ ...(production ? productionEnv() : {}), METRICS_PORT: '0' });
      expect((await publicMetrics(server)).status).toBe(404);
      expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(server.metricsUrl!).port).not.toBe(String(server.port));
      await isScrape(await fetch(server.metricsUrl!));
      // That listener serves nothing else.
      const graphql = await fetch(server.metricsUrl!.replace('/metrics', '/graphql'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(graphql.status).toBe(404);
      expect((await fetch(server.metricsUrl!.replace('/metrics', '/healthz'))).status).toBe(404);
    },
  );

  it('asks for METRICS_TOKEN on the METRICS_PORT listener too when both are set, and closes it on stop', async () => {
    const server = await start({ ...productionEnv(), METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
    expect((await publicMetrics(server, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await fetch(server.metricsUrl!)).status).toBe(401);
    await isScrape(await fetch(server.metricsUrl!, { headers: { authorization: `Bearer ${TOKEN}` } }));
    await server.stop();
    await expect(fetch(server.metricsUrl!)).rejects.toThrow();
  });
});
