import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { errorCodes, postRaw, startTestApp, type TestApp } from '../support/testApp';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', MAX_BODY_BYTES: '65536' } });
});
afterAll(() => app.stop());

const origin = () => app.url.replace('/graphql', '');
const typename = '{ __typename }';

describe('health probes', () => {
  it('reports liveness and database readiness', async () => {
    const live = await fetch(`${origin()}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${origin()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'up' } });
  });
});

describe('GraphQL over HTTP', () => {
  it('answers POST and GET (GET needs a CSRF-safe header)', async () => {
    expect((await postRaw(app, { query: typename })).data).toEqual({ __typename: 'Query' });
    const get = await fetch(`${app.url}?query=${encodeURIComponent(typename)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses mutations over GET', async () => {
    const get = await fetch(`${app.url}?query=${encodeURIComponent('mutation { __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(405);
  });

  it('answers a body that is not JSON with 400 BAD_REQUEST in GraphQL error shape', async () => {
    const response = await postRaw(app, '{"query": "{ __typename }"');
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['BAD_REQUEST']);
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await postRaw(app, { query: typename, variables: { padding: 'x'.repeat(70_000) } });
    expect(response.status).toBe(413);
    expect(errorCodes(response)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(response.errors![0]!.message).toMatch(/65536 bytes/);
  });

  it('answers a syntax error with GRAPHQL_PARSE_FAILED and no stack trace', async () => {
    const response = await postRaw(app, { query: '{ auctionItem(id: ' });
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(JSON.stringify(response)).not.toMatch(/stacktrace|at .*\.ts:/);
  });

  it('refuses a subscription over HTTP with 400 OPERATION_NOT_ALLOWED (it needs a websocket)', async () => {
    const response = await postRaw(app, { query: 'subscription { itemAnalyticsUpdated(itemIds: []) { itemId } }' });
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['OPERATION_NOT_ALLOWED']);
    expect(response.errors![0]!.message).toMatch(/websockets/);
  });

  it('answers a request without a query with BAD_REQUEST', async () => {
    const response = await postRaw(app, { variables: {} });
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['BAD_REQUEST']);
  });
});

describe('GraphQL over websockets (graphql-ws)', () => {
  it('serves the same path with the official client; queries go over HTTP (WS_ALLOW_QUERIES off)', async () => {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const result = await new Promise((resolve) => {
        client.subscribe({ query: typename }, { next: resolve, error: resolve, complete: () => undefined });
      });
      expect(JSON.stringify(result)).toMatch(/OPERATION_NOT_ALLOWED/);
    } finally {
      await client.dispose();
    }
  });
});
