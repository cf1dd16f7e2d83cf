/**
 * The offline engine (mongo-java-server as a child process) against mongoose 9: the operations Gavel
 * relies on, H2 persistence across restarts, and no orphaned JVM when the Node parent is SIGKILLed.
 *
 * Skipped with a notice when Java or the jars are missing, except under CI (CI=true), where that is
 * a failure: CI fetches the jars with `bash scripts/fetch-engine-jars.sh --strict`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { javaServerAvailable, startJavaServer, type RunningJavaEngine } from '../../src/db/engines/javaServer';

const availability = javaServerAvailable();
if (!availability.ok && process.env['CI']) {
  throw new Error(`The offline engine must run under CI: ${availability.reason}`);
}
if (!availability.ok) {
  console.warn(`Skipping mongo-java-server tests: ${availability.reason}`);
}
const describeEngine = availability.ok ? describe : describe.skip;

// A JVM start (and the first compilation of Launcher.java) takes a few seconds on a busy machine.
jest.setTimeout(60_000);

interface Item {
  key: string;
  seller: string;
  price: number;
  tags: string[];
  listedAt: Date;
}

const itemSchema = new Schema<Item>({
  key: { type: String, required: true, unique: true },
  seller: { type: String, required: true },
  price: { type: Number, required: true },
  tags: { type: [String], default: [] },
  listedAt: { type: Date, required: true },
});

interface Counter {
  _id: string;
  count: number;
  firstSeenAt: Date;
}

const counterSchema = new Schema<Counter>({
  _id: { type: String, required: true },
  count: { type: Number, required: true },
  firstSeenAt: { type: Date, required: true },
});

/** Duplicate-key code of MongoDB write errors. */
const DUPLICATE_KEY = 11000;

function item(key: string, seller = 'alice', price = 10): Item {
  return { key, seller, price, tags: [], listedAt: new Date('2024-01-01T00:00:00Z') };
}

/** The driver's bulk error exposes `code` and `writeErrors`; check them without `any`. */
function duplicateKeyErrors(error: unknown): { code: unknown; writeErrorCount: number } {
  if (typeof error !== 'object' || error === null) throw new Error(`not an error object: ${String(error)}`);
  const code = 'code' in error ? error.code : undefined;
  const writeErrors = 'writeErrors' in error ? error.writeErrors : undefined;
  return { code, writeErrorCount: Array.isArray(writeErrors) ? writeErrors.length : writeErrors ? 1 : 0 };
}

/**
 * Registers a model and waits for mongoose's own collection and index creation (autoCreate,
 * autoIndex). A first write racing that implicit creation can fail on mongo-java-server's H2 backend
 * ("Document with key '<db>.<collection>' already existed in H2Collection(<db>.system.namespaces)").
 */
async function readyModel<T>(connection: Connection, name: string, schema: Schema<T>): Promise<Model<T>> {
  const model = connection.model<T>(name, schema);
  await model.init();
  return model;
}

/** Runs `body` with a connection to `uri`, closing it even when `body` fails. */
async function withConnection<R>(
  uri: string,
  dbName: string,
  body: (connection: Connection) => Promise<R>,
): Promise<R> {
  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    return await body(connection);
  } finally {
    await connection.close();
  }
}

describeEngine('mongo-java-server (memory backend) with mongoose 9', () => {
  let engine: RunningJavaEngine;
  let connection: Connection;

  beforeAll(async () => {
    engine = await startJavaServer({ backend: 'memory' });
    connection = await mongoose.createConnection(engine.uri, { dbName: 't1' }).asPromise();
  });

  afterAll(async () => {
    await connection?.close();
    await engine?.stop();
  });

  it('describes itself and reports the requested server version', async () => {
    expect(engine.uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
    expect(engine.name).toBe('java');
    expect(engine.description).toMatch(/^mongo-java-server \d+\.\d+\.\d+ \(memory backend, wire 21\)$/);
    const db = connection.db;
    if (!db) throw new Error('connection has no db');
    // mongo-java-server answers the legacy isMaster handshake, not `hello`.
    const handshake = await db.admin().command({ isMaster: 1 });
    expect(handshake['maxWireVersion']).toBe(21);
    const buildInfo = await db.admin().command({ buildInfo: 1 });
    expect(buildInfo['version']).toBe('7.0.0');
  });

  it('runs Launcher compiled once per version, not its source (Java would compile that on every start)', () => {
    const args = readFileSync(`/proc/${engine.pid}/cmdline`, 'utf8').split('\0');
    const classPath = args[args.indexOf('-cp') + 1]!.split(path.delimiter);
    const compiled = classPath.find((entry) => entry.includes(path.join('.cache', 'engine-launcher')));
    expect(compiled).toBeDefined();
    expect(readFileSync(path.join(compiled!, 'Launcher.class')).subarray(0, 4).toString('hex')).toBe('cafebabe');
    expect(args).toContain('Launcher');
    expect(args.some((arg) => arg.endsWith('Launcher.java'))).toBe(false);
  });

  it('insertMany: a duplicate stops an ordered insert there, and is skipped by an unordered one', async () => {
    const Items = await readyModel(connection, 'InsertItem', itemSchema);
    await Items.syncIndexes();

    const ordered = await Items.insertMany([item('a'), item('b'), item('a'), item('c')], { ordered: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(duplicateKeyErrors(ordered)).toEqual({ code: DUPLICATE_KEY, writeErrorCount: 1 });
    expect((await Items.find().sort({ key: 1 }).lean()).map((doc) => doc.key)).toEqual(['a', 'b']);

    const unordered = await Items.insertMany([item('d'), item('b'), item('e'), item('d'), item('f')], {
      ordered: false,
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(duplicateKeyErrors(unordered)).toEqual({ code: DUPLICATE_KEY, writeErrorCount: 2 });
    expect((await Items.find().sort({ key: 1 }).lean()).map((doc) => doc.key)).toEqual(['a', 'b', 'd', 'e', 'f']);
  });

  it('bulkWrite: $inc with $setOnInsert upserts create once and then count', async () => {
    const Counters = await readyModel(connection, 'Counter', counterSchema);
    const upsert = (id: string, at: Date) => ({
      updateOne: {
        filter: { _id: id },
        update: { $inc: { count: 1 }, $setOnInsert: { firstSeenAt: at } },
        upsert: true,
      },
    });
    const first = new Date('2024-01-01T00:00:00Z');
    const later = new Date('2024-06-01T00:00:00Z');

    const created = await Counters.bulkWrite([upsert('x', first), upsert('y', first)], { ordered: false });
    expect(created.upsertedCount).toBe(2);

    const updated = await Counters.bulkWrite([upsert('x', later), upsert('x', later), upsert('z', later)]);
    expect(updated.upsertedCount).toBe(1);
    expect(updated.matchedCount).toBe(2);

    const docs = await Counters.find().sort({ _id: 1 }).lean();
    expect(docs.map((doc) => [doc._id, doc.count, doc.firstSeenAt.toISOString()])).toEqual([
      ['x', 3, first.toISOString()],
      ['y', 1, first.toISOString()],
      ['z', 1, later.toISOString()],
    ]);
  });

  it('findOneAndUpdate and keyset pagination with $or and a compound sort', async () => {
    const Items = await readyModel(connection, 'PageItem', itemSchema);
    await Items.insertMany([5, 3, 5, 1, 3].map((price, index) => item(`p${index}`, 'bob', price)));
    const bumped = await Items.findOneAndUpdate(
      { key: 'p3' },
      { $inc: { price: 4 } },
      { returnDocument: 'after' },
    ).lean();
    expect(bumped?.price).toBe(5);

    // Page after (price 5, key p2) in order price desc, key asc.
    const page = await Items.find({ $or: [{ price: { $lt: 5 } }, { price: 5, key: { $gt: 'p2' } }] })
      .sort({ price: -1, key: 1 })
      .limit(2)
      .lean();
    expect(page.map((doc) => doc.key)).toEqual(['p3', 'p1']);
  });

  it('aggregate: $group ($sum, $avg, $addToSet), $facet, $dateToString, $count, $size', async () => {
    const Items = await readyModel(connection, 'AggItem', itemSchema);
    await Items.insertMany([
      { ...item('g1', 'alice', 10), tags: ['x', 'y'], listedAt: new Date('2024-03-01T10:00:00Z') },
      { ...item('g2', 'alice', 30), tags: ['y'], listedAt: new Date('2024-03-01T23:59:00Z') },
      { ...item('g3', 'bob', 5), tags: [], listedAt: new Date('2024-03-02T00:00:00Z') },
    ]);

    const bySeller = await Items.aggregate<{ _id: string; total: number; mean: number; tags: string[] }>([
      { $match: { price: { $gte: 5 } } },
      { $unwind: { path: '$tags', preserveNullAndEmptyArrays: true } },
      { $group: { _id: '$seller', total: { $sum: 1 }, mean: { $avg: '$price' }, tags: { $addToSet: '$tags' } } },
      { $sort: { _id: 1 } },
    ]);
    expect(bySeller.map((row) => ({ ...row, tags: [...row.tags].sort() }))).toEqual([
      { _id: 'alice', total: 3, mean: 50 / 3, tags: ['x', 'y'] },
      { _id: 'bob', total: 1, mean: 5, tags: [] },
    ]);

    const [facets] = await Items.aggregate<{
      perDay: { _id: string; revenue: number }[];
      tagCounts: { key: string; tagCount: number }[];
      total: { n: number }[];
    }>([
      {
        $facet: {
          perDay: [
            {
              $group: {
                _id: { $dateToString: { format: '%Y-%m-%d', date: '$listedAt' } },
                revenue: { $sum: '$price' },
              },
            },
            { $sort: { _id: 1 } },
          ],
          tagCounts: [{ $project: { _id: 0, key: 1, tagCount: { $size: '$tags' } } }, { $sort: { key: 1 } }],
          total: [{ $count: 'n' }],
        },
      },
    ]);
    expect(facets).toEqual({
      perDay: [
        { _id: '2024-03-01', revenue: 40 },
        { _id: '2024-03-02', revenue: 5 },
      ],
      tagCounts: [
        { key: 'g1', tagCount: 2 },
        { key: 'g2', tagCount: 1 },
        { key: 'g3', tagCount: 0 },
      ],
      total: [{ n: 3 }],
    });
  });
});

describeEngine('mongo-java-server (h2 backend)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gavel-h2-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps data across a stop and restart', async () => {
    const dataFile = path.join(dir, 'nested', 'gavel.mv');

    const first = await startJavaServer({ backend: 'h2', dataFile, wireVersion: 17 });
    try {
      expect(first.description).toContain(`h2 backend, data in ${dataFile}`);
      await withConnection(first.uri, 'persist', async (connection) => {
        const Items = await readyModel(connection, 'Item', itemSchema);
        await Items.insertMany([item('kept-1'), item('kept-2')]);
      });
    } finally {
      await first.stop();
    }

    const second = await startJavaServer({ backend: 'h2', dataFile, wireVersion: 17 });
    try {
      await withConnection(second.uri, 'persist', async (connection) => {
        const Items = await readyModel(connection, 'Item', itemSchema);
        expect((await Items.find().sort({ key: 1 }).lean()).map((doc) => doc.key)).toEqual(['kept-1', 'kept-2']);
        // The unique index came back with the data.
        const duplicate = await Items.create(item('kept-1')).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(duplicateKeyErrors(duplicate).code).toBe(DUPLICATE_KEY);
      });
    } finally {
      await second.stop();
    }
  });

  it('rejects the h2 backend without a data file', async () => {
    await expect(startJavaServer({ backend: 'h2' })).rejects.toThrow(/needs `dataFile`/);
  });
});

/** Polls `check` until it holds or the deadline passes; no fixed sleeps. */
async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Alive and not a zombie (an orphan is reparented to a PID 1 that may never reap it). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // `/proc/<pid>/stat`: "pid (comm) S ..."; state Z is a zombie, i.e. already exited.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

describeEngine('mongo-java-server child process lifetime', () => {
  let dir: string;
  let parent: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gavel-orphan-'));
  });

  afterAll(() => {
    parent?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits, with H2 data committed, when its Node parent is SIGKILLed', async () => {
    const dataFile = path.join(dir, 'orphan.mv');
    const modulePath = path.resolve(__dirname, '../../src/db/engines/javaServer.ts');
    const script = path.join(dir, 'parent.ts');
    writeFileSync(
      script,
      [
        `import { startJavaServer } from ${JSON.stringify(modulePath)};`,
        `startJavaServer({ backend: 'h2', dataFile: ${JSON.stringify(dataFile)} }).then(`,
        '  (engine) => console.log(`ENGINE pid=${engine.pid} uri=${engine.uri}`),',
        '  (error) => { console.error(error); process.exit(1); },',
        ');',
        // Keep the parent alive until it is killed.
        'setInterval(() => undefined, 60_000);',
      ].join('\n'),
    );

    const repoRoot = path.resolve(__dirname, '../..');
    const spawned = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    parent = spawned;
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const parentExited = new Promise<void>((resolve) => spawned.once('exit', () => resolve()));

    const { pid, uri } = await new Promise<{ pid: number; uri: string }>((resolve, reject) => {
      if (!spawned.stdout) return reject(new Error('no stdout'));
      createInterface({ input: spawned.stdout }).on('line', (line) => {
        const match = /^ENGINE pid=(\d+) uri=(\S+)$/.exec(line);
        if (match?.[1] && match[2]) resolve({ pid: Number(match[1]), uri: match[2] });
      });
      void parentExited.then(() => reject(new Error(`parent script exited early:\n${stderr}`)));
    });
    expect(processAlive(pid)).toBe(true);

    await withConnection(uri, 'orphan', async (connection) => {
      await (await readyModel(connection, 'Item', itemSchema)).insertMany([item('survivor')]);
    });

    spawned.kill('SIGKILL');
    await parentExited;
    await waitFor(() => !processAlive(pid), 20_000, `java process ${pid} to exit after its parent died`);

    // The stdin-EOF path shuts down like SIGTERM, so the H2 store was committed and closed.
    const engine = await startJavaServer({ backend: 'h2', dataFile });
    try {
      const keys = await withConnection(engine.uri, 'orphan', async (connection) =>
        (await (await readyModel(connection, 'Item', itemSchema)).find().lean()).map((doc) => doc.key),
      );
      expect(keys).toEqual(['survivor']);
    } finally {
      await engine.stop();
    }
  });
});
