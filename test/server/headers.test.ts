import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { buildWebAssets } from '../support/browser';
import { postRaw, startTestApp, type TestApp } from '../support/testApp';

/**
 * Response headers of issue 19 (finding 12): `X-Content-Type-Options: nosniff` on GraphQL and
 * tracker answers (errors included), a page CSP that lets the pages open websockets to their own
 * origin only, and `x-gavel-instance` (host name and pid) only when EXPOSE_INSTANCE_HEADER is on.
 */

let assets: Awaited<ReturnType<typeof buildWebAssets>>;
/** Defaults: no instance header. */
let app: TestApp;
/** EXPOSE_INSTANCE_HEADER=true, and a request limit behind a trusted proxy to see a 429. */
let exposing: TestApp;

beforeAll(async () => {
  assets = await buildWebAssets();
  app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', WEB_ASSETS_DIR: assets.dir, MAX_BODY_BYTES: '4096' } });
  exposing = await startTestApp({
    env: {
      GAVEL_SEED_DEMO: 'false',
      EXPOSE_INSTANCE_HEADER: 'true',
      GAVEL_INSTANCE_ID: 'gavel-headers-1',
      TRUST_PROXY: '1',
      HTTP_REQUESTS_PER_MINUTE: '1',
    },
  });
});
afterAll(async () => {
  await Promise.all([app?.stop(), exposing?.stop()]);
  assets?.remove();
});

const origin = (server: TestApp) => new URL(server.url).origin;
const post = (server: TestApp, body: string, headers: Record<string, string> = {}) =>
  fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** The headers of the 101 answer to a websocket upgrade on /graphql. */
function upgradeHeaders(server: TestApp): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    socket.once('upgrade', (response) => {
      resolve(response.headers);
      socket.close();
    });
    socket.once('error', reject);
  });
}

describe('Cache-Control: no-store', () => {
  it('is on every /graphql answer, GET included: no shared cache may keep one', async () => {
    const answers = [
      await post(app, JSON.stringify({ query: '{ __typename }' })),
      await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true' },
      }),
      await post(app, JSON.stringify({ query: '{ nope }' })),
    ];
    for (const answer of answers) {
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('etag')).toBeNull();
    }
  });
});

describe('X-Content-Type-Options: nosniff', () => {
  it('is on every /graphql answer: data, GET, parse errors, bad JSON, too large', async () => {
    const answers = [
      await post(app, JSON.stringify({ query: '{ __typename }' })),
      await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true' },
      }),
      await post(app, JSON.stringify({ query: '{ <script>alert(1)</script> }' })),
      await post(app, '<html><script>alert(1)</script>'),
      await post(app, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(5_000) } })),
    ];
    expect(answers.map((response) => response.status)).toEqual([200, 200, 400, 400, 413]);
    for (const response of answers) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    }
  });

  it('is on a 429 refused before the body is read', async () => {
    const from = { 'x-forwarded-for': '203.0.113.50' };
    expect((await post(exposing, JSON.stringify({ query: '{ __typename }' }), from)).status).toBe(200);
    const refused = await post(exposing, JSON.stringify({ query: '{ __typename }' }), from);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('is on /tracker.js and /tracker.mjs, which any site embeds', async () => {
    for (const file of ['tracker.js', 'tracker.mjs']) {
      const response = await fetch(`${origin(app)}/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});

describe('page content security policy', () => {
  it("lets /demo and /dashboard connect to their own origin only: connect-src 'self', no ws: or wss: wildcard", async () => {
    for (const route of ['/demo', '/dashboard']) {
      const response = await fetch(`${origin(app)}${route}`);
      expect(response.status).toBe(200);
      const directives = new Map(
        response.headers
          .get('content-security-policy')!
          .split(';')
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name, ...values]) => [name!, values]),
      );
      expect(directives.get('connect-src')).toEqual(["'self'"]);
      expect(directives.get('default-src')).toEqual(["'self'"]);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});

describe('x-gavel-instance (EXPOSE_INSTANCE_HEADER)', () => {
  it('is not sent by default, over HTTP or on the websocket upgrade', async () => {
    const answers = [
      await post(app, JSON.stringify({ query: '{ __typename }' })),
      await fetch(`${origin(app)}/healthz`),
      await fetch(`${origin(app)}/tracker.js`),
    ];
    for (const response of answers) expect(response.headers.get('x-gavel-instance')).toBeNull();
    expect((await upgradeHeaders(app))['x-gavel-instance']).toBeUndefined();
  });

  it('names the instance on every answer and upgrade when enabled', async () => {
    const graphql = await postRaw(exposing, { query: '{ __typename }' }, { 'x-forwarded-for': '203.0.113.51' });
    expect(graphql.status).toBe(200);
    const answers = [
      await post(exposing, JSON.stringify({ query: '{ __typename }' }), { 'x-forwarded-for': '203.0.113.52' }),
      await fetch(`${origin(exposing)}/healthz`),
      await fetch(`${origin(exposing)}/readyz`),
    ];
    for (const response of answers) expect(response.headers.get('x-gavel-instance')).toBe('gavel-headers-1');
    expect((await upgradeHeaders(exposing))['x-gavel-instance']).toBe('gavel-headers-1');
  });
});
