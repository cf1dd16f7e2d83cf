/**
 * `npm run bench:live` — live counters at scale; `BENCH_LIVE=dashboards npm run bench:live`
 * measures open dashboards instead (see {@link dashboards}). A Gavel server (its own OS process, so
 * its memory and CPU are its own) with BENCH_SUBSCRIBERS (default 1,000) graphql-ws connections held
 * by BENCH_CLIENT_PROCESSES (default 2) subscriber processes of their own, each connection
 * subscribed to 3 of 100 items, while impressions are tracked through the API: the delay from a
 * mutation's acknowledgement to the delivery of the figures it produced (p50/p95/p99, and the same
 * minus the coalescing interval), messages per second, server CPU, and server memory per
 * connection. BENCH_INSTANCES=N (default 1) runs N server processes on the same database, sharing
 * events through a redis-server the bench starts (`REDIS_URL`): connections and tracking are spread
 * over them round-robin, CPU and memory are summed. A refusal any load client meets stops the run
 * naming the cap (`./loadGenerator`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startRedis } from '../test/support/redisServer';
import { openSubscriber, type Subscriber } from './loadGenerator';
import {
  cpuMsOf,
  loadAverage,
  ms,
  printProfile,
  printTable,
  sendTrackingBatch,
  spawnBenchServer,
  spawnCatalogServer,
  startBenchEngine,
  summarize,
  type TrackingInput,
} from './support';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
/** Gavel server processes sharing the database, fanning events out through a redis-server of the bench's. */
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const INTERVAL_MS = Number(process.env.LIVE_INTERVAL_MS ?? 1_000);
const ITEMS = 100;
/** Connections a subscriber process opens at once (each waits for its first result). */
const OPENING_CONCURRENCY = 50;

/** `count` impressions of random items, each in the session `nextSession` names. */
function randomImpressions(itemIds: readonly string[], count: number, nextSession: () => string): TrackingInput[] {
  return Array.from({ length: count }, () => ({
    itemId: itemIds[Math.floor(Math.random() * ITEMS)]!,
    sessionId: nextSession(),
    source: 'SEARCH',
  }));
}

/**
 * The two modes' set-up: the engine, and a Gavel server process on it with the coalescing interval
 * (plus `env`; the load clients' caps are lifted, see `./loadGenerator`) and ITEMS demo items.
 */
async function startLiveServer(dbPrefix: string, env: Record<string, string> = {}) {
  const engine = await startBenchEngine();
  const server = await spawnCatalogServer(engine.uri, dbPrefix, ITEMS, {
    env: { LIVE_INTERVAL_MS: String(INTERVAL_MS), ...env },
    seed: 11,
  });
  return {
    ...server,
    engine,
    itemIds: server.itemIds.map((id) => id.toHexString()),
    /** Stops the server (dropping its database), then the engine. */
    async stop() {
      await server.stop();
      await engine.stop();
    },
  };
}

/** The items connection `index` watches: 3 of the ITEMS, spread so that every item has watchers. */
const watchedBy = (index: number, itemIds: readonly string[]): string[] => [
  ...new Set([itemIds[index % ITEMS]!, itemIds[(index * 7 + 1) % ITEMS]!, itemIds[(index * 13 + 2) % ITEMS]!]),
];

/** A delivery a subscriber process saw: item index, impressions it said, when it arrived (ms since the epoch). */
type Delivery = [item: number, impressions: number, at: number];

/** Messages from the bench to a subscriber process. */
type ToSubscribers =
  | { kind: 'open'; urls: string[]; itemIds: string[]; from: number; to: number }
  | { kind: 'measure' }
  | { kind: 'stop' };
/** Messages from a subscriber process to the bench. */
type FromSubscribers =
  { kind: 'ready' } | { kind: 'deliveries'; deliveries: Delivery[] } | { kind: 'refused'; message: string };

/**
 * A subscriber process (`BENCH_LIVE_ROLE=subscribers`): opens connections `from`..`to`, says
 * `ready`, reports what it receives while measuring (in batches, every 200 ms), and disposes of its
 * clients on `stop`. A refusal is reported and ends the process.
 */
async function subscriberProcess(): Promise<void> {
  // Once the bench has gone (it stops at the first refusal), there is no one left to tell: exit.
  process.on('disconnect', () => process.exit(1));
  const send = (message: FromSubscribers, then: () => void = () => undefined) => {
    if (process.connected) process.send!(message, then);
    else then();
  };
  const subscribers: Subscriber[] = [];
  let measuring = false;
  let pending: Delivery[] = [];
  const flush = (then: () => void = () => undefined) => {
    if (pending.length > 0) send({ kind: 'deliveries', deliveries: pending }, then);
    else then();
    pending = [];
  };
  let refusedOnce = false;
  const refused = (error: unknown) => {
    if (refusedOnce) return;
    refusedOnce = true;
    send({ kind: 'refused', message: (error as Error).message }, () => process.exit(1));
  };
  process.on('message', (message: ToSubscribers) => {
    if (message.kind === 'open') {
      const { urls, itemIds, from, to } = message;
      const indexOf = new Map(itemIds.map((id, index) => [id, index]));
      const open = async (index: number) => {
        const query = `subscription { itemAnalyticsUpdated(itemIds: ${JSON.stringify(watchedBy(index, itemIds))}) { itemId impressions } }`;
        const onData = (data: unknown) => {
          const update = (data as { itemAnalyticsUpdated: { itemId: string; impressions: number } })
            .itemAnalyticsUpdated;
          if (measuring) pending.push([indexOf.get(update.itemId)!, update.impressions, Date.now()]);
        };
        // Connection `index` goes to instance `index % urls.length`, as a load balancer would spread them.
        const subscriber = await openSubscriber(urls[index % urls.length]!, [{ query, onData }]);
        subscriber.refused.catch(refused);
        subscribers.push(subscriber);
      };
      void (async () => {
        for (let next = from; next < to; next += OPENING_CONCURRENCY)
          await Promise.all(
            Array.from({ length: Math.min(OPENING_CONCURRENCY, to - next) }, (_, offset) => open(next + offset)),
          );
        send({ kind: 'ready' });
      })().catch(refused);
    } else if (message.kind === 'measure') {
      measuring = true;
      setInterval(() => flush(), 200).unref();
    } else {
      // Exits (once the last deliveries are handed over) rather than waiting for an empty event
      // loop: connections still opening (a stop that comes while `open` runs) would keep it alive.
      void Promise.all(subscribers.map(({ client }) => client.dispose())).finally(() => flush(() => process.exit(0)));
    }
  });
}

/**
 * Forks the subscriber processes; `open(from, to)` opens connections `from`..`to`, spread over
 * them, and resolves once all are subscribed. `refusal` rejects when a process reports one.
 */
function startSubscribers(urls: string[], itemIds: string[], onDeliveries: (deliveries: Delivery[]) => void) {
  let failed: (error: Error) => void = () => undefined;
  const refusal = new Promise<never>((_resolve, reject) => (failed = reject));
  refusal.catch(() => undefined);
  const waiting = new Map<ChildProcess, () => void>();
  let stopping = false;
  const children = Array.from({ length: CLIENT_PROCESSES }, () => {
    const child = fork(__filename, [], { env: { ...process.env, BENCH_LIVE_ROLE: 'subscribers' } });
    child.on('message', (message: FromSubscribers) => {
      if (message.kind === 'ready') waiting.get(child)?.();
      else if (message.kind === 'deliveries') onDeliveries(message.deliveries);
      else if (message.kind === 'refused') failed(new Error(message.message));
    });
    // A process that ends unasked (it crashed) fails the run: its subscribers' figures are missing.
    // On 'close', after its last messages (a refusal it reported names the cap first).
    child.once('close', (code) => {
      if (!stopping) failed(new Error(`a subscriber process exited (${code}) before the end of the run`));
    });
    return child;
  });
  return {
    refusal,
    async open(from: number, to: number): Promise<void> {
      const per = Math.ceil((to - from) / children.length);
      const ready = children.map(
        (child, index) =>
          new Promise<void>((resolve) => {
            const start = from + index * per;
            const end = Math.min(to, start + per);
            if (start >= end) return resolve();
            waiting.set(child, resolve);
            child.send({ kind: 'open', urls, itemIds, from: start, to: end } satisfies ToSubscribers);
          }),
      );
      await Promise.race([Promise.all(ready), refusal]);
    },
    measure: () => children.forEach((child) => child.send({ kind: 'measure' } satisfies ToSubscribers)),
    stop: () => {
      stopping = true;
      return Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || !child.connected) return resolve();
              child.once('exit', () => resolve());
              // A process that reported a refusal may be exiting already: then there is nothing to stop.
              child.send({ kind: 'stop' } satisfies ToSubscribers, (error) => error && resolve());
            }),
        ),
      );
    },
  };
}

async function main(): Promise<void> {
  // Several instances share the database and fan events out through one redis-server.
  const redis = INSTANCES > 1 ? await startRedis() : undefined;
  const env = { LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '5', ...(redis ? { REDIS_URL: redis.url } : {}) };
  const live = await startLiveServer('bench_live', env);
  const { engine, itemIds } = live;
  const instances: Array<Pick<typeof live, 'url' | 'collectGarbage' | 'server' | 'stop'>> = [live];
  let subscribers: Awaited<ReturnType<typeof startSubscribers>> | undefined;
  try {
    for (let instance = 1; instance < INSTANCES; instance++)
      instances.push(
        await spawnBenchServer(engine.uri, live.connection.name, { LIVE_INTERVAL_MS: String(INTERVAL_MS), ...env }),
      );
    const urls = instances.map((instance) => instance.url);
    const pids = instances.map((instance) => instance.server.child.pid!);
    /** The servers' memory after a full garbage collection in each, summed. */
    const collectGarbage = async () => {
      const usages = await Promise.all(instances.map((instance) => instance.collectGarbage()));
      return {
        heapUsed: usages.reduce((sum, usage) => sum + usage.heapUsed, 0),
        external: usages.reduce((sum, usage) => sum + usage.external, 0),
        rss: usages.reduce((sum, usage) => sum + usage.rss, 0),
      };
    };
    const serversCpu = () => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
    // Memory per connection as the growth from half the connections to all of them, each read after
    // a full garbage collection: the server's start-up memory does not count against the connections.
    const deliveries: Delivery[] = [];
    subscribers = startSubscribers(urls, itemIds, (batch) => deliveries.push(...batch));
    const half = Math.floor(SUBSCRIBERS / 2);
    await subscribers.open(0, half);
    const atHalf = await collectGarbage();
    await subscribers.open(half, SUBSCRIBERS);
    const connected = await collectGarbage();
    /** Live memory: the V8 heap in use plus what Node holds outside it (buffers, sockets' native parts). */
    const liveMemory = (usage: { heapUsed: number; external: number }) => usage.heapUsed + usage.external;

    // Load: batches of 20 impressions on random items, from 4 concurrent clients. Each item's
    // acknowledged counts, in order: a delivery saying N impressions is late by its arrival minus
    // the acknowledgement of the mutation that brought the item to N.
    const acks = itemIds.map((): Array<{ count: number; at: number }> => []);
    const counts = itemIds.map(() => 0);
    const indexOf = new Map(itemIds.map((id, index) => [id, index]));
    subscribers.measure();
    const deadline = Date.now() + SECONDS * 1_000;
    let session = 0;
    let events = 0;
    let batches = 0;
    const load = async () => {
      while (Date.now() < deadline) {
        const batch = randomImpressions(itemIds, 20, () => `bench-${session++}`);
        const result = await sendTrackingBatch(urls[batches++ % urls.length]!, 'impressions', batch);
        if (result.error) throw new Error(`tracking failed: ${result.error}`);
        const at = Date.now();
        events += batch.length;
        for (const { itemId } of batch) {
          const item = indexOf.get(itemId)!;
          acks[item]!.push({ count: ++counts[item]!, at });
        }
      }
    };
    const started = Date.now();
    const cpuBefore = serversCpu();
    await Promise.race([Promise.all([load(), load(), load(), load()]), subscribers.refusal]);
    const cpuUsed = serversCpu() - cpuBefore;
    await Promise.race([new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 2)), subscribers.refusal]); // the last round
    const elapsed = (Date.now() - started) / 1000;
    await subscribers.stop();

    const delays: number[] = [];
    for (const [item, impressions, at] of deliveries) {
      if (impressions === 0) continue;
      const acked = acks[item]!.find((entry) => entry.count >= impressions);
      if (acked) delays.push(at - acked.at);
    }
    const timing = summarize(delays);
    const beyond = (value: number) => ms(Math.max(0, value - INTERVAL_MS));
    console.log(
      `\n# bench:live — ${SUBSCRIBERS} subscribers (${CLIENT_PROCESSES} processes) × 3 items of ${ITEMS}, ${SECONDS} s of tracking, interval ${INTERVAL_MS} ms, ${INSTANCES} instance${INSTANCES > 1 ? 's (Redis fan-out)' : ''}`,
    );
    console.log(`engine: ${engine.description}; load average ${loadAverage()}\n`);
    printTable([
      { measure: 'events tracked', value: `${events} (${Math.round(events / SECONDS)}/s)` },
      { measure: 'messages delivered', value: `${deliveries.length} (${Math.round(deliveries.length / elapsed)}/s)` },
      {
        measure: 'delivery delay p50 / p95 / p99',
        value: `${ms(timing.median)} / ${ms(timing.p95)} / ${ms(timing.p99)}`,
      },
      {
        measure: 'beyond the interval p50 / p95 / p99',
        value: `${beyond(timing.median)} / ${beyond(timing.p95)} / ${beyond(timing.p99)}`,
      },
      {
        measure: 'server CPU while tracking (all instances)',
        value: `${((100 * cpuUsed) / (SECONDS * 1_000)).toFixed(0)} % of a core`,
      },
      {
        measure: `server heap + external at ${half} → ${SUBSCRIBERS} connections`,
        value: `${(liveMemory(atHalf) / 2 ** 20).toFixed(1)} MiB → ${(liveMemory(connected) / 2 ** 20).toFixed(1)} MiB`,
      },
      {
        measure: 'memory per connection (heap + external; RSS)',
        value: `${((liveMemory(connected) - liveMemory(atHalf)) / (SUBSCRIBERS - half) / 1024).toFixed(1)} KiB; ${((connected.rss - atHalf.rss) / (SUBSCRIBERS - half) / 1024).toFixed(1)} KiB`,
      },
    ]);
  } finally {
    await subscribers?.stop();
    const pids = instances.map((instance) => instance.server.child.pid!);
    // The other instances first: the first one's stop drops the database they use.
    for (const instance of instances.slice(1)) await instance.stop();
    await live.stop();
    await redis?.stop();
    const profiles = process.env.BENCH_PROFILE;
    if (profiles)
      for (const file of readdirSync(profiles).filter((name) => pids.some((pid) => name.includes(`.${pid}.`))))
        printProfile(path.join(profiles, file));
  }
}

const DASHBOARD_STEPS = (process.env.BENCH_DASHBOARDS ?? '1,50,100,200,400,800').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Tracked impressions per second while a step runs: a busy marketplace, not a flood. */
const EVENTS_PER_SECOND = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 200);
/** Results on a dashboard search page (`web/dashboard/views/search.ts`). */
const PAGE_ITEMS = 20;

/**
 * Open dashboards one instance holds. One dashboard = what `/dashboard` subscribes to on one
 * graphql-ws connection: `analyticsOverviewUpdated` (the overview) and `itemAnalyticsUpdated` for
 * a page of 20 search results. For each step of BENCH_DASHBOARDS, impressions are tracked at
 * BENCH_EVENTS_PER_SECOND for BENCH_SECONDS, and the delay from a mutation's acknowledgement to
 * the overview total that includes it is measured on every dashboard. A step holds when its p95
 * is at most 100 ms beyond the coalescing interval; the ratio is against the 1-dashboard step.
 */
async function dashboards(): Promise<void> {
  const live = await startLiveServer('bench_dash');
  const { engine, itemIds, url } = live;
  const rows: Array<Record<string, string>> = [];
  let baseline = NaN;
  let session = 0;
  let tracked = 0; // impressions acknowledged so far (all accepted: a fresh session each)
  try {
    for (const count of DASHBOARD_STEPS) {
      const acks: Array<{ total: number; at: number }> = [];
      const delays: number[] = [];
      let measuring = false;
      const onOverview = (data: unknown) => {
        const total = (data as { analyticsOverviewUpdated: { impressions: number } }).analyticsOverviewUpdated
          .impressions;
        if (!measuring) return;
        const acked = acks.find((entry) => entry.total >= total && entry.total > 0);
        if (acked && acked.total === total) delays.push(Date.now() - acked.at);
      };
      const clients: Subscriber[] = [];
      for (let index = 0; index < count; index++) {
        const page = Array.from({ length: PAGE_ITEMS }, (_, offset) => itemIds[(index + offset) % ITEMS]!);
        clients.push(
          await openSubscriber(url, [
            {
              query:
                'subscription { analyticsOverviewUpdated { impressions clicks ctr bySource { source impressions clicks ctr } byCategory { category impressions clicks ctr } } }',
              onData: onOverview,
            },
            {
              query: `subscription { itemAnalyticsUpdated(itemIds: ${JSON.stringify(page)}) { itemId impressions clicks ctr } }`,
              onData: () => undefined,
            },
          ]),
        );
      }
      const refusal = Promise.race(clients.map(({ refused }) => refused));
      refusal.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
      measuring = true;
      const deadline = Date.now() + STEP_SECONDS * 1_000;
      const batch = 20;
      while (Date.now() < deadline) {
        const sent = Date.now();
        tracked += (
          await sendTrackingBatch(
            url,
            'impressions',
            randomImpressions(itemIds, batch, () => `dash-${session++}`),
          )
        ).accepted;
        acks.push({ total: tracked, at: Date.now() });
        const pause = (batch / EVENTS_PER_SECOND) * 1_000 - (Date.now() - sent);
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
      // The last round of deliveries; a connection closed meanwhile stops the run, naming why.
      await Promise.race([new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 2)), refusal]);
      await Promise.all(clients.map(({ client }) => client.dispose()));
      const timing = summarize(delays);
      const beyond = Math.max(0, timing.p95 - INTERVAL_MS);
      if (Number.isNaN(baseline)) baseline = timing.p95;
      rows.push({
        dashboards: String(count),
        subscriptions: String(count * 2),
        'overview deliveries': String(timing.samples),
        'p50 / p95': `${ms(timing.median)} / ${ms(timing.p95)}`,
        'p95 beyond interval': ms(beyond),
        'p95 vs 1 dashboard': `${(timing.p95 / baseline).toFixed(2)}×`,
        holds: beyond <= 100 ? 'yes' : 'no',
      });
    }
  } finally {
    await live.stop();
  }
  console.log(
    `\n# bench:live dashboards — overview + ${PAGE_ITEMS}-item search page per dashboard, ${EVENTS_PER_SECOND} impressions/s for ${STEP_SECONDS} s per step, interval ${INTERVAL_MS} ms`,
  );
  console.log(`engine: ${engine.description}\n`);
  printTable(rows);
  const held = rows.filter((row) => row.holds === 'yes').map((row) => Number(row.dashboards));
  console.log(
    `\nopen dashboards held at p95 ≤ 100 ms beyond the interval: ${held.length ? Math.max(...held) : 0} (largest step tried: ${Math.max(...DASHBOARD_STEPS)})`,
  );
}

const role =
  process.env.BENCH_LIVE_ROLE === 'subscribers'
    ? subscriberProcess()
    : process.env.BENCH_LIVE === 'dashboards'
      ? dashboards()
      : main();
role.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
