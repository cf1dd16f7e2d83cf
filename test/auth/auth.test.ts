import { connectionOutcome } from '../support/websocket';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AuctionItemDocument, CreateAuctionItemDocument } from '../generated/graphql';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';

const TOKEN = 'dashboard-token-0123456789';
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', AUTH_TOKENS: `${TOKEN},another-token-abcdefghij` } });
});
afterAll(() => app.stop());

const input = {
  title: 'Signed First Edition',
  category: 'books',
  startingPrice: { amount: 5_000, currency: 'GBP' },
  startsAt: new Date(Date.now() - 60_000).toISOString(),
  endsAt: new Date(Date.now() + 86_400_000).toISOString(),
  sellerId: 'seller-1',
};

describe('API tokens (AUTH_TOKENS)', () => {
  it('requires a token for catalog writes and leaves reads public', async () => {
    const anonymous = await execute(app, CreateAuctionItemDocument, { input });
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const created = await execute(app, CreateAuctionItemDocument, { input }, { authorization: `Bearer ${TOKEN}` });
    expect(created.errors).toBeUndefined();
    const read = await execute(app, AuctionItemDocument, { id: created.data!.createAuctionItem.id });
    expect(read.data?.auctionItem?.title).toBe('Signed First Edition');
  });

  it('answers a wrong token with 401 UNAUTHENTICATED, even for public fields', async () => {
    const response = await execute(
      app,
      AuctionItemDocument,
      { id: '65f000000000000000000000' },
      { authorization: 'Bearer wrong-token-0123456789' },
    );
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses live subscriptions to an anonymous connection and registers nothing', async () => {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const errors = await new Promise<unknown[]>((resolve) => {
        client.subscribe(
          { query: 'subscription { analyticsOverviewUpdated { impressions } }' },
          {
            next: (result) => result.errors && resolve([...result.errors]),
            error: (error) => resolve([error]),
            complete: () => undefined,
          },
        );
      });
      expect(JSON.stringify(errors)).toMatch(/UNAUTHENTICATED|need a token/);
      expect(app.services.live.stats().subscriptions).toBe(0);
    } finally {
      await client.dispose();
    }
  });

  it('refuses a websocket connection_init with a wrong token (4403) and accepts a right one', async () => {
    expect(await connectionOutcome(app, 'Bearer wrong-token-0123456789')).toBe(4403);
    expect(await connectionOutcome(app, `Bearer ${TOKEN}`)).toBe('connected');
  });
});
