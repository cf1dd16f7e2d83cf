import { setFlagsFromString } from 'node:v8';
import { Writable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import pino from 'pino';
import WebSocket from 'ws';
import { buildGavelSchema } from '../../src/graphql/schema';
import { insertDemoItems } from '../support/catalogFixtures';
import { productionEnv, startTestApp, type TestApp } from '../support/testApp';
import { deepJson, hostileDocument, hostileJsonValue, hostileString, operationFrom } from './arbitraries';

/**
 * Fuzz suite (issue 11): generated and hostile GraphQL documents, variables, HTTP requests and raw
 * graphql-ws frames against a real server with production settings. Whatever arrives, the server
 * answers below 500, puts a code on every error, leaks nothing internal, logs no unexpected error,
 * keeps answering `{ __typename }` and keeps its heap bounded.
 *
 * FUZZ_RUNS scales the number of cases per property (default: a short run for CI), FUZZ_SEED
 * replays a run (a failure prints its seed and path), FUZZ_TIME_LIMIT_MS bounds each property.
 */

const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 8_000 * SCALE);
const runs = (base: number) => Math.max(1, Math.round(base * SCALE));
const settings = (base: number): fc.Parameters<unknown> => ({
  numRuns: runs(base),
  seed: SEED,
  interruptAfterTimeLimit: TIME_LIMIT_MS,
  endOnFailure: true,
});

jest.setTimeout(Math.max(120_000, TIME_LIMIT_MS * 6));

const TOKEN = 'fuzz-admin-token-0123456789';
const MAX_BODY_BYTES = 262_144;

/**
 * What must never reach a client: stack frames, file paths, driver and JavaScript runtime messages,
 * and (production) the schema's "Did you mean "field"?" suggestions. The lexer's own hint about
 * quote characters names nothing of the schema and may stay.
 */
const LEAK =
  /\bat .+:\d+:\d+|node_modules|\/src\/|\.ts:\d+|stacktrace|Mongo(Server|Network)?Error|ECONNREFUSED|E11000|Cannot read propert|is not a function|ReferenceError|TypeError|undefined is not|Maximum call stack|Did you mean "/;

let app: TestApp;
/** Anything printed on stderr by a library (not through the logger) is unstructured noise an attacker can trigger. */
let consoleErrors: jest.SpyInstance;
/** Log lines at level error or above: an "unexpected error" is a bug the fuzz found. */
const serverErrors: string[] = [];

/** Collects err-level log lines of the server under test. */
function recordingLogger(): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        if ((JSON.parse(line) as { level: number }).level >= 50) serverErrors.push(line);
      }
      done();
    },
  });
  return pino({ level: 'warn' }, sink);
}

/** `global.gc` even though jest does not start node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function heapUsed(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

beforeAll(async () => {
  consoleErrors = jest.spyOn(console, 'error');
  app = await startTestApp({
    logger: recordingLogger(),
    env: {
      ...productionEnv(),
      GAVEL_SEED_DEMO: 'false',
      AUTH_TOKENS: TOKEN,
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      // Queries too over websockets, so that generated documents reach execution on both transports.
      WS_ALLOW_QUERIES: 'true',
    },
  });
  await insertDemoItems(app, 30);
});
afterAll(() => app?.stop());

afterEach(() => {
  // A bug shows in the log even when the client got a well-formed error.
  const logged = serverErrors.splice(0);
  const printed = consoleErrors.mock.calls.map((args) => args.map(String).join(' '));
  consoleErrors.mockClear();
  expect([...logged, ...printed]).toEqual([]);
});

interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/** Asserts what every HTTP answer must satisfy, whatever was asked. */
function expectSafeHttp(response: RawResponse, what: string): void {
  const context = `${what} → ${response.status} ${response.text.slice(0, 300)}`;
  if (response.status >= 500) throw new Error(`5xx: ${context}`);
  const leak = LEAK.exec(response.text);
  if (leak) throw new Error(`leak "${leak[0]}": ${context}`);
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return; // a non-JSON 4xx (e.g. Node's own 431) carries nothing to check
  }
  expectCodedErrors(body, context);
}

/** Every GraphQL error carries an `extensions.code`, and none is INTERNAL_SERVER_ERROR (that is a bug). */
function expectCodedErrors(body: unknown, context: string): void {
  const errors = (body as { errors?: Array<{ extensions?: { code?: unknown } }> } | null)?.errors;
  if (errors === undefined) return;
  if (!Array.isArray(errors)) throw new Error(`errors is not a list: ${context}`);
  for (const error of errors) {
    const code = error?.extensions?.code;
    if (typeof code !== 'string') throw new Error(`error without extensions.code: ${context}`);
    if (code === 'INTERNAL_SERVER_ERROR') throw new Error(`INTERNAL_SERVER_ERROR: ${context}`);
  }
}

async function send(init: RequestInit & { query?: string }): Promise<RawResponse> {
  const response = await fetch(app.url + (init.query ?? ''), init);
  return { status: response.status, text: await response.text() };
}

async function post(body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

async function expectStillServing(): Promise<void> {
  const response = await post(JSON.stringify({ query: '{ __typename }' }));
  expect(response).toEqual({ status: 200, text: JSON.stringify({ data: { __typename: 'Query' } }) + '\n' });
}

describe('fuzz: GraphQL over HTTP', () => {
  it('answers documents generated from the schema (hostile arguments and variables) safely', async () => {
    const schema = await buildGavelSchema();
    await fc.assert(
      fc.asyncProperty(operationFrom(schema), fc.boolean(), async (operation, admin) => {
        const headers: Record<string, string> = admin ? { authorization: `Bearer ${TOKEN}` } : {};
        const body = JSON.stringify({ query: operation.query, variables: operation.variables });
        expectSafeHttp(await post(body, headers), body.slice(0, 500));
      }),
      settings(150),
    );
    await expectStillServing();
  });

  it('answers hostile documents (broken syntax, deep nesting, fragment chains, alias floods) safely', async () => {
    await fc.assert(
      fc.asyncProperty(hostileDocument, async (query) => {
        const body = JSON.stringify({ query });
        if (body.length > MAX_BODY_BYTES) return;
        expectSafeHttp(await post(body), query.slice(0, 200));
      }),
      settings(80),
    );
    await expectStillServing();
  });

  it('answers hostile variables (wrong types, huge, deep, polluting keys) safely', async () => {
    const query =
      'query ($first: Int, $query: String, $filter: AuctionItemFilter, $range: TimeRangeInput, $id: ID!) { auctionItems(first: $first, query: $query, filter: $filter) { totalCount edges { node { id analytics(range: $range) { clicks } } } } auctionItem(id: $id) { id } }';
    const variables = fc.oneof(
      fc.dictionary(
        fc.constantFrom('first', 'query', 'filter', 'range', 'id', '__proto__', 'constructor'),
        hostileJsonValue,
      ),
      hostileJsonValue,
    );
    await fc.assert(
      fc.asyncProperty(variables, async (value) => {
        const body = JSON.stringify({ query, variables: value });
        if (body.length > MAX_BODY_BYTES) return;
        expectSafeHttp(await post(body), body.slice(0, 300));
      }),
      settings(100),
    );
    // Polluting keys must not have reached any prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectStillServing();
  });

  it('answers hostile requests (headers, content types, bodies, batches, GET parameters) safely', async () => {
    const typename = JSON.stringify({ query: '{ __typename }' });
    const request: fc.Arbitrary<{ what: string; init: RequestInit & { query?: string } }> = fc.oneof(
      // Authorization: huge, binary-ish, wrong scheme, many spaces.
      fc
        .oneof(
          fc.integer({ min: 1, max: 15_000 }).map((n) => `Bearer ${'k'.repeat(n)}`),
          fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
          fc.constantFrom(
            'Bearer',
            'Bearer ',
            'Basic Zm9vOmJhcg==',
            `bearer ${TOKEN}`,
            `Bearer  ${TOKEN} `,
            'Bearer \t',
          ),
        )
        .map((authorization) => ({
          what: `authorization ${authorization.slice(0, 40)}… (${authorization.length})`,
          init: { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: typename },
        })),
      // Content types that are not JSON, or lie.
      fc
        .constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
          'application/graphql',
          'application/graphql-response+json',
          '',
          '*/*',
        )
        .map((type) => ({
          what: `content-type ${type}`,
          init: { method: 'POST', headers: { 'content-type': type }, body: typename },
        })),
      // Bodies: not JSON, JSON of the wrong shape, batches, deep nesting.
      fc
        .oneof(
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.constantFrom(
            '',
            'null',
            '[]',
            '"{ __typename }"',
            '42',
            '{"query": 42}',
            '{"query": ["{ __typename }"]}',
            '{"query": {"__proto__": {"x": 1}}}',
            '{"__proto__": {"query": "{ __typename }"}}',
            '{"query": "{ __typename }", "variables": "[]"}',
            '{"query": "{ __typename }", "variables": [1, 2]}',
            '{"query": "{ __typename }", "operationName": {"a": 1}}',
            '{"query": "{ __typename }", "extensions": "x"}',
            '{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
            '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0000000000000000000000000000000000000000000000000000000000000000"}}}',
            '{"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}',
            '{"extensions": {"persistedQuery": null}}',
            `[${typename}, ${typename}]`,
            `[${Array.from({ length: 500 }, () => typename).join(',')}]`,
          ),
          fc
            .integer({ min: 100, max: 50_000 })
            .map((depth) => `{"query": "{ __typename }", "variables": {"a": ${deepJson(depth, 'array')}}}`),
          fc.integer({ min: 100, max: 20_000 }).map((depth) => deepJson(depth, 'object')),
        )
        .map((body) => ({
          what: `body ${body.slice(0, 80)}`,
          init: { method: 'POST', headers: { 'content-type': 'application/json' }, body },
        })),
      // GET with odd parameters (with the CSRF header, so they reach GraphQL).
      fc
        .oneof(
          hostileString.map((q) => `?query=${encodeURIComponent(q)}`),
          fc.constantFrom(
            '?query=%7B__typename%7D&query=%7B__typename%7D',
            '?query=%7B__typename%7D&variables=not-json',
            '?query=%7B__typename%7D&variables=%5B%5D',
            '?query=%7B__typename%7D&extensions=%7B%22persistedQuery%22%3A1%7D',
            '?query[a]=1',
            '?query=%ZZ',
            '?variables=%7B%7D',
            '?query=mutation%7BstartSession%7BsessionId%7D%7D',
            '?__proto__[query]=x',
            '',
          ),
        )
        .map((query) => ({
          what: `GET ${query.slice(0, 80)}`,
          init: { method: 'GET', query, headers: { 'apollo-require-preflight': 'true' } },
        })),
      // Other methods.
      fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS').map((method) => ({
        what: method,
        init: {
          method,
          headers: { 'content-type': 'application/json' },
          body: method === 'OPTIONS' ? undefined : typename,
        },
      })),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ what, init }) => {
        expectSafeHttp(await send(init), what);
      }),
      settings(120),
    );
    await expectStillServing();
  });
});

/** One frame a hostile graphql-ws peer may send. */
type Frame = string | Buffer;

describe('fuzz: raw graphql-ws frames', () => {
  it('survives hostile frame sequences: no internal error, every error coded, nothing leaked', async () => {
    const schema = await buildGavelSchema();
    const id = fc.constantFrom('1', '1', '2', '', 'x'.repeat(300), '__proto__');
    const message = (value: unknown): Frame => JSON.stringify(value);
    const frame: fc.Arbitrary<Frame> = fc.oneof(
      fc.constant(message({ type: 'connection_init' })),
      fc.constant(message({ type: 'connection_init', payload: { authorization: `Bearer ${TOKEN}` } })),
      hostileJsonValue.map((payload) => message({ type: 'connection_init', payload })),
      fc.constant(message({ type: 'ping' })),
      fc.constant(message({ type: 'pong', payload: { x: 1 } })),
      id.map((value) => message({ type: 'complete', id: value })),
      fc
        .tuple(id, operationFrom(schema))
        .map(([value, op]) =>
          message({ id: value, type: 'subscribe', payload: { query: op.query, variables: op.variables } }),
        ),
      fc
        .tuple(id, hostileDocument)
        .map(([value, query]) => message({ id: value, type: 'subscribe', payload: { query } })),
      fc.tuple(id, hostileJsonValue).map(([value, payload]) => message({ id: value, type: 'subscribe', payload })),
      fc.constantFrom<Frame>(
        'not json',
        '',
        '[]',
        'null',
        '{"type": 42}',
        '{"type": "next", "id": "1", "payload": {}}',
        '{"type": "error", "id": "1", "payload": []}',
        '{"type": "connection_ack"}',
        '{"type": "start", "id": "1", "payload": {"query": "{ __typename }"}}',
        '{"__proto__": {"type": "subscribe"}}',
        Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      ),
      fc
        .integer({ min: 1, max: 2_000_000 })
        .map((size) =>
          message({ type: 'subscribe', id: 'big', payload: { query: `{ __typename ${' '.repeat(size)}}` } }),
        ),
      fc
        .integer({ min: 100, max: 50_000 })
        .map((depth) => `{"type": "subscribe", "id": "deep", "payload": ${deepJson(depth, 'object')}}`),
    );
    const protocol = fc.constantFrom('graphql-transport-ws', 'graphql-transport-ws', 'graphql-ws', 'nonsense');

    await fc.assert(
      fc.asyncProperty(protocol, fc.array(frame, { minLength: 1, maxLength: 8 }), async (subprotocol, frames) => {
        const { received, closeCode } = await exchange(subprotocol, frames);
        const context = `frames ${frames.map((f) => f.toString().slice(0, 80)).join(' | ')} → close ${closeCode}: ${received.join(' | ').slice(0, 500)}`;
        // 1011 and 4500 are graphql-ws's "internal server error" closes.
        if (closeCode === 1011 || closeCode === 4500) throw new Error(`internal error close: ${context}`);
        for (const text of received) {
          const leak = LEAK.exec(text);
          if (leak) throw new Error(`leak "${leak[0]}": ${context}`);
          const parsed = JSON.parse(text) as { type: string; payload?: unknown };
          if (parsed.type === 'error') expectCodedErrors({ errors: parsed.payload }, context);
          if (parsed.type === 'next') expectCodedErrors(parsed.payload, context);
        }
      }),
      settings(40),
    );
    await expectStillServing();
  });
});

/**
 * Opens a raw websocket, sends the frames one after another, then waits until the server closes
 * it or stays quiet for a moment; returns what it sent back and the close code (0 = still open).
 */
async function exchange(
  subprotocol: string,
  frames: readonly Frame[],
): Promise<{ received: string[]; closeCode: number }> {
  const socket = new WebSocket(app.wsUrl, subprotocol);
  const received: string[] = [];
  let closeCode = 0;
  let quietTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => {
    socket.on('close', (code) => {
      closeCode = code;
      resolve();
    });
    socket.on('error', () => resolve());
  });
  const quiet = (): Promise<void> =>
    new Promise((resolve) => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(resolve, 100);
    });
  socket.on('message', (data: Buffer) => {
    received.push(data.toString());
    void quiet();
  });
  await Promise.race([new Promise((resolve) => socket.once('open', resolve)), closed]);
  for (const frame of frames) {
    if (socket.readyState !== WebSocket.OPEN) break;
    socket.send(frame);
  }
  await Promise.race([closed, quiet()]);
  clearTimeout(quietTimer);
  socket.terminate();
  return { received, closeCode };
}

describe('fuzz: memory', () => {
  it('keeps the heap bounded over a repeated hostile mix', async () => {
    const schema = await buildGavelSchema();
    const mix = fc.oneof(
      operationFrom(schema).map((op) => JSON.stringify({ query: op.query, variables: op.variables })),
      hostileDocument.map((query) => JSON.stringify({ query })),
      hostileString.map((query) => JSON.stringify({ query })),
    );
    const bodies = fc.sample(mix, { numRuns: runs(60), seed: SEED }).filter((body) => body.length <= MAX_BODY_BYTES);
    const round = async () => {
      for (const body of bodies) expectSafeHttp(await post(body), body.slice(0, 200));
    };
    await round(); // warm caches (parsed documents, loaders, JIT) before the baseline
    const before = heapUsed();
    for (let i = 0; i < 2; i++) await round();
    const growth = heapUsed() - before;
    // Two more rounds of the same requests must not retain memory per request; 64 MiB is a
    // generous bound for caches settling (the LRU of parsed documents is bounded).
    expect(growth).toBeLessThan(64 * 2 ** 20);
    await expectStillServing();
  });
});
