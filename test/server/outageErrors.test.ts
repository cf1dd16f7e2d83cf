import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp, type GavelApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { startJavaServer, type RunningJavaEngine } from '../../src/db/engines/javaServer';
import { errorCodes, postRaw, productionEnv } from '../support/testApp';

/**
 * Errors while the database is down leave both transports through the same formatter: a code,
 * no driver message (issue 11: websockets used to send `connect ECONNREFUSED …` without a code).
 */

// A database of its own (an engine this test stops), not the run's shared engine.
let engine: RunningJavaEngine;
let app: GavelApp;

beforeAll(async () => {
  engine = await startJavaServer({ backend: 'memory' });
  app = await startApp(
    loadConfig({
      ...productionEnv(),
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: engine.uri,
      MONGODB_DB: 'outage_errors',
      GAVEL_MONGO_ENGINE: 'uri',
      GAVEL_SEED_DEMO: 'false',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      // The query must reach the database to fail there.
      WS_ALLOW_QUERIES: 'true',
    }),
  );
  await engine.stop();
});
afterAll(() => app.stop());

const query = '{ auctionItems(first: 1) { totalCount } }';

describe('database down', () => {
  it('answers SERVICE_UNAVAILABLE over HTTP and over websockets, without the driver message', async () => {
    const overWs = async () => {
      const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
      try {
        return await new Promise<readonly { message: string; extensions?: Record<string, unknown> }[]>(
          (resolve, reject) => {
            client.subscribe(
              { query },
              {
                next: (result) => resolve(result.errors ?? []),
                error: (error) => (Array.isArray(error) ? resolve(error) : reject(error)),
                complete: () => resolve([]),
              },
            );
          },
        );
      } finally {
        await client.dispose();
      }
    };
    const [http, ws] = await Promise.all([postRaw(app, { query }), overWs()]);
    expect(errorCodes(http)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(ws.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(JSON.stringify([http, ws])).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|Mongo/);
  });
});
