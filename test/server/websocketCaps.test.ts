import WebSocket from 'ws';
import { appStartsTimeout, postRaw, productionEnv, startTestApp, type TestApp } from '../support/testApp';
import { connectionOutcome } from '../support/websocket';

/**
 * Websocket abuse caps (issue 11) and the origin policy shared with HTTP CORS: connections per
 * client address refused at upgrade with HTTP 429, a flooding connection closed with 1008, a
 * foreign browser origin refused with 403 on the upgrade and given no CORS headers over HTTP.
 */

const APP_ORIGIN = 'https://app.example.com';
const quiet = { GAVEL_SEED_DEMO: 'false' };
/** Behind one trusted proxy, small caps, one allowed origin. */
let proxied: TestApp;
/** No trusted proxy: X-Forwarded-For is the client's own claim and must not lift the cap. */
let direct: TestApp;
/** Production defaults: no CORS_ORIGINS configured. */
let production: TestApp;
/** Development defaults: any origin. */
let development: TestApp;

beforeAll(async () => {
  [proxied, direct, production, development] = await Promise.all([
    startTestApp({
      env: {
        ...quiet,
        TRUST_PROXY: '1',
        WS_MAX_CONNECTIONS_PER_ADDRESS: '3',
        WS_MAX_MESSAGES_PER_SECOND: '5',
        CORS_ORIGINS: APP_ORIGIN,
      },
    }),
    startTestApp({ env: { ...quiet, WS_MAX_CONNECTIONS_PER_ADDRESS: '2' } }),
    startTestApp({
      env: {
        ...quiet,
        ...productionEnv(),
      },
    }),
    startTestApp({ env: quiet }),
  ]);
}, appStartsTimeout(4));
afterAll(() => Promise.all([proxied, direct, production, development].map((app) => app?.stop())));

/** Open raw sockets, closed after each test so that every test starts with no connection counted. */
const opened: WebSocket[] = [];
afterEach(async () => {
  await Promise.all(
    opened.splice(0).map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close();
        }),
    ),
  );
});

type Upgrade = { opened: WebSocket } | { status: number; body: string };

/** A websocket handshake with these headers: the open socket, or the HTTP status that refused it. */
function upgrade(app: TestApp, headers: Record<string, string> = {}): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws', { headers });
    socket.once('open', () => {
      opened.push(socket);
      resolve({ opened: socket });
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

const statusOf = (outcome: Upgrade) => ('opened' in outcome ? 'open' : outcome.status);

describe('websocket connections per client address (WS_MAX_CONNECTIONS_PER_ADDRESS)', () => {
  it('refuses the N+1th connection from one address with HTTP 429, while another address still connects', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.7' };
    for (let i = 0; i < 3; i++) expect(statusOf(await upgrade(proxied, attacker))).toBe('open');
    const refused = await upgrade(proxied, attacker);
    expect(statusOf(refused)).toBe(429);
    expect((refused as { body: string }).body).toMatch(/WS_MAX_CONNECTIONS_PER_ADDRESS/);
    // The official client sees the refusal as a failed connection, not a session.
    expect(await connectionOutcome(proxied, undefined, attacker)).not.toBe('connected');
    expect(await connectionOutcome(proxied, undefined, { 'x-forwarded-for': '198.51.100.20' })).toBe('connected');
    // HTTP is unaffected.
    expect((await postRaw(proxied, { query: '{ __typename }' }, attacker)).data).toEqual({ __typename: 'Query' });
  });

  it('counts an IPv6 client by its /64: fresh addresses of one network do not lift the cap', async () => {
    for (const address of ['2001:db8:bb:1::1', '2001:db8:bb:1::2', '2001:db8:bb:1:ffff::3'])
      expect(statusOf(await upgrade(proxied, { 'x-forwarded-for': address }))).toBe('open');
    const refused = await upgrade(proxied, { 'x-forwarded-for': '2001:db8:bb:1:1234:5678:9abc:def0' });
    expect(statusOf(refused)).toBe(429);
    expect((refused as { body: string }).body).toMatch(/WS_MAX_CONNECTIONS_PER_ADDRESS/);
    expect(statusOf(await upgrade(proxied, { 'x-forwarded-for': '2001:db8:bb:2::1' }))).toBe('open');
  });

  it('frees a slot when a connection closes', async () => {
    const address = { 'x-forwarded-for': '203.0.113.8' };
    const sockets = await Promise.all([0, 1, 2].map(() => upgrade(proxied, address)));
    expect(statusOf(await upgrade(proxied, address))).toBe(429);
    const first = (sockets[0] as { opened: WebSocket }).opened;
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve());
      first.close();
    });
    // The server counts the close when its side of the socket closes, which follows the client's.
    let outcome: Upgrade;
    do outcome = await upgrade(proxied, address);
    while (statusOf(outcome) === 429);
    expect(statusOf(outcome)).toBe('open');
  });

  it('ignores X-Forwarded-For without TRUST_PROXY: a spoofed header does not lift the cap', async () => {
    expect(statusOf(await upgrade(direct, { 'x-forwarded-for': '192.0.2.1' }))).toBe('open');
    expect(statusOf(await upgrade(direct, { 'x-forwarded-for': '192.0.2.2' }))).toBe('open');
    expect(statusOf(await upgrade(direct, { 'x-forwarded-for': '192.0.2.3' }))).toBe(429);
  });
});

/** Resolves the close code and reason the server sent. */
function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('websocket message rate (WS_MAX_MESSAGES_PER_SECOND)', () => {
  it('closes a connection that floods messages with 1008, and HTTP still answers', async () => {
    const socket = ((await upgrade(proxied, { 'x-forwarded-for': '203.0.113.9' })) as { opened: WebSocket }).opened;
    const closed = closeOf(socket);
    socket.send(JSON.stringify({ type: 'connection_init' }));
    // 50 messages in one burst: whatever the scheduling, more than 5 land in one second.
    for (let i = 0; i < 50; i++) socket.send(JSON.stringify({ type: 'ping' }));
    expect(await closed).toEqual({
      code: 1008,
      reason: 'Too many messages: at most 5 per second (WS_MAX_MESSAGES_PER_SECOND).',
    });
    expect((await postRaw(proxied, { query: '{ __typename }' })).data).toEqual({ __typename: 'Query' });
  });

  it('answers the messages of a burst within the default rate (50), then closes with 1008 and its reason, not 1006', async () => {
    // Issue 19, finding 10: 100 graphql-ws pings at once used to end in 1006 with no pong at all.
    const socket = ((await upgrade(development)) as { opened: WebSocket }).opened;
    const replies: string[] = [];
    socket.on('message', (data: Buffer) => replies.push((JSON.parse(data.toString()) as { type: string }).type));
    const closed = closeOf(socket);
    for (let i = 0; i < 100; i++) socket.send(JSON.stringify({ type: 'ping' }));
    expect(await closed).toEqual({
      code: 1008,
      reason: 'Too many messages: at most 50 per second (WS_MAX_MESSAGES_PER_SECOND).',
    });
    // The window opened with the first ping: the first 50 are within it (a burst spans far less
    // than a second), each answered before the close; the other 50 reached nothing.
    expect(replies).toEqual(Array(50).fill('pong'));
  });

  it('answers a connection that stays within the rate', async () => {
    const socket = ((await upgrade(proxied, { 'x-forwarded-for': '203.0.113.10' })) as { opened: WebSocket }).opened;
    const replies: string[] = [];
    const waiters: Array<[count: number, resolve: () => void]> = [];
    const replyCount = (count: number) =>
      new Promise<void>((resolve) => (replies.length >= count ? resolve() : waiters.push([count, resolve])));
    socket.on('message', (data: Buffer) => {
      replies.push((JSON.parse(data.toString()) as { type: string }).type);
      for (const [count, resolve] of waiters) if (replies.length >= count) resolve();
    });
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await replyCount(1);
    for (let i = 0; i < 4; i++) socket.send(JSON.stringify({ type: 'ping' }));
    await replyCount(5);
    expect(replies).toEqual(['connection_ack', 'pong', 'pong', 'pong', 'pong']);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });
});

describe('browser origins (CORS_ORIGINS) on HTTP and on the websocket upgrade', () => {
  const post = (app: TestApp, origin: string) =>
    fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
  const preflight = (app: TestApp, origin: string) =>
    fetch(app.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  it('echoes an allowed origin and gives a disallowed one no CORS header', async () => {
    const allowed = await post(proxied, APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('vary')).toMatch(/Origin/);
    const foreign = await post(proxied, 'https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    // The request itself is not an error: the browser withholds the answer from the foreign page.
    expect(foreign.status).toBe(200);
  });

  it('answers a preflight for an allowed origin, and none for a disallowed one', async () => {
    const allowed = await preflight(proxied, APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const foreign = await preflight(proxied, 'https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a websocket upgrade from a foreign origin with 403 (cross-site websocket hijacking)', async () => {
    const refused = await upgrade(proxied, { origin: 'https://evil.example' });
    expect(statusOf(refused)).toBe(403);
    expect((refused as { body: string }).body).toMatch(/CORS_ORIGINS/);
    expect(statusOf(await upgrade(proxied, { origin: APP_ORIGIN }))).toBe('open');
    // Same origin (a page served behind the server's own host) and non-browser clients (no Origin).
    expect(statusOf(await upgrade(proxied, { origin: `http://127.0.0.1:${proxied.port}` }))).toBe('open');
    expect(statusOf(await upgrade(proxied))).toBe('open');
    // Neither a look-alike host nor a malformed origin passes.
    expect(statusOf(await upgrade(proxied, { origin: 'https://app.example.com.evil.example' }))).toBe(403);
    expect(statusOf(await upgrade(proxied, { origin: 'null' }))).toBe(403);
  });

  it('grants no cross-origin access in production unless CORS_ORIGINS says so', async () => {
    expect((await post(production, APP_ORIGIN)).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(production, APP_ORIGIN)).headers.get('access-control-allow-origin')).toBeNull();
    expect(statusOf(await upgrade(production, { origin: APP_ORIGIN }))).toBe(403);
    expect(statusOf(await upgrade(production))).toBe('open');
  });

  it('allows any origin in development', async () => {
    expect((await post(development, 'https://anything.example')).headers.get('access-control-allow-origin')).toBe('*');
    expect(statusOf(await upgrade(development, { origin: 'https://anything.example' }))).toBe('open');
  });
});
