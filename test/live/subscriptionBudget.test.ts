import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * The active-subscription budget (src/server/subscriptionBudget.ts): the subscriptions open per API
 * key and per address hold their cost, identical (shared) ones included; one more that would go
 * over is refused over the websocket with QUERY_TOO_COMPLEX before anything runs; ending a
 * subscription or closing its socket gives its cost back.
 *
 * `itemAnalyticsUpdated(itemIds: [n ids]) { itemId impressions }` costs 2 points per item.
 */

let app: TestApp;
const items: string[] = [];
const keys = { first: '', second: '' };
let clients: Client[] = [];

beforeAll(async () => {
  app = await startTestApp({
    env: {
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      LIVE_MAX_OPEN_COST_PER_KEY: '10',
      LIVE_MAX_OPEN_COST_PER_ADDRESS: '14',
    },
    periodicJobs: false,
  });
  for (let index = 0; index < 3; index++)
    items.push(
      (
        await app.services.catalog.createItem({
          title: `Budget item ${index}`,
          category: 'budget',
          sellerId: 'seller-budget',
          startingPrice: { amount: 1_000, currency: 'EUR' },
          startsAt: new Date(Date.now() - 60_000),
          endsAt: new Date(Date.now() + 86_400_000),
        } as never)
      ).id,
    );
  keys.first = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.second = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  clients = [];
  await until(() => app.subscriptions.stats().subscribers === 0);
});
afterAll(() => app.stop());

function connect(key: string): Client {
  const client = createClient({
    url: app.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
  });
  clients.push(client);
  return client;
}

interface Refusal {
  message: string;
  extensions: Record<string, unknown>;
}

/**
 * Subscribes to the figures of `itemIds`; `outcome` resolves with `'open'` at the first update, or
 * with the errors of a refusal.
 */
function watch(client: Client, itemIds: readonly string[]) {
  let settle: (outcome: 'open' | Refusal[]) => void = () => undefined;
  const outcome = new Promise<'open' | Refusal[]>((resolve) => (settle = resolve));
  const unsubscribe = client.subscribe(
    {
      query: 'subscription ($ids: [ID!]!) { itemAnalyticsUpdated(itemIds: $ids) { itemId impressions } }',
      variables: { ids: itemIds },
    },
    {
      next: (result) => settle(result.errors ? (result.errors as unknown as Refusal[]) : 'open'),
      error: (error) =>
        settle(Array.isArray(error) ? (error as Refusal[]) : [{ message: String(error), extensions: {} }]),
      complete: () => undefined,
    },
  );
  return { outcome, unsubscribe };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const a = () => items[0]!;
const b = () => items[1]!;
const c = () => items[2]!;

describe('active subscription budget', () => {
  it('counts every open subscription of a key, identical ones included, and refuses the one over it', async () => {
    const one = connect(keys.first);
    const two = connect(keys.first);
    expect(await watch(one, [a(), b()]).outcome).toBe('open');
    // The same document and variables on another connection: one stream, but 4 more points.
    expect(await watch(two, [a(), b()]).outcome).toBe('open');
    expect(await watch(two, [c()]).outcome).toBe('open');
    expect(app.subscriptions.stats()).toMatchObject({ streams: 2, subscribers: 3 });

    const refused = await watch(one, [a()]).outcome;
    expect(refused).toEqual([
      {
        message: expect.stringMatching(
          /^This subscription costs 2 points and the 3 subscriptions open for this API key cost 10, over the budget of 10 points .*\(LIVE_MAX_OPEN_COST_PER_KEY\)/,
        ) as unknown,
        extensions: {
          code: 'QUERY_TOO_COMPLEX',
          cost: 2,
          openCost: 10,
          openSubscriptions: 3,
          budget: 10,
          budgetScope: 'key',
        },
      },
    ]);
    // Refused before anything ran; the connection stays usable.
    expect(app.subscriptions.stats()).toMatchObject({ streams: 2, subscribers: 3 });

    // Another key from the same address has its own key budget, within the address's 14.
    const other = connect(keys.second);
    expect(await watch(other, [a()]).outcome).toBe('open');
    const overAddress = await watch(other, [a(), b()]).outcome;
    expect(overAddress).toMatchObject([
      {
        message: expect.stringContaining('open for this client address cost 12') as unknown,
        extensions: { code: 'QUERY_TOO_COMPLEX', cost: 4, openCost: 12, budget: 14, budgetScope: 'address' },
      },
    ]);
  });

  it('refuses a subscription that alone costs more than the budget, saying nothing is open', async () => {
    const client = connect(keys.first);
    const many = Array.from({ length: 6 }, (_, index) => items[index % 3]!);
    // Duplicate ids are priced as sent (6 × 2), as the cost model does.
    expect(await watch(client, many).outcome).toMatchObject([
      {
        message: expect.stringContaining('costs 12 points and nothing is open for this API key') as unknown,
        extensions: { code: 'QUERY_TOO_COMPLEX', cost: 12, openCost: 0, openSubscriptions: 0, budget: 10 },
      },
    ]);
  });

  it('gives the cost back when a subscription completes', async () => {
    const client = connect(keys.first);
    const kept = watch(client, [a(), b(), c()]);
    const ended = watch(client, [a(), b()]);
    expect(await kept.outcome).toBe('open');
    expect(await ended.outcome).toBe('open');
    expect(await watch(client, [a()]).outcome).toMatchObject([{ extensions: { budgetScope: 'key' } }]);

    ended.unsubscribe();
    await until(() => app.subscriptions.stats().subscribers === 1);
    expect(await watch(client, [a(), b()]).outcome).toBe('open');
  });

  it('gives the cost back when the socket closes', async () => {
    const closing = connect(keys.first);
    expect(await watch(closing, [a(), b(), c()]).outcome).toBe('open');
    expect(await watch(closing, [a(), b()]).outcome).toBe('open');
    const client = connect(keys.first);
    expect(await watch(client, [a()]).outcome).toMatchObject([{ extensions: { budgetScope: 'key' } }]);

    await closing.dispose();
    await until(() => app.subscriptions.stats().subscribers === 0);
    expect(await watch(client, [a(), b(), c()]).outcome).toBe('open');
    expect(await watch(client, [a(), b()]).outcome).toBe('open');
  });
});
