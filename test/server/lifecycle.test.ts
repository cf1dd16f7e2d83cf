import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { spawnServer, waitForReady, type ServerProcess } from '../support/serverProcess';

const baseEnv = () => ({
  MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
  MONGODB_DB: `test_${randomBytes(6).toString('hex')}`,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  GAVEL_DEMO_ITEMS: '50',
});

describe('process lifecycle', () => {
  it('seeds the demo catalog, serves it, and shuts down gracefully on SIGTERM', async () => {
    const server = spawnServer(baseEnv());
    const url = await waitForReady(server);
    expect(server.output()).toMatch(/MongoDB engine: external MongoDB at mongodb:\/\//);
    expect(server.output()).toMatch(/seeded 50 demo auction items/);

    const ready = await fetch(url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(200);

    const socketClosed = new Promise<number>((resolve) => {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.on('connected', () => server.child.kill('SIGTERM'));
    });

    expect(await socketClosed).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
  });

  it('drains on SIGTERM: readiness 503 at once, requests still served, then a clean exit', async () => {
    // A drain long enough for the two requests below to run inside it on a loaded machine.
    const server = spawnServer({
      ...baseEnv(),
      GAVEL_SEED_DEMO: 'false',
      SHUTDOWN_DRAIN_MS: '8000',
      // The same process answers during the drain: x-gavel-instance says which one.
      EXPOSE_INSTANCE_HEADER: 'true',
    });
    try {
      await drainsThenExits(server);
    } finally {
      server.child.kill('SIGKILL'); // Only if a check failed: the process has exited otherwise.
    }
  }, 120_000);

  async function drainsThenExits(server: ServerProcess): Promise<void> {
    const url = await waitForReady(server);
    const served = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ auctionItems(first: 1) { edges { cursor } } }' }),
    });
    const instance = served.headers.get('x-gavel-instance');
    expect(instance).toMatch(/:\d+$/);

    server.child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (server.output().includes('draining: /readyz is 503')) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
    const readiness = await fetch(url.replace('/graphql', '/readyz'));
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { status: string }).status).toBe('stopping');
    const during = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ auctionItems(first: 1) { edges { cursor } } }' }),
    });
    expect(during.status).toBe(200);
    expect(during.headers.get('x-gavel-instance')).toBe(instance);
    expect(await during.json()).toEqual({ data: { auctionItems: { edges: [] } } });
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
  }

  it('refuses to start on an invalid variable, naming it', async () => {
    const server = spawnServer({ ...baseEnv(), PORT: 'eighty' });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/Invalid PORT="eighty": expected an integer from 0 to 65535/);
  });

  it('fails fast, listing what was tried and how to fix it, when no engine can start', async () => {
    const server = spawnServer({
      ...baseEnv(),
      MONGODB_URI: undefined,
      GAVEL_MONGO_ENGINE: 'java',
      PATH: '/nonexistent',
      JAVA_HOME: '/nonexistent',
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/No MongoDB engine could be started/);
    expect(server.output()).toMatch(/java \(mongo-java-server\)/);
    expect(server.output()).toMatch(/MONGODB_URI/);
    expect(server.output()).toMatch(/MONGOMS_SYSTEM_BINARY/);
  });
});
