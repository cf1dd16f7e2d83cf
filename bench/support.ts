/**
 * Shared parts of the benchmarks: an engine and a Gavel app started for the run, timing
 * statistics, a database round-trip counter, and the result table.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { print } from 'graphql';
import mongoose, { Types, type Connection, type mongo } from 'mongoose';
import { startApp, type GavelApp } from '../src/app';
import { auctionItemModel, AuctionStatus } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository, type NewAuctionItem } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog, seededRandom } from '../src/catalog/demoCatalog';
import type { PageQuery, SortKey } from '../src/catalog/search.repository';
import { loadConfig, type GavelConfig, type MongoEngineChoice } from '../src/config';
import { startEngine, type RunningEngine } from '../src/db/engine';
import { DAY_MS } from '../src/shared/clock';
import { createTrackingRepository } from '../src/tracking/tracking.repository';
import {
  EventType,
  TrackingOutcome,
  trackingEventModel,
  type TrackingEventRecord,
} from '../src/tracking/trackingEvent.model';
import { createLogger } from '../src/shared/logger';
import { SketchWriter } from '../src/tracking/sketchWriter';
import { itemDayIncrements, itemDaySketches } from '../src/tracking/trackingWriter';
import { TrackClicksDocument, TrackImpressionsDocument } from '../test/generated/graphql';
import { spawnServer, waitForReady, type ServerProcess } from '../test/support/serverProcess';
import { benchServerSettings, CapReached, throwIfEventsLimited, throwIfRefused } from './loadGenerator';

/** An engine and an app on it, for one benchmark run. */
export interface BenchEnvironment {
  readonly engine: RunningEngine;
  readonly app: GavelApp;
  /** Stops the app, then the engine. */
  stop(): Promise<void>;
}

/** Starts the engine chosen by `GAVEL_MONGO_ENGINE` (default `auto`, or `uri` with `MONGODB_URI`), throw-away storage. */
export function startBenchEngine(): Promise<RunningEngine> {
  const choice = (process.env.GAVEL_MONGO_ENGINE ?? (process.env.MONGODB_URI ? 'uri' : 'auto')) as MongoEngineChoice;
  return startEngine({ choice, purpose: 'test', mongodbUri: process.env.MONGODB_URI, dataDir: '.cache/bench' });
}

/**
 * Starts the engine chosen by `GAVEL_MONGO_ENGINE` (default `auto`) with throw-away storage and a
 * Gavel app on an ephemeral port with command monitoring on.
 */
export async function startBenchEnvironment(env: Record<string, string> = {}): Promise<BenchEnvironment> {
  const engine = await startBenchEngine();
  const app = await startApp(benchAppConfig(engine.uri, env), { monitorCommands: true });
  return {
    engine,
    app,
    stop: async () => {
      await app.database.connection.dropDatabase().catch(() => undefined);
      await app.stop();
      await engine.stop();
    },
  };
}

/**
 * Counts the database commands an app sends while `work` runs (its driver's command monitoring).
 * Background work that is due is done first, so that it does not land in the count: the aggregated
 * audit counts (written every few seconds) and a stale search sample (refreshed by the next page on
 * engines that window sorted pages; a manual clock moved forward makes it stale).
 */
export function commandCounter(app: GavelApp): {
  measure<T>(work: () => Promise<T>): Promise<{ result: T; commands: string[] }>;
} {
  const client = app.database.connection.getClient();
  return {
    async measure(work) {
      await app.services.tracking.flushAuditAggregates();
      await app.services.search.refreshSortWindows();
      const commands: string[] = [];
      const listener = (event: mongo.CommandStartedEvent) => commands.push(event.commandName);
      client.on('commandStarted', listener);
      try {
        return { result: await work(), commands };
      } finally {
        client.off('commandStarted', listener);
      }
    },
  };
}

/** Timing summary in milliseconds. */
export interface Timing {
  readonly median: number;
  readonly p95: number;
  readonly p99: number;
  readonly samples: number;
}

/** Summarizes durations (ms). */
export function summarize(durations: readonly number[]): Timing {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), p99: at(0.99), samples: sorted.length };
}

/** Times operations in turn, run after run, so that machine noise hits all of them alike. */
export async function timeInTurn(operations: ReadonlyArray<() => Promise<unknown>>, runs: number): Promise<Timing[]> {
  for (let i = 0; i < 3; i++) for (const operation of operations) await operation();
  const durations = operations.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [index, operation] of operations.entries()) {
      const start = process.hrtime.bigint();
      await operation();
      durations[index]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return durations.map(summarize);
}

/** Runs `work` `warmup` times unmeasured, then `runs` times measured; returns the timing. */
export async function time(work: () => Promise<unknown>, runs: number, warmup = 3): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await work();
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await work();
    durations.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return summarize(durations);
}

/** Prints a header naming the machine, the engine and the date, as bench/README.md records them. */
export function printHeader(title: string, engine: RunningEngine): void {
  console.log(`\n# ${title}`);
  console.log(
    `date: ${new Date().toISOString()}  machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(`engine: ${engine.description}\n`);
}

/** Prints rows as an aligned Markdown table (paste-able into bench/README.md). */
export function printTable(rows: ReadonlyArray<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0]!);
  const cells = rows.map((row) => headers.map((header) => String(row[header] ?? '')));
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
  const line = (values: string[]) => `| ${values.map((value, index) => value.padEnd(widths[index]!)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of cells) console.log(line(row));
}

/** Formats milliseconds for tables. */
export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

/** Resident memory of a process (a server started by a benchmark), from /proc (kB → bytes). */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/**
 * CPU time a process has used so far (user + system), in ms, from /proc. Unlike a round trip it
 * does not grow when a loaded machine makes the process wait.
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ, 100 on Linux
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / ticksPerSecond;
}

// ------------------------------------------------------------------------------------------------
// Engines started by a script, apps on them, and the sharded engine's placement (bench:sharding,
// bench:grow); API tracking load (bench:ingest and those); loading a catalog and counted events.

/** A database engine a benchmark runs on, started by it or given to it. */
export interface ScriptEngine {
  readonly uri: string;
  /** Stops the engine if this run started it. */
  stop(): Promise<void>;
}

const run = promisify(execFile);
const repoRoot = path.join(__dirname, '..');

/**
 * The engine at `given` (a URI from the environment), or one started for the run with
 * `scripts/<script> start PORT [...args]` (`documentdb.sh`, `documentdb-cluster.sh`), which prints
 * its URI last; stopped at the end only when started here.
 */
export async function scriptEngine(
  given: string | undefined,
  script: 'documentdb.sh' | 'documentdb-cluster.sh',
  port: number,
  args: readonly string[] = [],
): Promise<ScriptEngine> {
  if (given) return { uri: given, stop: async () => undefined };
  const scriptPath = path.join(repoRoot, 'scripts', script);
  const { stdout } = await run('bash', [scriptPath, 'start', String(port), ...args], {
    maxBuffer: 16 * 2 ** 20,
  });
  const uri = stdout.trim().split('\n').at(-1)!;
  return {
    uri,
    stop: async () => {
      await run('bash', [scriptPath, 'stop', String(port)], { maxBuffer: 16 * 2 ** 20 });
    },
  };
}

/** Runs `scripts/<script> <args>` to its end; its output and how long it took. */
export async function runScript(script: string, args: readonly string[]): Promise<{ output: string; ms: number }> {
  const started = Date.now();
  const { stdout, stderr } = await run('bash', [path.join(repoRoot, 'scripts', script), ...args], {
    maxBuffer: 64 * 2 ** 20,
  });
  return { output: `${stdout}${stderr}`, ms: Date.now() - started };
}

/**
 * The configuration of a benchmark's Gavel app on `uri`, in a database of its own unless `env` names
 * one: {@link benchServerSettings} (the load clients' caps lifted, the operator's settings, `env`).
 */
export function benchAppConfig(uri: string, env: Record<string, string> = {}): GavelConfig {
  return loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: uri,
    MONGODB_DB: `bench_${randomBytes(4).toString('hex')}`,
    GAVEL_MONGO_ENGINE: 'uri',
    GAVEL_SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    ...benchServerSettings(env),
  });
}

/**
 * Spawns a benchmark's Gavel server as its own OS process (`src/main.ts`, as in production) on
 * `uri` and the database `database`, with {@link benchServerSettings}; resolves with the process and
 * its GraphQL URL once it is ready. `collectGarbage()` runs a full garbage collection in it and
 * resolves with its `process.memoryUsage()` after it: live memory, not garbage.
 */
export async function spawnBenchServer(
  uri: string,
  database: string,
  env: Record<string, string> = {},
): Promise<{
  server: ServerProcess;
  url: string;
  collectGarbage(): Promise<NodeJS.MemoryUsage>;
  /** Stops the server as an operator would (SIGTERM: it drains, then exits). */
  stop(): Promise<void>;
}> {
  const preload = ['--expose-gc', '--require', path.join(__dirname, 'collectGarbageOnSignal.js')];
  // BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it exits (see printProfile).
  const profileDir = process.env.BENCH_PROFILE;
  if (profileDir) preload.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`);
  const server = spawnServer(
    {
      MONGODB_URI: uri,
      MONGODB_DB: database,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      GAVEL_SEED_DEMO: 'false',
      ...benchServerSettings(env),
    },
    preload,
  );
  const collectGarbage = async (): Promise<NodeJS.MemoryUsage> => {
    const reports = () => server.output().match(/^bench-memory .*$/gm)?.length ?? 0;
    const before = reports();
    server.child.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (reports() === before) {
      if (server.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the server did not report its memory after a GC:\n${server.output().slice(-2_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return JSON.parse(
      server
        .output()
        .match(/^bench-memory (.*)$/gm)!
        .at(-1)!
        .slice('bench-memory '.length),
    );
  };
  const stop = async () => {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await server.exited;
  };
  return { server, url: await waitForReady(server), collectGarbage, stop };
}

/**
 * A benchmark's server process (see {@link spawnBenchServer}) on `uri` in a fresh database named
 * after `prefix`, holding `items` demo items (catalog `seed`), and a connection of the benchmark's
 * own to that database; `stop` stops the server, then drops the database.
 */
export async function spawnCatalogServer(
  uri: string,
  prefix: string,
  items: number,
  { env = {}, seed }: { env?: Record<string, string>; seed?: number } = {},
) {
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  // The server first: its start creates the collections and their indexes, so no insert races a creation.
  const server = await spawnBenchServer(uri, database, env);
  const connection = await mongoose.createConnection(uri, { dbName: database }).asPromise();
  await createAuctionItemRepository(connection).insertMany(generateDemoCatalog(items, new Date(), seed));
  const itemIds = (await auctionItemModel(connection).find({}, { _id: 1 }).lean().exec()).map((item) => item._id);
  return {
    ...server,
    connection,
    itemIds,
    async stop() {
      await server.stop();
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}

/**
 * POSTs a GraphQL operation as a load client; resolves with its data. A refusal by a rate cap
 * throws {@link CapReached} naming it; any other error throws with the errors.
 */
export async function graphqlRequest<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: T | null;
    errors?: Array<{ message?: string; extensions?: { code?: string } }>;
  };
  throwIfRefused({ status: response.status, errors: body.errors });
  if (body.errors || !body.data) throw new Error(`${url}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** A Gavel app on an engine that runs already; `stop` drops its database, then stops the app. */
export interface BenchApp {
  readonly app: GavelApp;
  stop(): Promise<void>;
}

/** Starts a Gavel app on `uri` (command monitoring on), as {@link startBenchEnvironment} does on its own engine. */
export async function startBenchApp(uri: string, env: Record<string, string> = {}): Promise<BenchApp> {
  const app = await startApp(benchAppConfig(uri, env), { monitorCommands: true });
  return {
    app,
    stop: async () => {
      await app.database.connection.dropDatabase().catch(() => undefined);
      await app.stop();
    },
  };
}

/** The load average of the machine (1, 5, 15 min), for the figures' notes. */
export const loadAverage = (): string =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** The browser user agent of the benchmarks' tracking clients (tracking counts no bots). */
export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
/** Every tracking source. */
export const TRACKING_SOURCES = ['SEARCH', 'ITEM_PAGE', 'RECOMMENDATION', 'HOME', 'EXTERNAL', 'OTHER'] as const;

/** One impression or click as a tracking client sends it. */
export interface TrackingInput {
  readonly itemId: string;
  readonly sessionId: string;
  readonly source: string;
  readonly position?: number;
}

/** What one `trackImpressions` or `trackClicks` request came back with. */
export interface TrackingBatchResult {
  /** Events the answer says were counted (0 when the request failed). */
  readonly accepted: number;
  /** Each event's outcome, in input order (empty when the request failed). */
  readonly outcomes: readonly string[];
  /** Round trip, ms. */
  readonly latency: number;
  /** Why the request failed: the first error's code, `HTTP <status>`, or `NETWORK <message>`. */
  readonly error?: string;
}

const trackingMutations = { impressions: print(TrackImpressionsDocument), clicks: print(TrackClicksDocument) };

/**
 * Sends one tracking request (`trackImpressions` or `trackClicks`) with a browser's user agent. A
 * failed request (an overloaded server's SERVICE_UNAVAILABLE, a network error) is reported in
 * `error`, not thrown: a benchmark counts and reports them. A refusal by a rate cap — the request's
 * or an event's — throws {@link CapReached} naming the cap: the load was not meant to meet one.
 */
export async function sendTrackingBatch(
  url: string,
  kind: 'impressions' | 'clicks',
  events: readonly TrackingInput[],
): Promise<TrackingBatchResult> {
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e6;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': BROWSER_USER_AGENT },
      body: JSON.stringify({ query: trackingMutations[kind], variables: { events } }),
    });
    type Answer = { accepted: number; events: Array<{ outcome: string; reason?: string | null }> };
    const body = (await response.json()) as {
      data?: { trackImpressions?: Answer; trackClicks?: Answer } | null;
      errors?: Array<{ message?: string; extensions?: { code?: string } }>;
    };
    const latency = elapsed();
    throwIfRefused({ status: response.status, errors: body.errors });
    const answer = body.data?.trackImpressions ?? body.data?.trackClicks;
    if (answer) throwIfEventsLimited(answer.events);
    if (body.errors || !answer)
      return {
        accepted: 0,
        outcomes: [],
        latency,
        error: body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}`,
      };
    return { accepted: answer.accepted, outcomes: answer.events.map((event) => event.outcome), latency };
  } catch (error) {
    if (error instanceof CapReached) throw error;
    return { accepted: 0, outcomes: [], latency: elapsed(), error: `NETWORK ${(error as Error).message}` };
  }
}

/**
 * Runs `client(index, deadline)` on `clients` concurrent clients until `seconds` have passed; each
 * returns how many events it had counted.
 */
export async function runConcurrentClients(
  clients: number,
  seconds: number,
  client: (index: number, deadline: number) => Promise<number>,
): Promise<{ events: number; seconds: number }> {
  const start = Date.now();
  const deadline = start + seconds * 1000;
  const counts = await Promise.all(Array.from({ length: clients }, (_, index) => client(index, deadline)));
  return { events: counts.reduce((a, b) => a + b, 0), seconds: (Date.now() - start) / 1000 };
}

/**
 * The demo catalog with popularity as the periodic refresh leaves it: a fifth of the items ranked,
 * skewed (few very popular, many at a few impressions, ties everywhere), the rest at 0.
 */
export function benchCatalog(count: number): NewAuctionItem[] {
  return generateDemoCatalog(count, new Date()).map((item, index) => ({
    ...item,
    popularity: index % 5 === 0 ? Math.floor(1_000 / (1 + ((index / 5) % 997))) : 0,
  }));
}

/** A first page bench:search and bench:search-api measure, as the repository's query and as the API's variables. */
export interface FirstPageCase {
  /** The order's GraphQL name (`CREATED_AT`, ...). */
  readonly order: string;
  /** `status ACTIVE` (the web app's view) or `none`. */
  readonly filter: string;
  /** The repository's query: page size + 1, to know whether more follow. */
  readonly page: PageQuery;
  /** The web app's search document's variables for the same page. */
  readonly variables: Record<string, unknown>;
}

/** Every stored order, DESC, with the web app's `status: ACTIVE` filter and with none. */
export function firstPageCases(pageSize: number): FirstPageCase[] {
  const orders: Array<[string, Exclude<SortKey, 'relevance'>]> = [
    ['CREATED_AT', 'createdAt'],
    ['PRICE', 'priceAmount'],
    ['ENDS_AT', 'endsAt'],
    ['POPULARITY', 'popularity'],
  ];
  return orders.flatMap(([order, key]) =>
    (
      [
        ['status ACTIVE', [AuctionStatus.ACTIVE]],
        ['none', undefined],
      ] as const
    ).map(([filter, statuses]) => ({
      order,
      filter,
      page: { search: { words: [], statuses }, order: { key, direction: -1 as const }, limit: pageSize + 1 },
      variables: {
        filter: statuses ? { status: statuses } : undefined,
        orderBy: { field: order, direction: 'DESC' },
        first: pageSize,
      },
    })),
  );
}

/**
 * Loads a large catalog as bench:search's bulk load does: the secondary indexes dropped, the items
 * inserted through the repository in batches of 5,000, the indexes built again (DocumentDB builds
 * indexes faster after a bulk insert than it maintains them during one). Seconds taken.
 */
export async function loadCatalogInBulk(connection: Connection, items: readonly NewAuctionItem[]): Promise<number> {
  const started = Date.now();
  const repository = createAuctionItemRepository(connection);
  await auctionItemModel(connection).collection.dropIndexes();
  for (let offset = 0; offset < items.length; offset += 5_000)
    await repository.insertMany(items.slice(offset, offset + 5_000));
  await repository.ensureIndexes();
  return (Date.now() - started) / 1000;
}

/** How {@link loadCountedEvents} spreads its events. */
export interface CountedEventLoad {
  /** How many events. */
  readonly events: number;
  /** The first day (UTC midnight) they fall in. */
  readonly from: Date;
  /** Over how many days, uniformly. */
  readonly days: number;
  /** Put in every dedup key: a second load on the same items needs another label. */
  readonly label?: string;
  /**
   * Chunks inserted at once (default 2). 1 for a single item: concurrent inserts of one item's
   * events into the unique `{ itemId, dedupKey }` index crash DocumentDB 0.106 (bench/README.md).
   */
  readonly insertsInFlight?: number;
  /** Events per `insertMany` (default 10,000). */
  readonly chunk?: number;
  /** No chunk is started after this time (ms since the epoch): the load may end short. */
  readonly deadline?: number;
}

/** Events per `insertMany`, and per rollup upsert batch (as one large tracking flush would write them). */
const LOAD_CHUNK = 10_000;
/**
 * Event chunks being inserted at once. Two keep the engine busy while this process generates the
 * next chunk and writes the previous chunk's rollups; more only queue up on two cores.
 */
const LOAD_INSERTS_IN_FLIGHT = 2;
const LOAD_SESSIONS = 1_000;
const LOAD_USERS = 300;

/**
 * Writes counted events (90 % impressions, 10 % clicks, every source, 1,000 sessions, a user on 30 %)
 * spread uniformly over `items` and the days, straight into `tracking_events` with insertMany in
 * chunks, and the rollups the tracking flush would have written for them (hour × source counters,
 * session and user sketches per item-day). The same seed, so two engines get the same events.
 * Returns how many it wrote (fewer than asked when the deadline passed).
 */
export async function loadCountedEvents(
  connection: Connection,
  items: ReadonlyArray<{ _id: Types.ObjectId; category: string }>,
  {
    events: total,
    from,
    days,
    label = '',
    insertsInFlight = LOAD_INSERTS_IN_FLIGHT,
    chunk = LOAD_CHUNK,
    deadline = Infinity,
  }: CountedEventLoad,
): Promise<number> {
  const random = seededRandom(5);
  const events = trackingEventModel(connection).collection;
  const repository = createTrackingRepository(connection);
  // Unique sketches as the tracking writer writes them: merged in memory, once a second.
  const sketches = new SketchWriter(repository, 1_000, createLogger('silent'), () => undefined);
  const categories = new Map(items.map((item) => [item._id, item.category]));
  let itemDays = 0;
  const span = days * DAY_MS;
  const inserts: Array<Promise<unknown>> = [];
  let written = 0;
  for (let offset = 0; offset < total && Date.now() < deadline; offset += chunk) {
    const docs: TrackingEventRecord[] = [];
    for (let i = offset; i < Math.min(total, offset + chunk); i++) {
      const item = items[Math.floor(random() * items.length)]!;
      const type = random() < 0.9 ? EventType.IMPRESSION : EventType.CLICK;
      const source = TRACKING_SOURCES[Math.floor(random() * TRACKING_SOURCES.length)]!;
      const sessionId = `session-${Math.floor(random() * LOAD_SESSIONS)}`;
      const userId = random() < 0.3 ? `user-${Math.floor(random() * LOAD_USERS)}` : undefined;
      const receivedAt = new Date(from.getTime() + Math.floor(random() * span));
      docs.push({
        _id: new Types.ObjectId(),
        type,
        itemId: item._id,
        sessionId,
        ...(userId ? { userId } : {}),
        source,
        position: i % 50,
        receivedAt,
        ip: '127.0.0.1',
        userAgent: 'Mozilla/5.0 (bench)',
        outcome: TrackingOutcome.ACCEPTED,
        dedupKey: `${type}:${sessionId}:${item._id.toHexString()}:${label}${i}`,
      });
    }
    const inserted = events.insertMany(docs, { ordered: false });
    // Handled here so that a failure waiting its turn is not reported as unhandled; awaited below.
    inserted.catch(() => undefined);
    inserts.push(inserted);
    // The rollups exactly as the tracking flush writes them, one batch at a time: concurrent batches
    // upserting the same item-days in different orders can deadlock on an engine with row locks.
    const counted = docs.map((event) => ({ event, category: categories.get(event.itemId!) }));
    const increments = itemDayIncrements(counted);
    await repository.incrementItemDays(increments);
    await sketches.add(itemDaySketches(counted));
    itemDays += increments.length;
    written += docs.length;
    if (inserts.length >= insertsInFlight) await inserts.shift();
  }
  await Promise.all(inserts);
  await sketches.close();
  console.log(`rollups: ${itemDays.toLocaleString('en')} (item, day) upserts`);
  return written;
}

/**
 * One line about a query's plan from `explain` with `executionStats`, whatever the engine's
 * layout (mongod nests the stages under `queryPlanner` or `stages`, DocumentDB under `stages`, the
 * sharded DocumentDB each shard's under `shards`): the stages of the winning plan with their
 * index, and the most documents any stage examined (keys are left out: DocumentDB does not report
 * them for every kind of index scan).
 */
export function planSummary(explain: unknown): string {
  const stages: string[] = [];
  let docs = 0;
  const walk = (node: unknown, inWinningPlan: boolean): void => {
    if (Array.isArray(node)) return node.forEach((child) => walk(child, inWinningPlan));
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (inWinningPlan && typeof record.stage === 'string')
      stages.push(typeof record.indexName === 'string' ? `${record.stage} ${record.indexName}` : record.stage);
    if (typeof record.totalDocsExamined === 'number') docs = Math.max(docs, record.totalDocsExamined);
    for (const [key, child] of Object.entries(record)) walk(child, inWinningPlan || key === 'winningPlan');
  };
  walk(explain, false);
  if (stages.length === 0) return 'no plan in the explain output';
  return `${[...new Set(stages)].join(', ')}; ${docs.toLocaleString('en')} documents examined`;
}

/** Rows of one shard of a sharded collection on the distributed DocumentDB, and the worker holding it. */
export interface ShardRows {
  readonly shardId: number;
  /** The worker's PostgreSQL port. */
  readonly nodePort: number;
  readonly rows: number;
}

/**
 * The PostgreSQL port of a distributed DocumentDB's coordinator: `BENCH_CLUSTER_PG_PORT`, or what
 * `scripts/documentdb-cluster.sh` recorded in the cluster's folder (`/tmp/gavel-ddbd/<port>/pg-port`),
 * or the script's default, the gateway's port + 4100.
 */
export function coordinatorPort(uri: string): number {
  if (process.env.BENCH_CLUSTER_PG_PORT) return Number(process.env.BENCH_CLUSTER_PG_PORT);
  const port = /@[^:/]+:(\d+)/.exec(uri)?.[1] ?? /\/\/[^:/]+:(\d+)/.exec(uri)?.[1];
  if (!port) throw new Error(`no port in ${uri}`);
  try {
    return Number(readFileSync(`/tmp/gavel-ddbd/${port}/pg-port`, 'utf8').trim());
  } catch {
    return Number(port) + 4_100;
  }
}

/** Runs SQL on the coordinator as `postgres` (psql, unaligned, tuples only); the rows' fields. */
export async function coordinatorSql(pgPort: number, sql: string): Promise<string[][]> {
  const { stdout } = await run(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'psql',
      '-h',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-d',
      'postgres',
      '-AtF',
      '\t',
      '-c',
      sql,
    ],
    { maxBuffer: 16 * 2 ** 20 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

/** The table (`documentdb_data.documents_<id>`) that holds a collection on the distributed DocumentDB. */
export async function collectionTable(pgPort: number, database: string, collection: string): Promise<string> {
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const rows = await coordinatorSql(
    pgPort,
    `SELECT collection_id FROM documentdb_api_catalog.collections WHERE database_name = ${quote(database)} AND collection_name = ${quote(collection)}`,
  );
  if (!rows[0]) throw new Error(`no collection ${database}.${collection} on the coordinator`);
  return `documentdb_data.documents_${rows[0][0]}`;
}

/** Rows in each shard of a collection, and the worker holding each shard (`citus_shards`). */
export async function shardRows(pgPort: number, database: string, collection: string): Promise<ShardRows[]> {
  const table = await collectionTable(pgPort, database, collection);
  const rows = await coordinatorSql(
    pgPort,
    `SELECT s.shardid, s.nodeport, r.result FROM run_command_on_shards('${table}', 'SELECT count(*) FROM %s') r ` +
      `JOIN citus_shards s USING (shardid) ORDER BY s.shardid`,
  );
  return rows.map(([shardId, nodePort, count]) => ({
    shardId: Number(shardId),
    nodePort: Number(nodePort),
    rows: Number(count),
  }));
}

/** Sums shard rows per worker (PostgreSQL port → rows, shards), in port order. */
export function rowsPerWorker(shards: readonly ShardRows[]): Map<number, { rows: number; shards: number }> {
  const workers = new Map<number, { rows: number; shards: number }>();
  for (const shard of [...shards].sort((a, b) => a.nodePort - b.nodePort)) {
    const worker = workers.get(shard.nodePort) ?? { rows: 0, shards: 0 };
    workers.set(shard.nodePort, { rows: worker.rows + shard.rows, shards: worker.shards + 1 });
  }
  return workers;
}

/**
 * CPU time (ms) of each process of an engine that `scripts/documentdb.sh` or
 * `scripts/documentdb-cluster.sh` started in `dataDir` (`/tmp/gavel-ddb/<port>`,
 * `/tmp/gavel-ddbd/<port>`), by role: `gateway`, and each PostgreSQL node by its folder (`pg`;
 * `coord`, `worker1`, ...), its postmaster with every backend (live ones, and those that exited).
 * Empty when the folder is not there (an engine given by URI). Read twice, the difference says which
 * node a workload costs what.
 */
export function engineCpu(dataDir: string): Map<string, number> {
  const cpu = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync(dataDir);
  } catch {
    return cpu;
  }
  const ticks = (pid: number, withChildren: boolean): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime; cutime, cstime (children that exited and were waited for)
      const own = Number(fields[11]) + Number(fields[12]);
      return withChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
    } catch {
      return 0;
    }
  };
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const pidIn = (file: string) => Number(readFileSync(file, 'utf8').split('\n')[0]);
  for (const entry of entries) {
    try {
      if (entry === 'gateway.pid') cpu.set('gateway', ticks(pidIn(path.join(dataDir, entry)), true) * 10);
      else if (existsSync(path.join(dataDir, entry, 'postmaster.pid'))) {
        const postmaster = pidIn(path.join(dataDir, entry, 'postmaster.pid'));
        const children = parents.get(postmaster) ?? [];
        cpu.set(entry, (ticks(postmaster, true) + children.reduce((sum, pid) => sum + ticks(pid, false), 0)) * 10);
      }
    } catch {
      // a node that is not running
    }
  }
  return cpu;
}

/**
 * PostgreSQL backends of an engine started by the scripts (see {@link engineCpu}) that died of a
 * signal so far (`terminated by signal` in its logs): a crash restarts the node and fails what ran on it.
 */
export function engineCrashes(dataDir: string): string[] {
  const crashes: string[] = [];
  let logs: string[];
  try {
    logs = readdirSync(path.join(dataDir, 'log')).filter((name) => name.endsWith('.log'));
  } catch {
    return crashes;
  }
  for (const log of logs)
    for (const line of readFileSync(path.join(dataDir, 'log', log), 'utf8').split('\n'))
      if (/terminated by signal/.test(line)) crashes.push(`${log}: ${line}`);
  return crashes;
}

/** CPU ms per role between two {@link engineCpu} readings. */
export function cpuBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Map<string, number> {
  return new Map([...after].map(([role, ms]) => [role, ms - (before.get(role) ?? 0)]));
}

/**
 * Runs `work` under the V8 CPU profiler when `BENCH_PROFILE` is set, writes the profile there
 * (`<name>.cpuprofile`, for Chrome DevTools) and prints the functions with the most own time;
 * otherwise just runs it. The bench's server runs in its process, so this profiles both sides.
 */
export async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return work();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    printProfile(file);
  }
}

/** Prints the 15 functions with the most own time in the V8 CPU profile `file`. */
export function printProfile(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples?: number[];
    timeDeltas?: number[];
  };
  const selfMs = new Map<string, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, index) => {
    const frame = byId.get(id)!.callFrame;
    const where = `${frame.functionName || '(anonymous)'} ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
    selfMs.set(where, (selfMs.get(where) ?? 0) + (deltas[index] ?? 0) / 1000);
  });
  const top = [...selfMs].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`\nCPU profile ${file}, most own time:`);
  for (const [where, ms] of top) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${where}`);
}
