import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import mongoose, { type Types } from 'mongoose';
import WebSocket from 'ws';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import { BROWSER } from '../support/catalogFixtures';
import { startTopology, type Topology } from '../support/topology';

// Three Gavel processes (ts-node) start, restart and stop here; generous, the work is bounded by counts.
jest.setTimeout(240_000);

const TRACK = 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { events { outcome reason } } }';
const databaseName = `test_${randomBytes(6).toString('hex')}`;
let connection: mongoose.Connection;
let topology: Topology;
let itemIds: string[];
const clients: Client[] = [];

beforeAll(async () => {
  connection = await mongoose
    .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: databaseName })
    .asPromise();
  const repository = createAuctionItemRepository(connection);
  // As the app does at startup: the offline engine can fail inserts racing a collection's creation.
  await repository.ensureIndexes();
  await repository.insertMany(generateDemoCatalog(40, new Date(), 12));
  itemIds = (await connection.collection('auction_items').find().toArray()).map((item) => item._id.toHexString());
  topology = await startTopology({
    mongodbUri: process.env.GAVEL_TEST_MONGODB_URI!,
    mongodbDb: databaseName,
    env: {
      // Every client comes from 127.0.0.1 here; the limits are not what this file tests.
      TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
      TRACKING_IP_EVENTS_PER_MINUTE: '100000000',
      HTTP_REQUESTS_PER_MINUTE: '0',
      // A day-long window: concurrent copies of an event cannot straddle a window boundary.
      TRACKING_IMPRESSION_COOLDOWN_MS: '86400000',
      LIVE_INTERVAL_MS: '100',
    },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await topology?.stop();
  await connection?.close();
});

interface Answer {
  readonly status: number;
  /** `x-gavel-instance`: which instance behind nginx answered. */
  readonly instance: string | null;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ extensions?: { code?: string; retryable?: boolean } }>;
  };
}

/** POSTs a GraphQL request through nginx, with `requestId` as its `X-Request-Id` when given. */
async function post(query: string, variables: Record<string, unknown> = {}, requestId?: string): Promise<Answer> {
  const response = await fetch(topology.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...BROWSER, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = { errors: [{ extensions: { code: `HTTP ${response.status}: ${text.slice(0, 80)}` } }] };
  }
  return { status: response.status, instance: response.headers.get('x-gavel-instance'), body };
}

/**
 * {@link post} as /tracker.js sends: an answer whose errors are all retryable (an outage, such as the
 * engine resetting a connection) acknowledged nothing, so it is sent again, up to three times.
 * @returns the last answer and whether it took a retry
 */
async function postAsTracker(
  query: string,
  variables: Record<string, unknown>,
): Promise<Answer & { retried: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const answer = await post(query, variables);
    const outage = !!answer.body.errors?.length && answer.body.errors.every((error) => error.extensions?.retryable);
    if (!outage || attempt === 3) return { ...answer, retried: attempt > 1 };
  }
}

interface Impression {
  readonly itemId: string;
  readonly sessionId: string;
  readonly source: 'HOME';
}

/** Sends one batch through nginx; the outcomes when it was answered without errors, else null. */
async function track(
  events: readonly Impression[],
  requestId?: string,
): Promise<{ outcomes: string[]; reasons: Array<string | null>; instance: string | null } | null> {
  try {
    const answer = await post(TRACK, { e: events }, requestId);
    const result = answer.body.data?.trackImpressions as
      { events: Array<{ outcome: string; reason: string | null }> } | undefined;
    if (answer.status !== 200 || answer.body.errors || !result) return null;
    return {
      outcomes: result.events.map((event) => event.outcome),
      reasons: result.events.map((event) => event.reason),
      instance: answer.instance,
    };
  } catch {
    return null; // Connection-level failure: nothing was acknowledged.
  }
}

const keyOf = (event: { sessionId: unknown; itemId: unknown }): string =>
  `${String(event.sessionId)}|${typeof event.itemId === 'string' ? event.itemId : (event.itemId as Types.ObjectId).toHexString()}`;

/** `sessionId|itemId` → how many ACCEPTED rows are stored, for sessions starting with `prefix`. */
async function storedAccepted(prefix: string): Promise<Map<string, number>> {
  const rows = await connection
    .collection('tracking_events')
    .find({ sessionId: { $regex: `^${prefix}` }, outcome: 'ACCEPTED' }, { projection: { sessionId: 1, itemId: 1 } })
    .toArray();
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(keyOf(row as never), (counts.get(keyOf(row as never)) ?? 0) + 1);
  return counts;
}

/** A graphql-ws subscriber connected through nginx, with the instance that accepted its upgrade. */
function subscribe(itemId: string): {
  instance: Promise<string>;
  figures: number[];
  reached(n: number): Promise<void>;
} {
  let recordInstance!: (id: string) => void;
  const instance = new Promise<string>((resolve) => (recordInstance = resolve));
  // The upgrade response names the instance; graphql-ws does not expose it, so read it off `ws`.
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.once('upgrade', (response: IncomingMessage) => recordInstance(String(response.headers['x-gavel-instance'])));
      this.once('unexpected-response', (_request: ClientRequest, response: IncomingMessage) =>
        recordInstance(`refused ${response.statusCode}`),
      );
    }
  }
  const figures: number[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const client = createClient({ url: topology.wsUrl, webSocketImpl: RecordingWebSocket, retryAttempts: 0 });
  clients.push(client);
  client.subscribe<{ itemAnalyticsUpdated: { impressions: number } }>(
    { query: `subscription { itemAnalyticsUpdated(itemIds: ["${itemId}"]) { impressions } }` },
    {
      next: (result) => {
        const impressions = result.data?.itemAnalyticsUpdated.impressions;
        if (impressions === undefined) return;
        figures.push(impressions);
        for (const waiter of waiters) if (impressions >= waiter.n) waiter.resolve();
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  return {
    instance,
    figures,
    reached: (n) =>
      new Promise<void>((resolve) => {
        if (figures.some((value) => value >= n)) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

describe('three Gavel instances behind nginx, one database, one Redis', () => {
  it('counts each event exactly once when its copies land concurrently on different instances', async () => {
    // 30 distinct impressions, each sent 4 times at once: 120 requests, round-robined by nginx.
    // Stamped once, as the tracker stamps: copies answered seconds apart stay in one dedup window.
    const timestamp = new Date().toISOString();
    const events = itemIds.slice(0, 30).map((itemId, index) => ({
      itemId,
      sessionId: `dedup-${index}`,
      source: 'HOME' as const,
      timestamp,
    }));
    const copies = events.flatMap((event) => [event, event, event, event]);
    const answers = await Promise.all(copies.map((event) => postAsTracker(TRACK, { e: [event] })));

    expect(new Set(answers.map((answer) => answer.instance))).toEqual(new Set(['gavel-1', 'gavel-2', 'gavel-3']));
    const outcomesByEvent = new Map<string, string[]>();
    const retriedEvents = new Set<string>();
    answers.forEach((answer, index) => {
      expect(answer.body.errors).toBeUndefined();
      const outcome = (answer.body.data!.trackImpressions as { events: Array<{ outcome: string }> }).events[0]!.outcome;
      const key = keyOf(copies[index]!);
      outcomesByEvent.set(key, [...(outcomesByEvent.get(key) ?? []), outcome]);
      if (answer.retried) retriedEvents.add(key);
    });
    for (const [key, outcomes] of outcomesByEvent)
      // A copy answered with an outage may still have been stored; its retry is then DUPLICATE too.
      expect(outcomes.sort()).toEqual(
        retriedEvents.has(key) && !outcomes.includes('ACCEPTED')
          ? ['DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE']
          : ['ACCEPTED', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE'],
      );
    // Some event's copies were answered by more than one instance: dedup held across processes.
    const instancesPerEvent = events.map(
      (event) => new Set(answers.filter((_, index) => copies[index] === event).map((answer) => answer.instance)).size,
    );
    expect(Math.max(...instancesPerEvent)).toBeGreaterThan(1);

    // The recount of stored events and the analytics served through the balancer agree: 1 each.
    const stored = await storedAccepted('dedup-');
    expect([...stored.values()]).toEqual(Array(30).fill(1));
    const analytics = await Promise.all(
      events.map((event) =>
        post('query($id: ID!) { auctionItem(id: $id) { analytics { impressions } } }', { id: event.itemId }),
      ),
    );
    expect(
      analytics.map(
        (answer) => (answer.body.data!.auctionItem as { analytics: { impressions: number } }).analytics.impressions,
      ),
    ).toEqual(Array(30).fill(1));
  });

  it('delivers an update tracked on one instance to subscribers connected to the other instances', async () => {
    const itemId = itemIds[35]!;
    // Connect until subscribers sit on all three instances (nginx round-robins upgrades too).
    const subscribers: Array<ReturnType<typeof subscribe> & { on: string }> = [];
    for (let attempt = 0; attempt < 12 && new Set(subscribers.map((s) => s.on)).size < 3; attempt++) {
      const subscriber = subscribe(itemId);
      const on = await subscriber.instance;
      await subscriber.reached(0); // The initial figure: the subscription is live.
      subscribers.push({ ...subscriber, on });
    }
    expect(new Set(subscribers.map((s) => s.on))).toEqual(new Set(['gavel-1', 'gavel-2', 'gavel-3']));

    const produced = await track([{ itemId, sessionId: 'live-1', source: 'HOME' }]);
    expect(produced?.outcomes).toEqual(['ACCEPTED']);
    const others = subscribers.filter((s) => s.on !== produced!.instance);
    expect(new Set(others.map((s) => s.on)).size).toBe(2);
    await Promise.all(others.map((s) => s.reached(1)));
    for (const subscriber of others) expect(subscriber.figures.at(-1)).toBe(1);
  });

  it('loses no acknowledged event when an instance is SIGKILLed mid-load; clients retry through nginx', async () => {
    const acknowledged = new Set<string>();
    const sent = new Set<string>();
    const servedAfterKill = new Set<string | null>();
    let killedAt: number | null = null;
    let stop = false;
    let reachedTarget!: () => void;
    const targetReached = new Promise<void>((resolve) => (reachedTarget = resolve));
    let reachedAfterKill!: () => void;
    const afterKillReached = new Promise<void>((resolve) => (reachedAfterKill = resolve));
    const client = async (clientIndex: number): Promise<void> => {
      for (let round = 0; !stop; round++) {
        const sessionId = `kill-${clientIndex}-${round}`;
        const events = itemIds.slice(0, 10).map((itemId) => ({ itemId, sessionId, source: 'HOME' as const }));
        events.forEach((event) => sent.add(keyOf(event)));
        // Retry the same batch until answered: dedup makes a retry of a stored event a DUPLICATE.
        for (let attempt = 1; ; attempt++) {
          const answer = await track(events);
          if (answer) {
            answer.outcomes.forEach((outcome, index) => {
              expect(['ACCEPTED', 'DUPLICATE']).toContain(outcome);
              if (outcome === 'ACCEPTED') acknowledged.add(keyOf(events[index]!));
            });
            if (killedAt !== null) servedAfterKill.add(answer.instance);
            break;
          }
          if (attempt === 10) throw new Error(`batch ${sessionId} failed 10 times`);
        }
        if (acknowledged.size >= 1_500) reachedTarget();
        if (killedAt !== null && acknowledged.size >= killedAt + 500) reachedAfterKill();
      }
    };
    const running = Promise.all([0, 1, 2, 3].map(client));
    await targetReached;
    const victim = topology.instances[1]!;
    victim.process.child.kill('SIGKILL');
    expect(await victim.process.exited).toBeNull();
    killedAt = acknowledged.size;
    // `running` settles first only when a client gave up, and then rejects with its reason.
    await Promise.race([afterKillReached, running]);
    stop = true;
    await running;

    // Every acknowledged event is stored, and (after retries) every event sent is stored once.
    const stored = await storedAccepted('kill-');
    expect([...acknowledged].filter((key) => !stored.has(key))).toEqual([]);
    expect([...sent].filter((key) => stored.get(key) !== 1)).toEqual([]);
    expect(servedAfterKill.has(victim.id)).toBe(false);
    expect(servedAfterKill.size).toBe(2);

    await topology.restart(1);
  });

  it('rolls a restart through all instances under continuous requests without a failed request', async () => {
    const failures: string[] = [];
    const refused: Array<{ sessionId: string; outcome: string; reason: string | null }> = [];
    const acknowledged = new Set<string>();
    const sent = new Set<string>();
    let requests = 0;
    let eventsSent = 0;
    let stop = false;
    const client = async (clientIndex: number): Promise<void> => {
      for (let round = 0; !stop; round++) {
        // Steady rather than flat out: restarting instances need CPU to start on a small machine.
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 20));
        requests++;
        if (round % 2 === 0) {
          const sessionId = `roll-${clientIndex}-${round}`;
          const events = itemIds.slice(0, 5).map((itemId) => ({ itemId, sessionId, source: 'HOME' as const }));
          eventsSent += events.length;
          events.forEach((event) => sent.add(keyOf(event)));
          const answer = await track(events, sessionId);
          if (!answer) failures.push(`trackImpressions ${sessionId}`);
          else
            answer.outcomes.forEach((outcome, index) => {
              if (outcome === 'ACCEPTED') acknowledged.add(keyOf(events[index]!));
              else refused.push({ sessionId, outcome, reason: answer.reasons[index] ?? null });
            });
        } else {
          try {
            const answer = await post('{ auctionItems(first: 5) { edges { node { id title } } } }');
            if (answer.status !== 200 || answer.body.errors) failures.push(`search: ${JSON.stringify(answer.body)}`);
          } catch (error) {
            failures.push(`search: ${String(error)}`);
          }
        }
      }
    };
    const running = Promise.all([0, 1, 2].map(client));
    const exitCodes: Array<number | null> = [];
    for (let index = 0; index < topology.instances.length; index++) {
      const instance = topology.instances[index]!;
      instance.process.child.kill('SIGTERM');
      exitCodes.push(await instance.process.exited);
      await topology.restart(index);
    }
    stop = true;
    await running;

    expect(exitCodes).toEqual([0, 0, 0]);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(30);
    // Every event is new (fresh session): each is ACCEPTED, also while the item cache entries an
    // instance took during the earlier tests expire one by one in the middle of a batch. The one
    // exception is nginx's documented retry (`non_idempotent`): a batch whose first instance stored
    // it but closed the connection before answering (its shutdown grace ran out on a loaded machine)
    // is sent on to another, which answers DUPLICATE for what is stored once. The access log shows
    // that retry as two upstreams for the batch's request id.
    const accessLog = readFileSync(path.join(topology.prefix, 'access.log'), 'utf8').split('\n');
    const unexplained = refused
      .map(({ sessionId, outcome, reason }) => ({
        refusal: `${sessionId} ${outcome}: ${reason}`,
        logged: accessLog.find((line) => line.includes(` rid=${sessionId} `)) ?? '(no access log line)',
      }))
      .filter(({ refusal, logged }) => !(refusal.includes(' DUPLICATE: ') && /upstream=\S+, /.test(logged)));
    expect(unexplained).toEqual([]);
    expect(eventsSent).toBeGreaterThan(0);
    const stored = await storedAccepted('roll-');
    expect([...acknowledged].filter((key) => !stored.has(key))).toEqual([]);
    expect([...sent].filter((key) => stored.get(key) !== 1)).toEqual([]);
  });
});
