/**
 * `npm run bench:live` — issue 6's benchmark. A Gavel server (its own OS process, so its memory
 * is its own) with BENCH_SUBSCRIBERS (default 1,000) graphql-ws connections, each subscribed to 3
 * of 100 items, while impressions are tracked through the API: the delay from a mutation's
 * acknowledgement to the delivery of the figures it produced (p50/p95/p99, and the same minus the
 * coalescing interval), messages per second, and server memory per idle connection.
 */
import { createClient, type Client } from 'graphql-ws';
import mongoose from 'mongoose';
import WebSocket from 'ws';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { spawnServer, waitForReady } from '../test/support/serverProcess';
import { ms, printTable, rssOf, startBenchEngine, summarize } from './support';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const INTERVAL_MS = Number(process.env.LIVE_INTERVAL_MS ?? 1_000);
const ITEMS = 100;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36';

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  const dbName = `bench_live_${Date.now()}`;
  const connection = await mongoose.createConnection(engine.uri, { dbName }).asPromise();
  const repository = createAuctionItemRepository(connection);
  // Create the collection first: the offline engine can fail an insert racing its creation.
  await repository.ensureIndexes();
  await repository.insertMany(generateDemoCatalog(ITEMS, new Date(), 11));
  const itemIds = (await connection.collection('auction_items').find().toArray()).map((item) => item._id.toHexString());

  const server = spawnServer({
    MONGODB_URI: engine.uri,
    MONGODB_DB: dbName,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    GAVEL_SEED_DEMO: 'false',
    LIVE_INTERVAL_MS: String(INTERVAL_MS),
    LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '5',
    TRACKING_SESSION_EVENTS_PER_MINUTE: '10000000',
    TRACKING_IP_EVENTS_PER_MINUTE: '100000000',
  });
  const url = await waitForReady(server);
  const pid = server.child.pid!;
  const clients: Client[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the server settle before measuring memory
    const rssBefore = rssOf(pid);

    // Subscribers: connect, subscribe, wait for each initial message.
    const ackTimes = new Map<string, Array<{ count: number; at: number }>>(itemIds.map((id) => [id, []]));
    const delays: number[] = [];
    let messages = 0;
    let measuring = false;
    const initials: Array<Promise<void>> = [];
    for (let index = 0; index < SUBSCRIBERS; index++) {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
      });
      clients.push(client);
      const watched = [itemIds[index % ITEMS]!, itemIds[(index * 7 + 1) % ITEMS]!, itemIds[(index * 13 + 2) % ITEMS]!];
      let resolveInitial!: () => void;
      initials.push(new Promise<void>((resolve) => (resolveInitial = resolve)));
      let initialCount = 0;
      client.subscribe<{ itemAnalyticsUpdated: { itemId: string; impressions: number } }>(
        {
          query: `subscription { itemAnalyticsUpdated(itemIds: ${JSON.stringify([...new Set(watched)])}) { itemId impressions } }`,
        },
        {
          next: (result) => {
            const update = result.data?.itemAnalyticsUpdated;
            if (!update) return;
            if (++initialCount === new Set(watched).size) resolveInitial();
            if (!measuring) return;
            messages++;
            const acked = ackTimes.get(update.itemId)!.find((entry) => entry.count >= update.impressions);
            if (acked && update.impressions > 0) delays.push(Date.now() - acked.at);
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    }
    await Promise.all(initials);
    const rssConnected = rssOf(pid);

    // Load: batches of 20 impressions on random items, from 4 concurrent clients.
    measuring = true;
    const counts = new Map<string, number>(itemIds.map((id) => [id, 0]));
    const deadline = Date.now() + SECONDS * 1_000;
    let session = 0;
    let events = 0;
    const load = async () => {
      while (Date.now() < deadline) {
        const batch = Array.from({ length: 20 }, () => ({
          itemId: itemIds[Math.floor(Math.random() * ITEMS)]!,
          sessionId: `bench-${session++}`,
          source: 'SEARCH',
        }));
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
          body: JSON.stringify({
            query: 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { accepted } }',
            variables: { e: batch },
          }),
        });
        await response.json();
        const at = Date.now();
        events += batch.length;
        for (const { itemId } of batch) {
          const count = counts.get(itemId)! + 1;
          counts.set(itemId, count);
          ackTimes.get(itemId)!.push({ count, at });
        }
      }
    };
    const started = Date.now();
    await Promise.all([load(), load(), load(), load()]);
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 2)); // the last round of deliveries
    const elapsed = (Date.now() - started) / 1000;

    const timing = summarize(delays);
    console.log(
      `\n# bench:live — ${SUBSCRIBERS} subscribers × 3 items of ${ITEMS}, ${SECONDS} s of tracking, interval ${INTERVAL_MS} ms`,
    );
    console.log(`engine: ${engine.description}\n`);
    printTable([
      { measure: 'events tracked', value: `${events} (${Math.round(events / SECONDS)}/s)` },
      { measure: 'messages delivered', value: `${messages} (${Math.round(messages / elapsed)}/s)` },
      {
        measure: 'delivery delay p50 / p95 / p99',
        value: `${ms(timing.median)} / ${ms(timing.p95)} / ${ms(timing.p99)}`,
      },
      {
        measure: 'beyond the interval p50 / p95 / p99',
        value: `${ms(Math.max(0, timing.median - INTERVAL_MS))} / ${ms(Math.max(0, timing.p95 - INTERVAL_MS))} / ${ms(Math.max(0, timing.p99 - INTERVAL_MS))}`,
      },
      {
        measure: 'server RSS idle → connected',
        value: `${(rssBefore / 2 ** 20).toFixed(1)} MiB → ${(rssConnected / 2 ** 20).toFixed(1)} MiB`,
      },
      {
        measure: 'memory per idle connection',
        value: `${((rssConnected - rssBefore) / SUBSCRIBERS / 1024).toFixed(1)} KiB`,
      },
    ]);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    server.child.kill('SIGTERM');
    await server.exited;
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
