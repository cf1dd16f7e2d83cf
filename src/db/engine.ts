import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GavelConfig, MongoEngineChoice } from '../config';
import { javaServerAvailable, startJavaServer, type RunningEngine } from './engines/javaServer';
import { locateMongodBinary, startMemoryServer } from './engines/memoryServer';
import { startSupervisedJavaServer } from './engines/supervisor';
import { repoRoot } from '../shared/repoRoot';

export type { RunningEngine };

/** What the engine is for: `serve` keeps data on disk, `test` is throw-away and in memory. */
export type EnginePurpose = 'serve' | 'test';

/** Inputs of {@link startEngine}. */
export interface StartEngineOptions {
  readonly choice: MongoEngineChoice;
  readonly purpose: EnginePurpose;
  /** Connection string of an external MongoDB (required for `uri`). */
  readonly mongodbUri?: string;
  /** Where `serve` engines keep their files. */
  readonly dataDir: string;
  /** Reports each attempt, e.g. to the startup log. */
  readonly onAttempt?: (message: string) => void;
}

/** Thrown when no engine could be started; the message lists every attempt and the fixes. */
export class EngineUnavailableError extends Error {
  /**
   * @param attempts what was tried and why it failed, one line each
   * @param fixes what would make an engine start, most likely first; the generic choices are added
   */
  constructor(
    readonly attempts: readonly string[],
    fixes: readonly string[] = [],
  ) {
    super(
      [
        'No MongoDB engine could be started. Tried:',
        ...attempts.map((attempt) => `  - ${attempt}`),
        'Fix one of:',
        ...[
          ...fixes,
          'set MONGODB_URI to a running MongoDB (GAVEL_MONGO_ENGINE=uri)',
          'set MONGOMS_SYSTEM_BINARY to a local mongod binary (GAVEL_MONGO_ENGINE=memory-server)',
        ].map((fix) => `  - ${fix}`),
      ].join('\n'),
    );
    this.name = 'EngineUnavailableError';
  }
}

/**
 * The file in an embedded engine's data directory that names the engine serving it, so that a
 * second process (`npm run keys` beside `npm start`) connects to it instead of failing on the
 * data file the engine holds locked.
 */
const RUNNING_ENGINE_FILE = 'engine.json';

interface RunningEngineRecord {
  readonly uri: string;
  /** The Gavel process that started the engine (it removes the record when it stops it). */
  readonly pid: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded engine another Gavel process is serving from `dataDir`, if that process is alive.
 * @returns its connection string and the owner's pid, or undefined
 */
export function findRunningEngine(dataDir: string): RunningEngineRecord | undefined {
  const file = path.join(dataDir, RUNNING_ENGINE_FILE);
  let record: Partial<RunningEngineRecord>;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunningEngineRecord>;
  } catch {
    return undefined;
  }
  if (typeof record.uri !== 'string' || typeof record.pid !== 'number' || !isAlive(record.pid)) return undefined;
  return { uri: record.uri, pid: record.pid };
}

/** Records `engine` as the one serving `dataDir` until it is stopped. */
function advertiseEngine(dataDir: string, engine: RunningEngine): RunningEngine {
  const file = path.join(dataDir, RUNNING_ENGINE_FILE);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ uri: engine.uri, pid: process.pid } satisfies RunningEngineRecord));
  const stop = async (): Promise<void> => {
    if (findRunningEngine(dataDir)?.pid === process.pid) rmSync(file, { force: true });
    await engine.stop();
  };
  // The engine as its prototype, not a copy: live getters (a supervised engine's current pid) stay live.
  return Object.assign(Object.create(engine) as RunningEngine, { stop });
}

/**
 * A failed mongod download takes ~7 s (three DNS retries) on machines without internet; `auto`
 * remembers the failure for a day instead of paying that on every start.
 */
const DOWNLOAD_FAILURE_TTL_MS = 24 * 60 * 60 * 1000;
const downloadFailureMarker = path.join(repoRoot(), 'node_modules', '.cache', 'gavel', 'mongod-download-failed');

function downloadRecentlyFailed(): boolean {
  if (!existsSync(downloadFailureMarker)) return false;
  const failedAt = Number(readFileSync(downloadFailureMarker, 'utf8'));
  return Number.isFinite(failedAt) && Date.now() - failedAt < DOWNLOAD_FAILURE_TTL_MS;
}

function rememberDownloadFailure(): void {
  mkdirSync(path.dirname(downloadFailureMarker), { recursive: true });
  writeFileSync(downloadFailureMarker, String(Date.now()));
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // One line, keeping the cause that some libraries put on a later line.
  return message.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Hides the password of a connection string before it is logged. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

async function startMemoryServerFor(options: StartEngineOptions): Promise<RunningEngine> {
  return startMemoryServer(options.purpose === 'serve' ? { dbPath: path.join(options.dataDir, 'mongod') } : {});
}

/** Serving data, the engine is supervised (restarted when it dies); a test engine is not. */
async function startJavaFor(options: StartEngineOptions): Promise<RunningEngine> {
  return options.purpose === 'serve'
    ? startSupervisedJavaServer({ backend: 'h2', dataFile: path.join(options.dataDir, 'gavel.mv') })
    : startJavaServer({ backend: 'memory' });
}

/**
 * Starts (or, for `uri`, just names) the MongoDB engine chosen by `GAVEL_MONGO_ENGINE`.
 *
 * `auto` prefers the real `mongod`: a system or cached binary first, then one download attempt
 * (remembered when it fails), then the offline engine mongo-java-server. Forced choices try only
 * themselves. Throws {@link EngineUnavailableError} listing what was tried when nothing starts.
 */
export async function startEngine(options: StartEngineOptions): Promise<RunningEngine> {
  const attempts: string[] = [];
  const note = (message: string): void => {
    attempts.push(message);
    options.onAttempt?.(message);
  };

  if (options.choice === 'uri') {
    if (!options.mongodbUri) throw new EngineUnavailableError(['uri: MONGODB_URI is not set']);
    return {
      uri: options.mongodbUri,
      name: 'uri',
      description: `external MongoDB at ${redactUri(options.mongodbUri)}`,
      stop: async () => undefined,
    };
  }

  if (options.choice === 'memory-server' || options.choice === 'auto') {
    const binary = await locateMongodBinary().catch(() => undefined);
    const mayDownload = options.choice === 'memory-server' || !downloadRecentlyFailed();
    if (binary || mayDownload) {
      try {
        return await startMemoryServerFor(options);
      } catch (error) {
        if (!binary) rememberDownloadFailure();
        note(`memory-server (real mongod${binary ? ` at ${binary}` : ', download'}): ${describeError(error)}`);
      }
    } else {
      note('memory-server: no mongod binary cached and a download failed within the last 24 h');
    }
    if (options.choice === 'memory-server') throw new EngineUnavailableError(attempts);
  }

  const java = javaServerAvailable();
  if (!java.ok) {
    note(`java (mongo-java-server): ${java.reason}`);
    throw new EngineUnavailableError(attempts, [
      'install Java 17+ and Maven, then run `bash scripts/fetch-engine-jars.sh` (GAVEL_MONGO_ENGINE=java)',
    ]);
  }
  try {
    return await startJavaFor(options);
  } catch (error) {
    const reason = describeError(error);
    if (/file is locked/i.test(reason)) {
      note(`java (mongo-java-server): its data file in ${options.dataDir} is locked by another process`);
      throw new EngineUnavailableError(attempts, [
        `stop the other Gavel (or engine) process using ${options.dataDir}, or set GAVEL_DATA_DIR to another folder`,
      ]);
    }
    note(`java (mongo-java-server): ${reason}`);
    throw new EngineUnavailableError(attempts);
  }
}

/**
 * Starts the engine the configuration names, keeping data under its `dataDir` (what `npm start`
 * and the CLI tools use); `onAttempt` hears each failed attempt.
 */
export async function startConfiguredEngine(
  config: Pick<GavelConfig, 'mongoEngine' | 'mongodbUri' | 'dataDir'>,
  onAttempt: (message: string) => void,
): Promise<RunningEngine> {
  const engine = await startEngine({
    choice: config.mongoEngine,
    purpose: 'serve',
    mongodbUri: config.mongodbUri,
    dataDir: config.dataDir,
    onAttempt: (message) => onAttempt(`engine attempt failed: ${message}`),
  });
  return engine.name === 'uri' ? engine : advertiseEngine(config.dataDir, engine);
}

/**
 * For tools run beside a server (`npm run keys`): the embedded engine a running Gavel serves from
 * the configured data directory, else one started as {@link startConfiguredEngine} does. With
 * `MONGODB_URI` (GAVEL_MONGO_ENGINE=uri) that database is used as always.
 */
export async function connectConfiguredEngine(
  config: Pick<GavelConfig, 'mongoEngine' | 'mongodbUri' | 'dataDir'>,
  onAttempt: (message: string) => void,
): Promise<RunningEngine> {
  const running = config.mongoEngine === 'uri' ? undefined : findRunningEngine(config.dataDir);
  if (!running) return startConfiguredEngine(config, onAttempt);
  return {
    uri: running.uri,
    name: 'running',
    description: `the embedded engine of the Gavel server with pid ${running.pid} (${config.dataDir})`,
    // Not ours to stop.
    stop: async () => undefined,
  };
}
