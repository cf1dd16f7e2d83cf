import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { Role } from '../../src/auth/apiKey';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { recordingLogger } from '../support/recordingLogger';
import { startTcpProxy, throughProxy, type TcpProxy } from '../support/tcpProxy';
import { productionEnv, startTestApp, type TestApp } from '../support/testApp';
import { socketWithHeaders } from '../support/websocket';

/**
 * Issue 19, finding 5: a database connection that drops while Gavel runs (a TCP proxy in front of
 * the run's engine, cut mid-run) answers what an outage is: HTTP 503 SERVICE_UNAVAILABLE with
 * `retryable: true` (websockets: the same error, or close 1013 "try again later" at
 * connection_init), no driver message, and one warning per failed operation naming the cause,
 * never an error with a stack trace. It used to answer 500 INTERNAL_SERVER_ERROR ("Context creation
 * failed: connect ECONNRESET 127.0.0.1:…") to keyed requests, and close keyed websockets with
 * 4500 and the driver's message.
 */

const log = recordingLogger('info');
let proxy: TcpProxy;
let app: TestApp;
let key: string;
let item: string;

beforeAll(async () => {
  const engine = new URL(process.env.GAVEL_TEST_MONGODB_URI!);
  proxy = await startTcpProxy(engine.hostname, Number(engine.port));
  app = await startTestApp({
    logger: log.logger,
    periodicJobs: false,
    env: {
      ...productionEnv(),
      MONGODB_URI: throughProxy(process.env.GAVEL_TEST_MONGODB_URI!, proxy.port),
      GAVEL_SEED_DEMO: 'false',
      WS_ALLOW_QUERIES: 'true',
      // Every request looks its key up in the database (no cached answer hides the outage).
      AUTH_KEY_CACHE_TTL_MS: '0',
    },
  });
  item = (await insertDemoItems(app, 3))[0]!;
  key = (await app.services.auth.createKey({ role: Role.ADMIN })).key;
});
afterAll(async () => {
  await app?.stop();
  await proxy?.close();
});

type Answer = {
  status?: number;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  data?: unknown;
};

const search = '{ auctionItems(first: 2) { totalCount edges { node { id title } } } }';
const track = () =>
  `mutation { trackImpressions(events: [{ itemId: "${item}", sessionId: "s-outage", source: SEARCH }]) { accepted } }`;

/** POSTs `query` with a request id of its own; resolves the answer and that request id. */
async function post(query: string, headers: Record<string, string> = {}): Promise<Answer & { reqId: string }> {
  const reqId = randomUUID();
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': reqId, ...BROWSER, ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, ...((await response.json()) as Answer), reqId };
}

/** A graphql-ws client whose connection carries request id `reqId` (each operation's log line names it). */
function wsClient(reqId: string, authorization?: string, onClosed?: (code: number, reason: string) => void): Client {
  return createClient({
    url: app.wsUrl,
    webSocketImpl: socketWithHeaders({ 'x-request-id': reqId, ...BROWSER }),
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: authorization === undefined ? {} : { authorization },
    on: {
      closed: (event) => onClosed?.((event as { code: number }).code, (event as { reason: string }).reason),
    },
  });
}

/** Runs `query` on `client`: its result, or the errors it was refused with. */
function overWs(client: Client, query: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let result: Answer = {};
    client.subscribe(
      { query },
      {
        next: (value) => (result = value as Answer),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error as Answer['errors'] }) : reject(error)),
        complete: () => resolve(result),
      },
    );
  });
}

/** The log line of the failed operation of request (or websocket connection) `reqId`. */
const operationLine = (reqId: string) =>
  log.waitFor((line) => line.msg === 'graphql operation' && line.reqId === reqId && line.code !== 'OK');

const unavailable = (answer: Answer) => {
  expect(answer.errors?.map((error) => error.extensions)).toEqual([{ code: 'SERVICE_UNAVAILABLE', retryable: true }]);
};

describe('a database connection dropped mid-run (TCP proxy cut)', () => {
  it('answers 503 SERVICE_UNAVAILABLE, retryable, on HTTP and websockets, logs one warning per operation, and recovers', async () => {
    const wsId = randomUUID();
    const socket = wsClient(wsId, key);
    // Up and keyed, on both transports, before the cut.
    expect((await post(search, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await overWs(socket, search)).errors).toBeUndefined();
    const warningsBefore = log.lines.filter((line) => line.level === 40).length;

    proxy.cut();
    const answers = {
      anonymous: await post(search),
      keyed: await post(search, { authorization: `Bearer ${key}` }),
      tracking: await post(track()),
    };
    for (const answer of Object.values(answers)) {
      expect(answer.status).toBe(503);
      unavailable(answer);
    }
    // The open websocket: its next operation fails the same way, the socket stays open.
    const overOpenSocket = await overWs(socket, search);
    unavailable(overOpenSocket);
    // A new keyed websocket cannot have its key checked: "try again later", not 4500 with a driver message.
    const refusedId = randomUUID();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      wsClient(refusedId, key, (code, reason) => resolve({ code, reason })),
    );
    expect(closed).toEqual({ code: 1013, reason: 'The database is unavailable; retry the request shortly.' });
    expect(JSON.stringify([answers, overOpenSocket, closed])).not.toMatch(/ECONN|EPIPE|127\.0\.0\.1|Mongo|pool/i);

    // One warning per failed operation, naming the cause; no error line, no stack trace.
    const lines = await Promise.all([...Object.values(answers).map(({ reqId }) => operationLine(reqId))]);
    lines.push(await operationLine(wsId));
    for (const line of lines) {
      expect(line).toMatchObject({ level: 40, code: 'SERVICE_UNAVAILABLE' });
      expect(line.cause).toMatch(/^Mongo\w*Error: /);
    }
    expect(lines.slice(0, 3).map((line) => line.status)).toEqual([503, 503, 503]);
    const refusal = await log.waitFor(
      (line) => line.msg === 'websocket connection refused: the database is unavailable',
    );
    expect(refusal).toMatchObject({ level: 40, cause: expect.any(String) });
    const warnings = log.lines.filter((line) => (line.level as number) >= 40);
    expect(warnings.length - warningsBefore).toBe(lines.length + 1);
    expect(warnings.filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(log.text()).not.toMatch(/"stack"|\n\s+at /);

    // The network comes back: the same app answers again without a restart.
    proxy.restore();
    const recovered = await post(search, { authorization: `Bearer ${key}` });
    expect(recovered.errors).toBeUndefined();
    expect(recovered.status).toBe(200);
    await socket.dispose();
  });
});
