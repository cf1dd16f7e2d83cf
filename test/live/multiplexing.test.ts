import { createClient, type Client } from 'graphql-ws';
import type { mongo } from 'mongoose';
import WebSocket from 'ws';
import { TrackImpressionsDocument } from '../generated/graphql';
import { BROWSER } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';

/**
 * Subscriptions computed once per distinct document (src/live/multiplexer.ts): identical
 * subscribers share one stream and one execution of the selection set per event, over several
 * connections and keys of one visibility; other visibilities do not share; subscribers leave
 * (unsubscribe, close, revoked key) one by one without stopping the others.
 */

let app: TestApp;
const items = { a: '', b: '', other: '' };
const keys = { analyst: '', analyst2: '', seller: '' };
/** This test's connections, closed after it. */
let clients: Client[] = [];
let sessions = 0;

beforeAll(async () => {
  app = await startTestApp({
    env: {
      GAVEL_SEED_DEMO: 'false',
      AUTH_MODE: 'keys',
      LIVE_INTERVAL_MS: '100',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
      TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    },
    // Only the subscriptions' reads in the command counts.
    periodicJobs: false,
    monitorCommands: true,
  });
  const item = async (sellerId: string) =>
    (
      await app.services.catalog.createItem({
        title: `Item of ${sellerId}`,
        category: 'multiplexing',
        sellerId,
        startingPrice: { amount: 1_000, currency: 'EUR' },
        startsAt: new Date(Date.now() - 60_000),
        endsAt: new Date(Date.now() + 86_400_000),
      } as never)
    ).id;
  items.a = await item('seller-a');
  items.b = await item('seller-a');
  items.other = await item('seller-b');
  keys.analyst = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.analyst2 = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.seller = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-a' })).key;
  // Every item in the overview's top items, so that its nested analytics are read.
  for (const id of Object.values(items)) await track(id, 2);
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  clients = [];
  await until(() => app.subscriptions.stats().subscribers === 0);
});
afterAll(() => app.stop());

async function track(itemId: string, count: number): Promise<void> {
  const response = await execute(
    app,
    TrackImpressionsDocument,
    {
      events: Array.from({ length: count }, () => ({
        itemId,
        sessionId: `mux-${++sessions}`,
        source: 'SEARCH' as const,
      })),
    },
    BROWSER,
  );
  expect(response.errors).toBeUndefined();
}

/** A connection with `key`; `closed` resolves with the close code when the server closes it. */
function connect(key: string): { client: Client; closed: Promise<number> } {
  let onClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: app.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: { authorization: `Bearer ${key}` },
    on: { closed: (event) => onClosed((event as { code: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

/** One subscription: every payload received (as sent), and a wait for one that matches. */
function subscribe<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const payloads: Array<{ data?: T | null; errors?: unknown }> = [];
  const waiters: Array<{ match: (data: T) => boolean; resolve: (data: T) => void }> = [];
  let ended: (how: unknown) => void = () => undefined;
  const end = new Promise<unknown>((resolve) => (ended = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (payload) => {
        payloads.push(payload as never);
        const data = payload.data;
        if (!data) return;
        for (const waiter of [...waiters])
          if (waiter.match(data)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(data);
          }
      },
      error: (error) => ended(error),
      complete: () => ended('complete'),
    },
  );
  const next = (match: (data: T) => boolean = () => true) =>
    new Promise<T>((resolve) => {
      const already = payloads.find((payload) => payload.data && match(payload.data));
      if (already) resolve(already.data!);
      else waiters.push({ match, resolve });
    });
  return { payloads, next, end, unsubscribe };
}

/** Waits until the server's registry says `condition` (it learns of closes asynchronously). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The database commands the app sends while `work` runs: name and collection. */
async function commandsDuring<T>(work: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const client = app.database.connection.getClient();
  const commands: string[] = [];
  const listener = (event: mongo.CommandStartedEvent) => {
    // Not the unique-sketch writes of the tracking in the window (their reads name `write`).
    if ((event.command.projection as Record<string, unknown> | undefined)?.write) return;
    commands.push(`${event.commandName} ${String(event.command[event.commandName])}`);
  };
  client.on('commandStarted', listener);
  try {
    return { result: await work(), commands };
  } finally {
    client.off('commandStarted', listener);
  }
}

interface Overview {
  analyticsOverviewUpdated: {
    impressions: number;
    topItems: Array<{ item: { id: string; analytics: { timeSeries: Array<{ impressions: number }> } | null } }>;
  };
}
const NESTED = `subscription Nested($range: TimeRangeInput!) {
  analyticsOverviewUpdated(range: $range) {
    impressions
    topItems { impressions item { id analytics(range: $range) { timeSeries(granularity: HOUR) { bucketStart impressions } } } }
  }
}`;
// The same document as another client would write it (other spacing).
const NESTED_REFORMATTED = NESTED.replace(/\s+/g, ' ');
const RANGE = { range: { last: 'P2D' } };
const impressionsOf = (data: Overview) => data.analyticsOverviewUpdated.impressions;

describe('identical subscriptions', () => {
  it('are computed once per interval for every subscriber on every connection, with identical payloads', async () => {
    const connections = [connect(keys.analyst), connect(keys.analyst2), connect(keys.analyst)];
    const subscribers = connections.flatMap(({ client }, index) => [
      subscribe<Overview>(client, NESTED, RANGE),
      subscribe<Overview>(client, index === 1 ? NESTED_REFORMATTED : NESTED, RANGE),
    ]);
    const initial = await Promise.all(subscribers.map((subscriber) => subscriber.next()));
    const before = impressionsOf(initial[0]!);
    expect(initial.map(impressionsOf)).toEqual(initial.map(() => before));
    expect(app.subscriptions.stats()).toEqual({ streams: 1, subscribers: 6, connections: 3 });
    expect(app.services.live.stats().subscriptions).toBe(1);

    const { commands } = await commandsDuring(async () => {
      await track(items.a, 3);
      await Promise.all(subscribers.map((subscriber) => subscriber.next((data) => impressionsOf(data) === before + 3)));
    });
    // Each round reads the overview (two aggregations of the daily rollups) once for its range,
    // then executes the selection set once: one batched read of the top items' hourly figures,
    // where one execution per subscriber would read six times per round. A write can take two
    // rounds, and the window can cut a round on either side (its aggregations just before the
    // window, its execution inside; or the reverse at the end): hence at most one per round and
    // one more, never the six of an execution per subscriber.
    const overviewReads = commands.filter((command) => command === 'aggregate item_days').length;
    const nestedReads = commands.filter((command) => command === 'find item_days').length;
    expect(overviewReads).toBeGreaterThanOrEqual(2);
    expect(nestedReads).toBeGreaterThanOrEqual(1);
    expect(nestedReads).toBeLessThanOrEqual(Math.ceil(overviewReads / 2) + 1);
    expect(nestedReads).toBeLessThan(subscribers.length);

    // The same payloads, in the same order, for everyone.
    const sent = subscribers.map((subscriber) => JSON.stringify(subscriber.payloads));
    expect(new Set(sent).size).toBe(1);
    const last = subscribers[0]!.payloads.at(-1)!.data!;
    expect(last.analyticsOverviewUpdated.topItems.map(({ item }) => item.analytics?.timeSeries.length)).not.toContain(
      undefined,
    );
    for (const subscriber of subscribers) subscriber.unsubscribe();
    await until(() => app.subscriptions.stats().subscribers === 0);
    expect(app.services.live.stats().subscriptions).toBe(0);
  });

  it('are not shared between different visibilities (an ANALYST and a SELLER key)', async () => {
    const query = 'subscription ($ids: [ID!]!) { itemAnalyticsUpdated(itemIds: $ids) { itemId impressions } }';
    type Update = { itemAnalyticsUpdated: { itemId: string; impressions: number } };
    const analyst = subscribe<Update>(connect(keys.analyst).client, query, { ids: [items.b] });
    const seller = subscribe<Update>(connect(keys.seller).client, query, { ids: [items.b] });
    const analyst2 = subscribe<Update>(connect(keys.analyst2).client, query, { ids: [items.b] });
    const [first] = await Promise.all([analyst.next(), seller.next(), analyst2.next()]);
    expect(app.subscriptions.stats()).toMatchObject({ streams: 2, subscribers: 3 });
    const impressions = first.itemAnalyticsUpdated.impressions;
    await track(items.b, 1);
    const updated = (data: Update) => data.itemAnalyticsUpdated.impressions === impressions + 1;
    await Promise.all([analyst.next(updated), seller.next(updated), analyst2.next(updated)]);
  });
});

describe('a subscriber that leaves', () => {
  it('does not stop the others: the first one unsubscribing, another one closing its connection', async () => {
    const first = subscribe<Overview>(connect(keys.analyst).client, NESTED, RANGE);
    const initial = impressionsOf(await first.next());
    const closing = connect(keys.analyst);
    const closer = subscribe<Overview>(closing.client, NESTED, RANGE);
    const stays = subscribe<Overview>(connect(keys.analyst2).client, NESTED, RANGE);
    await Promise.all([closer.next(), stays.next()]);
    expect(app.subscriptions.stats()).toMatchObject({ streams: 1, subscribers: 3 });

    first.unsubscribe();
    await closing.client.dispose();
    await until(() => app.subscriptions.stats().subscribers === 1);
    expect(app.subscriptions.stats()).toEqual({ streams: 1, subscribers: 1, connections: 1 });
    await track(items.a, 1);
    await stays.next((data) => impressionsOf(data) === initial + 1);
    stays.unsubscribe();
    await until(() => app.subscriptions.stats().streams === 0);
    expect(app.services.live.stats().subscriptions).toBe(0);
  });

  it('is detached alone when its key is revoked: its connection closes with 4403, the others keep receiving', async () => {
    const revoked = await app.services.auth.createKey({ role: 'ANALYST', label: 'revoked while subscribed' });
    const doomed = connect(revoked.key);
    const doomedSubscriber = subscribe<Overview>(doomed.client, NESTED, RANGE);
    const stays = subscribe<Overview>(connect(keys.analyst).client, NESTED, RANGE);
    const initial = impressionsOf(await stays.next());
    await doomedSubscriber.next();
    expect(app.subscriptions.stats()).toMatchObject({ streams: 1, subscribers: 2 });

    expect(await app.services.auth.revokeKey(revoked.id)).toBe(true);
    await track(items.a, 1);
    await stays.next((data) => impressionsOf(data) === initial + 1);
    expect(await doomed.closed).toBe(4403);
    expect(doomedSubscriber.payloads.some((payload) => payload.data && impressionsOf(payload.data) > initial)).toBe(
      false,
    );
    await until(() => app.subscriptions.stats().subscribers === 1);
    expect(app.subscriptions.stats().streams).toBe(1);
  });
});
