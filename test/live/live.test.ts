import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TrackImpressionsDocument } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';

let app: TestApp;
let items: string[];
const clients: Client[] = [];

beforeAll(async () => {
  app = await startTestApp({
    env: {
      GAVEL_SEED_DEMO: 'false',
      LIVE_INTERVAL_MS: '100',
      LIVE_MAX_ITEMS_PER_SUBSCRIPTION: '5',
      LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
      TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    },
  });
  items = await insertDemoItems(app, 10);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await app.stop();
});

function connect(): Client {
  const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(client);
  return client;
}

interface Update {
  itemId: string;
  impressions: number;
  clicks: number;
  ctr: number;
}

/** Subscribes and exposes received updates and a way to wait for one matching a condition. */
function watch(client: Client, itemIds: string[]) {
  const received: Update[] = [];
  const errors: unknown[] = [];
  let onError: ((errors: unknown[]) => void) | undefined;
  const failedOnce = new Promise<unknown[]>((resolve) => (onError = resolve));
  const fail = (...found: unknown[]) => {
    errors.push(...found);
    onError?.(errors);
  };
  const waiters: Array<{ match: (update: Update) => boolean; resolve: (update: Update) => void }> = [];
  const unsubscribe = client.subscribe<{ itemAnalyticsUpdated: Update }>(
    {
      query: 'subscription($ids: [ID!]!) { itemAnalyticsUpdated(itemIds: $ids) { itemId impressions clicks ctr } }',
      variables: { ids: itemIds },
    },
    {
      next: (result) => {
        if (result.errors) fail(...result.errors);
        const update = result.data?.itemAnalyticsUpdated;
        if (!update) return;
        received.push(update);
        for (const waiter of [...waiters]) {
          if (waiter.match(update)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(update);
          }
        }
      },
      error: (error) => fail(error),
      complete: () => undefined,
    },
  );
  const next = (match: (update: Update) => boolean) =>
    new Promise<Update>((resolve) => {
      const already = received.find(match);
      if (already) resolve(already);
      else waiters.push({ match, resolve });
    });
  const failed = () => failedOnce;
  return { received, errors, next, failed, unsubscribe };
}

const track = (itemId: string, sessions: number, prefix: string) =>
  execute(
    app,
    TrackImpressionsDocument,
    {
      events: Array.from({ length: sessions }, (_, i) => ({
        itemId,
        sessionId: `${prefix}-${i}`,
        source: 'SEARCH' as const,
      })),
    },
    BROWSER,
  );

describe('itemAnalyticsUpdated', () => {
  it('sends current figures on subscribe, then the new absolute figures after tracking', async () => {
    const subscription = watch(connect(), [items[0]!, items[1]!]);
    const initial = await subscription.next((update) => update.itemId === items[1]);
    expect(initial).toMatchObject({ impressions: 0, clicks: 0, ctr: 0 });
    await track(items[0]!, 3, 'live-a');
    const update = await subscription.next((u) => u.itemId === items[0] && u.impressions === 3);
    expect(update).toEqual({ itemId: items[0], impressions: 3, clicks: 0, ctr: 0 });
    subscription.unsubscribe();
  });

  it('coalesces a burst of events into a handful of messages with the final figures', async () => {
    const subscription = watch(connect(), [items[2]!]);
    await subscription.next((update) => update.itemId === items[2]);
    const bursts = Array.from({ length: 20 }, (_, round) => track(items[2]!, 50, `burst-${round}`));
    await Promise.all(bursts);
    const last = await subscription.next((update) => update.impressions === 1_000);
    expect(last.impressions).toBe(1_000);
    // 1,000 events: the initial message plus a few coalesced ones, never one per event.
    expect(subscription.received.length).toBeLessThan(20);
    subscription.unsubscribe();
  });

  it('rejects empty, oversized and malformed id lists on that subscription, keeping the connection', async () => {
    const client = connect();
    for (const ids of [[], items.slice(0, 6), ['not-an-id']]) {
      const subscription = watch(client, ids);
      const [error] = await subscription.failed();
      expect(JSON.stringify(error)).toMatch(/BAD_USER_INPUT|itemIds/);
    }
    const ok = watch(client, [items[3]!]);
    expect(await ok.next(() => true)).toMatchObject({ itemId: items[3] });
    ok.unsubscribe();
  });

  it('limits subscriptions per connection', async () => {
    const client = connect();
    const first = watch(client, [items[4]!]);
    const second = watch(client, [items[5]!]);
    await Promise.all([first.next(() => true), second.next(() => true)]);
    const third = watch(client, [items[6]!]);
    const [error] = await third.failed();
    expect(JSON.stringify(error)).toMatch(/at most 2 subscriptions/);
    first.unsubscribe();
    second.unsubscribe();
  });

  it('releases every resource on unsubscribe and on disconnect', async () => {
    const client = connect();
    const subscription = watch(client, [items[7]!, items[8]!]);
    await subscription.next(() => true);
    const other = watch(connect(), [items[9]!]);
    await other.next(() => true);
    subscription.unsubscribe();
    await clients.at(-1)!.dispose();
    await client.dispose();
    // The server notices the closes asynchronously: wait for the registry to empty.
    await new Promise<void>((resolve) => {
      const check = () => (app.services.live.stats().subscriptions === 0 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(app.services.live.stats()).toEqual({ subscriptions: 0, watchedItems: 0 });
    expect(app.subscriptions.stats()).toEqual({ streams: 0, subscribers: 0, connections: 0 });
  });
});
