import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose, { type Types } from 'mongoose';
import { javaServerAvailable } from '../../src/db/engines/javaServer';
import { BROWSER } from '../support/catalogFixtures';
import { spawnServer, waitForReady, type ServerProcess } from '../support/serverProcess';

// Gavel supervises only the embedded engine it starts itself; an external database (MONGODB_URI,
// e.g. DocumentDB in CI) is someone else's process to restart, so there is nothing to kill here.
const external = process.env.MONGODB_URI;
const java = javaServerAvailable();
const skipReason = external
  ? 'MONGODB_URI is set: Gavel does not supervise external databases'
  : !java.ok
    ? `the embedded engine is unavailable: ${java.reason}`
    : undefined;
const describeEmbedded = skipReason ? describe.skip : describe;
if (skipReason) console.info(`[engine fault tests skipped] ${skipReason}`);

// Two JVM starts, seeding and a tracking load: minutes on a busy machine.
jest.setTimeout(240_000);

const mutation = 'mutation($e: [ImpressionInput!]!) { trackImpressions(events: $e) { events { outcome } } }';

interface Answer {
  readonly status: number;
  readonly outcomes?: string[];
  readonly errors?: Array<{ extensions?: { code?: string; retryable?: boolean } }>;
}

async function track(url: string, events: unknown[]): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...BROWSER },
    body: JSON.stringify({ query: mutation, variables: { e: events } }),
  });
  const body = (await response.json()) as {
    data?: { trackImpressions: { events: Array<{ outcome: string }> } } | null;
    errors?: Answer['errors'];
  };
  return {
    status: response.status,
    outcomes: body.data?.trackImpressions.events.map((event) => event.outcome),
    errors: body.errors,
  };
}

/**
 * Listens on the killed engine's loopback port as soon as it is free (its socket closes a moment
 * after SIGKILL), so that the engine's restarts fail until the returned function releases it: a
 * down window of known length, however fast the JVM starts again (the supervisor waits 200 ms).
 */
async function holdPort(port: number): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    // A connection is reset at once, as on a closed port: the drivers keep retrying meanwhile.
    const holder = net.createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      holder.once('error', () => resolve(false));
      holder.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return () => new Promise<void>((resolve) => holder.close(() => resolve()));
    if (attempt >= 100) throw new Error(`port ${port} stayed in use: the engine came back before the test held it`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves once the server's output matches `pattern` (the log is the operator's view too). */
async function logged(server: ServerProcess, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(server.output());
    if (match) return match;
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeEmbedded('embedded engine killed under tracking load', () => {
  let dataDir: string;
  let server: ServerProcess;
  let connection: mongoose.Connection | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gavel-engine-faults-'));
  });
  afterAll(async () => {
    await connection?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged event, fails fast while down, and recovers without a Gavel restart', async () => {
    server = spawnServer({
      GAVEL_MONGO_ENGINE: 'java',
      GAVEL_DATA_DIR: dataDir,
      MONGODB_DB: 'faults',
      // The load clients stand for many users but share one address; their fast retries during
      // the outage would otherwise hit the per-address request limit (tested in httpGuard.test.ts).
      HTTP_REQUESTS_PER_MINUTE: '0',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      GAVEL_DEMO_ITEMS: '20',
      TRACKING_SESSION_EVENTS_PER_MINUTE: '1000000',
      TRACKING_IP_EVENTS_PER_MINUTE: '1000000',
    });
    const url = await waitForReady(server);
    const origin = url.replace('/graphql', '');
    const startLine = (await logged(server, /^.*"msg":"MongoDB engine: .*$/m))[0];
    const { enginePid: pid, uri } = JSON.parse(startLine) as { enginePid: number; uri: string };
    connection = await mongoose.createConnection(uri, { dbName: 'faults' }).asPromise();
    const itemIds = (await connection.collection('auction_items').find().toArray()).map((item) =>
      (item._id as Types.ObjectId).toHexString(),
    );
    expect(itemIds).toHaveLength(20);

    const acknowledged: string[] = [];
    const refusals: Answer[] = [];
    const readiness = new Set<number>();
    const liveness = new Set<number>();
    let killed = false;
    let stop = false;
    let afterRecovery = 0;
    let signal!: () => void;
    const enoughBeforeKill = new Promise<void>((resolve) => (signal = resolve));
    let recovered!: () => void;
    const enoughAfterRecovery = new Promise<void>((resolve) => (recovered = resolve));
    let restartedLogged = false;

    const client = async (clientIndex: number): Promise<void> => {
      for (let round = 0; !stop; round++) {
        const sessionId = `fault-${clientIndex}-${round}`;
        const events = itemIds.map((itemId) => ({ itemId, sessionId, source: 'HOME' }));
        const answer = await track(url, events);
        if (answer.outcomes) {
          answer.outcomes.forEach((outcome, index) => {
            if (outcome === 'ACCEPTED') acknowledged.push(`${sessionId}|${events[index]!.itemId}`);
          });
          if (acknowledged.length >= 600) signal();
          if (restartedLogged && ++afterRecovery >= 10) recovered();
        } else {
          refusals.push(answer);
        }
      }
    };
    const probe = async (): Promise<void> => {
      while (!stop) {
        if (killed) {
          readiness.add((await fetch(`${origin}/readyz`)).status);
          liveness.add((await fetch(`${origin}/healthz`)).status);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const running = [...Array.from({ length: 4 }, (_, index) => client(index)), probe()];

    await enoughBeforeKill;
    process.kill(pid, 'SIGKILL');
    killed = true;
    const releasePort = await holdPort(Number(new URL(uri).port));
    // Logged at once, at error level, with how it died.
    const downLine = (await logged(server, /^.*"msg":"MongoDB engine killed by SIGKILL.*$/m))[0];
    expect(JSON.parse(downLine)).toMatchObject({ level: 50, exit: 'killed by SIGKILL', enginePid: pid });
    // Restarts fail while the port is taken (and back off). A request now meets the fast gate: 503
    // and the retryable SERVICE_UNAVAILABLE at once, rather than waiting for the driver to give up.
    // (The load clients' requests in flight at the kill may instead wait and succeed after the restart.)
    const whileDown = await track(url, [{ itemId: itemIds[0], sessionId: 'fault-while-down', source: 'HOME' }]);
    expect(whileDown.status).toBe(503);
    expect(whileDown.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(whileDown.errors?.[0]?.extensions?.retryable).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await releasePort();
    await logged(server, /"msg":"MongoDB engine restarted after \d+ ms"/);
    restartedLogged = true;
    await enoughAfterRecovery;
    stop = true;
    await Promise.all(running);

    // While the engine was down: not ready (503), still alive (200); ready again after.
    expect(readiness).toContain(503);
    expect(liveness).toEqual(new Set([200]));
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
    // Operators see it in the metrics too: the engine is up again after one restart.
    const scrape = await (await fetch(`${origin}/metrics`)).text();
    expect(scrape).toMatch(/^gavel_engine_up 1$/m);
    expect(scrape).toMatch(/^gavel_engine_restarts_total 1$/m);
    // Whatever the load clients had refused was the retryable SERVICE_UNAVAILABLE.
    for (const refusal of refusals) {
      expect(refusal.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(refusal.errors?.[0]?.extensions?.retryable).toBe(true);
    }

    // Recount: every event acknowledged ACCEPTED, before the kill and after the restart, is stored.
    const stored = await connection
      .collection('tracking_events')
      .find({ sessionId: { $regex: '^fault-' }, outcome: 'ACCEPTED' }, { projection: { sessionId: 1, itemId: 1 } })
      .toArray();
    const storedKeys = new Set(
      stored.map((event) => `${event.sessionId}|${(event.itemId as Types.ObjectId).toHexString()}`),
    );
    expect(acknowledged.filter((key) => !storedKeys.has(key))).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(600 + 10 * 20);

    // The same Gavel process throughout: it shuts down cleanly, and so does its restarted engine.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
