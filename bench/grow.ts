/**
 * `npm run bench:grow` — issue 20: growing the sharded cluster while Gavel serves. A fresh 2-worker
 * DocumentDB on Citus (`scripts/documentdb-cluster.sh`, port 27220 or BENCH_GROW_PORT), two Gavel
 * instances in processes of their own (`startApp`, MONGODB_SHARDING=on, one database), and
 * BENCH_CLIENTS (default 4) clients tracking on shared items through both: each round a fresh
 * session's impressions of 50 of the BENCH_GROW_ITEMS (default 200) items on one instance, then
 * clicks on 5 of them on the other (the click claims an impression the other instance stored);
 * every tenth round's impressions go to both instances at once (one of each pair is counted, the
 * other is a duplicate). After BENCH_SECONDS_BEFORE (default 15) s of load,
 * `documentdb-cluster.sh add-worker` adds a third worker and rebalances the shards online; the
 * load goes on for BENCH_SECONDS_AFTER (default 15) s after it returns. Then:
 *
 * - every event a client was told was ACCEPTED is stored exactly once (per session, item and type:
 *   acknowledged count = stored count), and nothing else is stored as counted;
 * - failed requests, by code (none expected);
 * - every item's impressions and clicks through the GraphQL API (each instance) = recounts of the
 *   raw events;
 * - the shards of `tracking_events` and `item_days` on all 3 workers (citus_shards);
 * - latency before, during and after the move, and the slowest request during it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import mongoose, { type Types } from 'mongoose';
import { startApp } from '../src/app';
import { createAuctionItemRepository } from '../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { DAY_MS } from '../src/shared/clock';
import { TrackingOutcome } from '../src/tracking/trackingEvent.model';
import {
  benchAppConfig,
  coordinatorPort,
  engineCrashes,
  graphqlRequest,
  loadAverage,
  ms,
  printTable,
  rowsPerWorker,
  runScript,
  scriptEngine,
  sendTrackingBatch,
  shardRows,
  summarize,
  TRACKING_SOURCES,
  type TrackingBatchResult,
  type TrackingInput,
} from './support';

const PORT = Number(process.env.BENCH_GROW_PORT ?? 27220);
const ITEMS = Number(process.env.BENCH_GROW_ITEMS ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const SECONDS_BEFORE = Number(process.env.BENCH_SECONDS_BEFORE ?? 15);
const SECONDS_AFTER = Number(process.env.BENCH_SECONDS_AFTER ?? 15);
const MOVE = process.env.BENCH_GROW_MOVE !== '0';
/** How long the control run (BENCH_GROW_MOVE=0) loads where the move would be. */
const CONTROL_SECONDS = 50;
const IMPRESSIONS_PER_ROUND = 50;
const CLICKS_PER_ROUND = 5;
const BOTH_INSTANCES_EVERY = 10;
const count = (value: number) => value.toLocaleString('en');

/** What an instance process tells the parent. */
interface InstanceMessage {
  readonly url?: string;
  readonly error?: string;
  readonly report?: InstanceReport;
}

/**
 * What an instance saw of its own writes (driver command monitoring): `update` commands on
 * `item_days` (the rollup upserts), and how many of their statements the engine answered as
 * applied (`n`: matched or upserted) — fewer than sent means the engine skipped some without an error.
 */
interface InstanceReport {
  readonly rollupUpdates: number;
  readonly rollupStatements: number;
  readonly rollupApplied: number;
  readonly shortReplies: readonly string[];
  /** Errors the engine answered to writes of events and rollups: `<command> <collection> <code>` → how many. */
  readonly writeErrors: Readonly<Record<string, number>>;
  /** The first few of them, with their time and message. */
  readonly errorSamples: readonly string[];
}

/** An instance process: starts Gavel on the database the parent names, reports its URL, stops when told. */
async function instance(): Promise<void> {
  const app = await startApp(
    benchAppConfig(process.env.BENCH_GROW_URI!, {
      MONGODB_DB: process.env.BENCH_GROW_DB!,
      MONGODB_SHARDING: 'on',
      GAVEL_INSTANCE_ID: process.env.BENCH_GROW_INSTANCE!,
    }),
    { monitorCommands: true },
  );
  const report = {
    rollupUpdates: 0,
    rollupStatements: 0,
    rollupApplied: 0,
    shortReplies: [] as string[],
    writeErrors: {} as Record<string, number>,
    errorSamples: [] as string[],
  };
  const sent = new Map<number, number>();
  const names = new Map<number, string>();
  const noteError = (name: string, code: unknown, message: unknown) => {
    const key = `${name} ${String(code)}`;
    report.writeErrors[key] = (report.writeErrors[key] ?? 0) + 1;
    if (report.errorSamples.length < 20 && code !== 11000)
      report.errorSamples.push(`${new Date().toISOString()} ${key}: ${String(message).slice(0, 200)}`);
  };
  const client = app.database.connection.getClient();
  client.on('commandStarted', (event) => {
    const collection = event.command[event.commandName];
    if (['insert', 'update', 'findAndModify'].includes(event.commandName) && typeof collection === 'string')
      names.set(event.requestId, `${event.commandName} ${collection}`);
    if (event.commandName === 'update' && event.command.update === 'item_days')
      sent.set(event.requestId, (event.command.updates as unknown[]).length);
  });
  client.on('commandFailed', (event) => {
    const name = names.get(event.requestId);
    names.delete(event.requestId);
    sent.delete(event.requestId);
    if (name) noteError(`${name} (command failed)`, (event.failure as { code?: unknown }).code, event.failure.message);
  });
  client.on('commandSucceeded', (event) => {
    const name = names.get(event.requestId);
    names.delete(event.requestId);
    const errors = (event.reply as { writeErrors?: Array<{ code?: number; errmsg?: string }> }).writeErrors ?? [];
    if (name) for (const error of errors) noteError(name, error.code, error.errmsg);
    const statements = sent.get(event.requestId);
    if (statements === undefined) return;
    sent.delete(event.requestId);
    const reply = event.reply as { n?: number; nModified?: number; upserted?: unknown[]; writeErrors?: unknown[] };
    report.rollupUpdates++;
    report.rollupStatements += statements;
    report.rollupApplied += reply.n ?? 0;
    if ((reply.n ?? 0) + (reply.writeErrors?.length ?? 0) < statements)
      report.shortReplies.push(
        `${new Date().toISOString()} ${statements} sent, n ${reply.n}, nModified ${reply.nModified}, upserted ${reply.upserted?.length ?? 0}, errors ${reply.writeErrors?.length ?? 0}`,
      );
  });
  process.on('message', (message) => {
    if (message === 'report') process.send!({ report } satisfies InstanceMessage);
    else void app.stop().finally(() => process.exit(0));
  });
  process.send!({ url: app.url } satisfies InstanceMessage);
}

/** Asks an instance process for its {@link InstanceReport}. */
function reportOf(child: ChildProcess): Promise<InstanceReport> {
  return new Promise((resolve) => {
    const listener = (message: InstanceMessage) => {
      if (!message.report) return;
      child.off('message', listener);
      resolve(message.report);
    };
    child.on('message', listener);
    child.send('report');
  });
}

/** Forks an instance process; resolves with it and its URL once it is ready. */
function startInstance(name: string, uri: string, database: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(__filename, [], {
    env: { ...process.env, BENCH_GROW_INSTANCE: name, BENCH_GROW_URI: uri, BENCH_GROW_DB: database },
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: InstanceMessage) =>
      message.url ? resolve({ child, url: message.url }) : reject(new Error(`${name}: ${message.error}`)),
    );
    child.once('exit', (code) => reject(new Error(`instance ${name} exited (${code}) before it was ready`)));
  });
}

/** One request a client sent, for the latency and failure tables. */
interface Request {
  readonly start: number;
  readonly latency: number;
  readonly accepted: number;
  readonly error?: string;
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  console.log(`\n# bench:grow — a third worker added under tracking load from two Gavel instances`);
  console.log(
    `date: ${new Date().toISOString()}  Node ${process.version}  load average at start: ${loadAtStart}\n` +
      `${ITEMS} shared items, ${CLIENTS} clients; each round ${IMPRESSIONS_PER_ROUND} impressions on one instance, ` +
      `${CLICKS_PER_ROUND} clicks on the other, every ${BOTH_INSTANCES_EVERY}th round's impressions on both\n`,
  );
  // A fresh cluster: its worker count is fixed at the first start, and this run adds one.
  const dataDir = `/tmp/gavel-ddbd/${PORT}`;
  await runScript('documentdb-cluster.sh', ['stop', String(PORT)]).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
  const engine = await scriptEngine(undefined, 'documentdb-cluster.sh', PORT, ['2']);
  const pgPort = coordinatorPort(engine.uri);
  const database = `grow_${randomBytes(4).toString('hex')}`;
  const instances: ChildProcess[] = [];
  let connection: mongoose.Connection | undefined;
  try {
    // The first instance shards the collections; the second finds them sharded.
    const a = await startInstance('grow-a', engine.uri, database);
    instances.push(a.child);
    const b = await startInstance('grow-b', engine.uri, database);
    instances.push(b.child);
    const urls = [a.url, b.url] as const;
    connection = await mongoose.createConnection(engine.uri, { dbName: database }).asPromise();
    await createAuctionItemRepository(connection).insertMany(generateDemoCatalog(ITEMS, new Date()));
    const itemIds = (
      await connection
        .collection('auction_items')
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((item) => (item._id as Types.ObjectId).toHexString());
    const before = {
      events: rowsPerWorker(await shardRows(pgPort, database, 'tracking_events')),
      days: rowsPerWorker(await shardRows(pgPort, database, 'item_days')),
    };
    console.log(
      `cluster on ${PORT}: tracking_events shards per worker ${[...before.events].map(([port, w]) => `${port}: ${w.shards}`).join(', ')}\n`,
    );

    // The load: what each client was told, per (type, session, item), and every request's timing.
    const t0 = Date.now();
    const acknowledged = new Map<string, number>();
    const told = { impressions: 0, clicks: 0, duplicates: 0 };
    const requests: Request[] = [];
    let stop = false;
    const record = (result: TrackingBatchResult, start: number, kind: 'I' | 'C', events: readonly TrackingInput[]) => {
      requests.push({ start: start - t0, latency: result.latency, accepted: result.accepted, error: result.error });
      result.outcomes.forEach((outcome, index) => {
        if (outcome === TrackingOutcome.DUPLICATE) told.duplicates++;
        if (outcome !== TrackingOutcome.ACCEPTED) return;
        const key = `${kind}|${events[index]!.sessionId}|${events[index]!.itemId}`;
        acknowledged.set(key, (acknowledged.get(key) ?? 0) + 1);
      });
      if (kind === 'I') told.impressions += result.accepted;
      else told.clicks += result.accepted;
    };
    const client = async (index: number) => {
      for (let round = 0; !stop; round++) {
        const sessionId = `grow-${index}-${round}`;
        const items = [...itemIds].sort(() => Math.random() - 0.5).slice(0, IMPRESSIONS_PER_ROUND);
        const impressions = items.map((itemId, position) => ({
          itemId,
          sessionId,
          source: TRACKING_SOURCES[position % TRACKING_SOURCES.length]!,
          position,
        }));
        const first = (index + round) % 2;
        const targets = round % BOTH_INSTANCES_EVERY === 0 ? [urls[first]!, urls[1 - first]!] : [urls[first]!];
        await Promise.all(
          targets.map(async (url) => {
            const start = Date.now();
            record(await sendTrackingBatch(url, 'impressions', impressions), start, 'I', impressions);
          }),
        );
        const clicks = impressions.slice(0, CLICKS_PER_ROUND);
        const start = Date.now();
        record(await sendTrackingBatch(urls[1 - first]!, 'clicks', clicks), start, 'C', clicks);
      }
    };
    // A client refused by a cap (CapReached) stops the load at once and fails the run below.
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index)));
    clients.catch(() => (stop = true));
    await new Promise((resolve) => setTimeout(resolve, SECONDS_BEFORE * 1000));
    const moveStart = Date.now() - t0;
    // BENCH_GROW_MOVE=0: the same load for as long, without adding a worker (a control run).
    const move = MOVE
      ? await runScript('documentdb-cluster.sh', ['add-worker', String(PORT)])
      : await new Promise<{ output: string; ms: number }>((resolve) =>
          setTimeout(
            () => resolve({ output: 'no worker added (BENCH_GROW_MOVE=0)', ms: CONTROL_SECONDS * 1000 }),
            CONTROL_SECONDS * 1000,
          ),
        );
    const moveEnd = Date.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, SECONDS_AFTER * 1000));
    stop = true;
    await clients;
    const loadEnd = Date.now() - t0;
    console.log(
      `shard transfer mode: ${process.env.DDB_SHARD_TRANSFER_MODE ?? 'auto (logical replication)'}; ` +
        `add-worker took ${(move.ms / 1000).toFixed(1)} s (from ${(moveStart / 1000).toFixed(1)} s to ${(moveEnd / 1000).toFixed(1)} s of the load); ` +
        `its last lines:\n${move.output.trim().split('\n').slice(-4).join('\n')}\n`,
    );

    // Latency and failures before, during and after the move.
    const phases: Array<[string, number, number]> = [
      ['before the move', 0, moveStart],
      ['during the move (add-worker running)', moveStart, moveEnd],
      ['after the move', moveEnd, loadEnd],
    ];
    const phaseRows = phases.map(([phase, from, to]) => {
      // A request belongs to the phases it overlaps.
      const inPhase = requests.filter((r) => r.start < to && r.start + r.latency > from);
      const failures = new Map<string, number>();
      for (const r of inPhase) if (r.error) failures.set(r.error, (failures.get(r.error) ?? 0) + 1);
      const timing = summarize(inPhase.map((r) => r.latency));
      const accepted = inPhase.filter((r) => r.start >= from && r.start < to).reduce((sum, r) => sum + r.accepted, 0);
      return {
        phase,
        seconds: ((to - from) / 1000).toFixed(1),
        requests: count(inPhase.length),
        'counted events/s': count(Math.round(accepted / ((to - from) / 1000))),
        p50: ms(timing.median),
        p99: ms(timing.p99),
        slowest: ms(Math.max(...inPhase.map((r) => r.latency))),
        'failed requests': [...failures].map(([code, n]) => `${n} ${code}`).join(', ') || 'none',
      };
    });
    printTable(phaseRows);
    const during = requests.filter((r) => r.start < moveEnd && r.start + r.latency > moveStart);
    const slowest = during.reduce((worst, r) => (r.latency > worst.latency ? r : worst), during[0]!);
    console.log(
      `\nslowest request during the move: ${ms(slowest.latency)}, sent at ${(slowest.start / 1000).toFixed(1)} s` +
        ` (move from ${(moveStart / 1000).toFixed(1)} to ${(moveEnd / 1000).toFixed(1)} s)\n`,
    );

    // Exactly once: every acknowledged (type, session, item) stored as often as acknowledged.
    const stored = new Map<string, number>();
    const storedByType = { impressions: 0, clicks: 0 };
    const events = connection.collection('tracking_events');
    for await (const event of events.find(
      { outcome: TrackingOutcome.ACCEPTED },
      { projection: { type: 1, sessionId: 1, itemId: 1 } },
    )) {
      const kind = event.type === 'CLICK' ? 'C' : 'I';
      const key = `${kind}|${event.sessionId}|${(event.itemId as Types.ObjectId).toHexString()}`;
      stored.set(key, (stored.get(key) ?? 0) + 1);
      storedByType[kind === 'C' ? 'clicks' : 'impressions']++;
    }
    let lost = 0;
    let extra = 0;
    for (const [key, n] of acknowledged) lost += Math.max(0, n - (stored.get(key) ?? 0));
    for (const [key, n] of stored) extra += Math.max(0, n - (acknowledged.get(key) ?? 0));
    const duplicateKeys = await events
      .aggregate([
        { $match: { outcome: TrackingOutcome.ACCEPTED } },
        { $group: { _id: { itemId: '$itemId', dedupKey: '$dedupKey' }, n: { $sum: 1 } } },
        { $match: { n: { $gt: 1 } } },
        { $limit: 100 },
      ])
      .toArray();

    // Analytics through the API, on each instance, against recounts of the raw events.
    const from = new Date(Math.floor(t0 / DAY_MS) * DAY_MS);
    const to = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS);
    const recount = new Map<string, { impressions: number; clicks: number }>();
    for (const row of await events
      .aggregate<{ _id: { itemId: Types.ObjectId; type: string }; n: number }>([
        { $match: { outcome: TrackingOutcome.ACCEPTED, receivedAt: { $gte: from, $lt: to } } },
        { $group: { _id: { itemId: '$itemId', type: '$type' }, n: { $sum: 1 } } },
      ])
      .toArray()) {
      const id = row._id.itemId.toHexString();
      const entry = recount.get(id) ?? { impressions: 0, clicks: 0 };
      recount.set(id, { ...entry, [row._id.type === 'CLICK' ? 'clicks' : 'impressions']: row.n });
    }
    // Items in a rollup journal entry still open: a flush that failed after storing some events
    // left it, and maintenance rebuilds those buckets from the stored events once their hour has closed.
    const journaled = new Set<string>();
    for (const entry of await connection
      .collection<{ buckets: Array<{ itemId: Types.ObjectId }> }>('rollup_journal')
      .find()
      .toArray())
      for (const bucket of entry.buckets) journaled.add(bucket.itemId.toHexString());
    const analyticsMismatches: string[] = [];
    const mismatchedItems = new Set<string>();
    for (const [name, url] of [
      ['grow-a', urls[0]],
      ['grow-b', urls[1]],
    ] as const) {
      const figures = await allItemAnalytics(url, { from: from.toISOString(), to: to.toISOString() });
      for (const id of itemIds) {
        const api = figures.get(id) ?? { impressions: -1, clicks: -1 };
        const raw = recount.get(id) ?? { impressions: 0, clicks: 0 };
        if (api.impressions !== raw.impressions || api.clicks !== raw.clicks) {
          mismatchedItems.add(id);
          analyticsMismatches.push(
            `${name} ${id}: API ${JSON.stringify(api)}, raw ${JSON.stringify(raw)}${journaled.has(id) ? ' (in an open journal entry)' : ''}`,
          );
        }
      }
    }

    // What the engine answered to the instances' rollup upserts.
    const reports = await Promise.all([reportOf(a.child), reportOf(b.child)]);
    const rollups = {
      updates: reports.reduce((sum, r) => sum + r.rollupUpdates, 0),
      statements: reports.reduce((sum, r) => sum + r.rollupStatements, 0),
      applied: reports.reduce((sum, r) => sum + r.rollupApplied, 0),
      short: reports.flatMap((r) => r.shortReplies),
    };
    const writeErrors = new Map<string, number>();
    for (const r of reports)
      for (const [key, n] of Object.entries(r.writeErrors)) writeErrors.set(key, (writeErrors.get(key) ?? 0) + n);

    // Placement after the move.
    const after = {
      events: rowsPerWorker(await shardRows(pgPort, database, 'tracking_events')),
      days: rowsPerWorker(await shardRows(pgPort, database, 'item_days')),
    };
    const failed = requests.filter((r) => r.error).length;
    const toldTotal = told.impressions + told.clicks;
    const storedTotal = storedByType.impressions + storedByType.clicks;
    const checks = [
      {
        check: 'counted events stored = counted events acknowledged',
        expected: `${count(told.impressions)} impressions + ${count(told.clicks)} clicks = ${count(toldTotal)}`,
        found: `${count(storedByType.impressions)} + ${count(storedByType.clicks)} = ${count(storedTotal)}`,
        ok: storedTotal === toldTotal && storedByType.clicks === told.clicks,
      },
      {
        check: 'each acknowledged (type, session, item) stored as often as acknowledged',
        expected: '0 lost, 0 extra',
        found: `${lost} lost, ${extra} extra`,
        ok: lost === 0 && extra === 0,
      },
      {
        check: 'counted events sharing a dedup key',
        expected: '0',
        found: String(duplicateKeys.length),
        ok: duplicateKeys.length === 0,
      },
      {
        check: 'requests failed',
        expected: '0',
        found: `${failed} of ${count(requests.length)}`,
        ok: failed === 0,
      },
      {
        check: `impressions and clicks of all ${ITEMS} items through the API (both instances) = raw recounts`,
        expected: '0 items differ',
        found:
          `${mismatchedItems.size} items differ (${[...mismatchedItems].filter((id) => journaled.has(id)).length} of them ` +
          `in an open journal entry, to be rebuilt by maintenance; ${journaled.size} items journaled)`,
        ok: mismatchedItems.size === 0,
      },
      {
        check: 'rollup upsert statements the engine answered as applied (n), of those sent',
        expected: count(rollups.statements),
        found: `${count(rollups.applied)} (${count(rollups.updates)} update commands)`,
        ok: rollups.applied === rollups.statements,
      },
      {
        check: 'workers holding shards of tracking_events / item_days',
        expected: MOVE ? '3 / 3' : '2 / 2',
        found: `${after.events.size} / ${after.days.size}`,
        ok: after.events.size === (MOVE ? 3 : 2) && after.days.size === (MOVE ? 3 : 2),
      },
    ];
    printTable(checks.map((row) => ({ ...row, ok: row.ok ? 'yes' : '**NO**' })));
    for (const line of analyticsMismatches.slice(0, 10)) console.log(`  ${line}`);
    for (const line of rollups.short.slice(0, 10)) console.log(`  short reply: ${line}`);
    console.log(
      `\nwrite errors the engine answered to the instances (11000 = duplicate key, the dedup index's answer): ` +
        `${[...writeErrors].map(([key, n]) => `${key} × ${n}`).join(', ') || 'none'}`,
    );
    for (const line of reports.flatMap((r) => r.errorSamples).slice(0, 10)) console.log(`  ${line}`);
    console.log(`\n(the duplicates sent to both instances: ${count(told.duplicates)} answered DUPLICATE)\n`);
    printTable(
      (['events', 'days'] as const).flatMap((kind) =>
        [...after[kind]].map(([port, worker]) => ({
          collection: kind === 'events' ? 'tracking_events' : 'item_days',
          worker: `127.0.0.1:${port}`,
          'shards before': before[kind].get(port)?.shards ?? 0,
          'shards after': worker.shards,
          'rows after': count(worker.rows),
        })),
      ),
    );
    const crashes = engineCrashes(dataDir);
    console.log(`\nengine backends that died of a signal during the run: ${crashes.length}`);
    for (const line of crashes) console.log(`  ${line}`);
    console.log(`\nload average at start ${loadAtStart}, at the end ${loadAverage()}`);
    if (checks.some((row) => !row.ok)) process.exitCode = 1;
  } finally {
    await connection?.close().catch(() => undefined);
    await Promise.all(
      instances.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.send('stop');
          }),
      ),
    );
    await engine.stop().catch((error: unknown) => console.error(error));
    if (process.env.BENCH_KEEP_CLUSTER !== '1') rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A page of items with their analytics, as {@link allItemAnalytics} reads it. */
interface AnalyticsPage {
  auctionItems: {
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{ node: { id: string; analytics: { impressions: number; clicks: number } } }>;
  };
}

/** Impressions and clicks of every item through the API, page after page of 100. */
async function allItemAnalytics(
  url: string,
  range: { from: string; to: string },
): Promise<Map<string, { impressions: number; clicks: number }>> {
  const query = `query ($after: String, $range: TimeRangeInput) {
    auctionItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id analytics(range: $range) { impressions clicks } } }
    }
  }`;
  const figures = new Map<string, { impressions: number; clicks: number }>();
  for (let after: string | null = null; ;) {
    const data: AnalyticsPage = await graphqlRequest<AnalyticsPage>(url, query, { after, range });
    for (const { node } of data.auctionItems.edges) figures.set(node.id, node.analytics);
    if (!data.auctionItems.pageInfo.hasNextPage) return figures;
    after = data.auctionItems.pageInfo.endCursor;
  }
}

(process.env.BENCH_GROW_INSTANCE ? instance() : main()).catch((error: unknown) => {
  console.error(error);
  if (process.env.BENCH_GROW_INSTANCE) process.send?.({ error: String(error) } satisfies InstanceMessage);
  process.exit(1);
});
