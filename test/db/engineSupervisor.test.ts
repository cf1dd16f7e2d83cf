/**
 * The embedded engine's durability (an acknowledged write survives SIGKILL of the engine) and its
 * supervision (exit reported, restart on the same data and port with backoff), against real
 * mongo-java-server processes. The end-to-end version through Gavel is engineFaults.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { javaServerAvailable, startJavaServer, type EngineDurability } from '../../src/db/engines/javaServer';
import { startSupervisedJavaServer, type EngineEvent } from '../../src/db/engines/supervisor';

const availability = javaServerAvailable();
if (!availability.ok && process.env['CI'])
  throw new Error(`The offline engine must run under CI: ${availability.reason}`);
if (!availability.ok) console.warn(`Skipping engine supervision tests: ${availability.reason}`);
const describeEngine = availability.ok ? describe : describe.skip;

// A JVM start (and the first compilation of Launcher.java) takes a few seconds on a busy machine.
jest.setTimeout(180_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gavel-supervisor-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withConnection<T>(uri: string, work: (connection: mongoose.Connection) => Promise<T>): Promise<T> {
  const connection = await mongoose.createConnection(uri, { dbName: 'durable' }).asPromise();
  try {
    return await work(connection);
  } finally {
    await connection.close(true);
  }
}

/** Resolves with the first event of `type` the engine reports. */
function nextEvent<T extends EngineEvent['type']>(
  health: { onEvent(listener: (event: EngineEvent) => void): () => void },
  type: T,
): Promise<Extract<EngineEvent, { type: T }>> {
  return new Promise((resolve) => {
    const off = health.onEvent((event) => {
      if (event.type !== type) return;
      off();
      resolve(event as Extract<EngineEvent, { type: T }>);
    });
  });
}

describeEngine('durability of the embedded engine', () => {
  it.each<EngineDurability>(['fsync', 'commit'])(
    'keeps every acknowledged write when the engine is SIGKILLed right after (%s)',
    async (durability) => {
      const dataFile = path.join(dir, `kill-${durability}.mv`);
      const first = await startJavaServer({ backend: 'h2', dataFile, durability });
      await withConnection(first.uri, async (connection) => {
        const events = connection.collection('events');
        // Several concurrent batches: they share commits, and each is acknowledged only once in the file.
        await Promise.all(
          Array.from({ length: 8 }, (_, batch) =>
            events.insertMany(Array.from({ length: 50 }, (_, index) => ({ batch, index }))),
          ),
        );
        process.kill(first.pid, 'SIGKILL');
        expect(await first.exited).toBe('killed by SIGKILL');
      });
      const second = await startJavaServer({ backend: 'h2', dataFile, durability });
      try {
        expect(await withConnection(second.uri, (connection) => connection.collection('events').countDocuments())).toBe(
          400,
        );
      } finally {
        await second.stop();
      }
    },
  );

  it('refuses an unknown durability, naming the accepted ones', async () => {
    await expect(
      startJavaServer({
        backend: 'h2',
        dataFile: path.join(dir, 'bogus.mv'),
        durability: 'sometimes' as EngineDurability,
      }),
    ).rejects.toThrow(/--durability must be fsync, commit or none, got sometimes/);
  });
});

describeEngine('supervised embedded engine', () => {
  it('reports a kill at once, restarts on the same data and port, and stays stopped once stopped', async () => {
    const engine = await startSupervisedJavaServer({ backend: 'h2', dataFile: path.join(dir, 'supervised.mv') });
    try {
      expect(engine.health.up).toBe(true);
      await withConnection(engine.uri, (connection) => connection.collection('items').insertOne({ name: 'kept' }));
      const firstPid = engine.pid;
      const down = nextEvent(engine.health, 'down');
      const up = nextEvent(engine.health, 'up');
      process.kill(firstPid, 'SIGKILL');
      expect(await down).toMatchObject({ exit: 'killed by SIGKILL', pid: firstPid });
      expect(engine.health.up).toBe(false);
      expect(await up).toMatchObject({ restarts: 1 });
      expect(engine.health.up).toBe(true);
      expect(engine.pid).not.toBe(firstPid);
      // Same connection string, same data.
      expect(
        await withConnection(engine.uri, (connection) => connection.collection('items').find().toArray()),
      ).toMatchObject([{ name: 'kept' }]);
    } finally {
      await engine.stop();
    }
    const events: EngineEvent[] = [];
    engine.health.onEvent((event) => events.push(event));
    // A requested stop is not an outage: no down event, no restart, the process is gone.
    expect(await engine.exited).toMatch(/exited with code|killed by SIGTERM/);
    expect(events).toEqual([]);
  });

  it('retries with growing delays while the engine cannot start, then recovers', async () => {
    const engine = await startSupervisedJavaServer(
      { backend: 'h2', dataFile: path.join(dir, 'backoff.mv') },
      { initialMs: 100, maxMs: 400 },
    );
    let squatter: Server | undefined;
    try {
      const failures: number[] = [];
      const twoFailures = new Promise<void>((resolve) =>
        engine.health.onEvent((event) => {
          if (event.type !== 'restart-failed') return;
          failures.push(event.retryInMs);
          if (failures.length === 2) resolve();
        }),
      );
      // Something else takes the engine's port as it dies: restarts fail until it is released.
      const down = new Promise<void>((resolve) =>
        engine.health.onEvent((event) => {
          if (event.type !== 'down') return;
          squatter = createServer();
          squatter.listen(engine.port, '127.0.0.1', () => resolve());
        }),
      );
      const up = nextEvent(engine.health, 'up');
      process.kill(engine.pid, 'SIGKILL');
      await down;
      await twoFailures;
      expect(failures).toEqual([200, 400]);
      await new Promise<void>((resolve) => squatter!.close(() => resolve()));
      squatter = undefined;
      await up;
      expect(engine.health.up).toBe(true);
    } finally {
      squatter?.close();
      await engine.stop();
    }
  });
});
