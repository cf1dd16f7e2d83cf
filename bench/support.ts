/**
 * Shared parts of the benchmarks: an engine and a Gavel app started for the run, timing
 * statistics, a database round-trip counter, and the result table.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { mongo } from 'mongoose';
import { startApp, type GavelApp } from '../src/app';
import { loadConfig, type MongoEngineChoice } from '../src/config';
import { startEngine, type RunningEngine } from '../src/db/engine';

/** An engine and an app on it, for one benchmark run. */
export interface BenchEnvironment {
  readonly engine: RunningEngine;
  readonly app: GavelApp;
  /** Stops the app, then the engine. */
  stop(): Promise<void>;
}

/**
 * Server settings for a benchmark whose load clients stand for many users but share one address
 * (and, for some, one session): the per-session, per-address tracking limits and the per-address
 * HTTP request rate lifted, so the benchmark measures the server, not its abuse brakes
 * (`bench:abuse` measures those).
 */
export const LOAD_GENERATOR_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  // The session limit's configured maximum is 10,000,000/min.
  TRACKING_SESSION_EVENTS_PER_MINUTE: '10000000',
  TRACKING_IP_EVENTS_PER_MINUTE: '100000000',
  HTTP_REQUESTS_PER_MINUTE: '0',
});

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
  const app = await startApp(
    loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: engine.uri,
      MONGODB_DB: `bench_${randomBytes(4).toString('hex')}`,
      GAVEL_MONGO_ENGINE: 'uri',
      GAVEL_SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      ...env,
    }),
    { monitorCommands: true },
  );
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
