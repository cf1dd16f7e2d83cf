/**
 * The offline MongoDB engine: mongo-java-server run as a child process through
 * `engine/java/Launcher.java`, with jars fetched by `scripts/fetch-engine-jars.sh`.
 *
 * It speaks the wire protocol on a loopback port, so mongoose talks to it as to `mongod`. Its gaps
 * (non-unique indexes ignored, TTL never expires, no transactions, no `$text`) are listed in
 * docs/engines.md "The embedded engines".
 */
import { execFile, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../shared/repoRoot';
import type { EngineHealth } from './supervisor';

/** Durability of an `h2` engine's acknowledged writes; see {@link JavaServerOptions.durability}. */
export type EngineDurability = 'fsync' | 'commit' | 'none';

/** Options of {@link startJavaServer}. */
export interface JavaServerOptions {
  /** `memory` loses everything on stop (tests); `h2` keeps data in {@link dataFile}. */
  readonly backend: 'memory' | 'h2';
  /** H2 MVStore file, required for `h2`; relative paths resolve against `process.cwd()`. */
  readonly dataFile?: string;
  /**
   * What an `h2` write waits for before the engine answers it (see docs/engines.md "What
   * survives what"): `fsync`
   * (default) commits the store and forces it to disk, surviving an engine kill and a power loss;
   * `commit` writes it to the file (OS cache), surviving an engine kill; `none` leaves it to the
   * store's background commit about once a second (the old behaviour; benchmarks only).
   */
  readonly durability?: EngineDurability;
  /** Loopback port to listen on; 0 or omitted picks a free one. */
  readonly port?: number;
  /**
   * Wire version the server reports: 21 (MongoDB 7.0, default), 17 (6.0) or 9 (4.4). The MongoDB
   * Node driver 7 refuses anything below 9, which is what mongo-java-server reports by default.
   */
  readonly wireVersion?: 9 | 17 | 21;
  /** How long to wait for the engine to listen before giving up; default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** Enable the engine's oplog so change streams work (costs a write per write); default off. */
  readonly oplog?: boolean;
  /** Receives each line the engine writes to stderr (its warnings and errors), e.g. for the log. */
  readonly onStderr?: (line: string) => void;
}

/** A started MongoDB engine. */
export interface RunningEngine {
  /** Connection string without a database name; callers choose the database. */
  readonly uri: string;
  /** Short engine name as in `GAVEL_MONGO_ENGINE`, here `java`. */
  readonly name: string;
  /** Human description for the startup log, e.g. "mongo-java-server 1.47.0 (memory backend, wire 21)". */
  readonly description: string;
  /** Stops the engine and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Set when Gavel supervises the engine process (the embedded engine serving data): whether it
   * is up right now, and its exits and restarts. Unset for external databases.
   */
  readonly health?: EngineHealth;
}

/** A running mongo-java-server: a {@link RunningEngine} plus the JVM's process id (for diagnostics and tests). */
export interface RunningJavaEngine extends RunningEngine {
  /** Process id of the `java` child. */
  readonly pid: number;
  /** Loopback port it listens on (a restart reuses it, so connection strings stay valid). */
  readonly port: number;
  /** Resolves, with e.g. "killed by SIGKILL", once the process has exited for whatever reason. */
  readonly exited: Promise<string>;
}

/** The one line Launcher.java prints on stdout once it listens. */
const READY_LINE = /^GAVEL_ENGINE_READY port=(\d+)$/;
const DEFAULT_START_TIMEOUT_MS = 30_000;
/** Graceful shutdown closes netty and the H2 store; past this the child is killed. */
const STOP_GRACE_MS = 5_000;
/** Launcher.java uses records and switch expressions; mongo-java-server itself needs 17. */
const MIN_JAVA_MAJOR = 17;
const STDERR_TAIL_CHARS = 4_000;
const FETCH_HINT = 'run `bash scripts/fetch-engine-jars.sh`';

interface EnginePaths {
  readonly launcher: string;
  readonly libDir: string;
  readonly pom: string;
  readonly stamp: string;
  /** Compiled launchers, one folder per version of Launcher.java and the jars. */
  readonly classesDir: string;
}

function enginePaths(): EnginePaths {
  const javaDir = path.join(repoRoot(), 'engine', 'java');
  const libDir = path.join(javaDir, 'lib');
  return {
    launcher: path.join(javaDir, 'Launcher.java'),
    libDir,
    pom: path.join(javaDir, 'pom.xml'),
    stamp: path.join(libDir, '.complete'),
    classesDir: path.join(repoRoot(), '.cache', 'engine-launcher'),
  };
}

/** `$JAVA_HOME/bin/<tool>` when JAVA_HOME points at a JDK, else `<tool>` from PATH. */
function jdkExecutable(tool: 'java' | 'javac'): string {
  const home = process.env['JAVA_HOME'];
  if (home) {
    const candidate = path.join(home, 'bin', process.platform === 'win32' ? `${tool}.exe` : tool);
    if (existsSync(candidate)) return candidate;
  }
  return tool;
}

function javaExecutable(): string {
  return jdkExecutable('java');
}

/**
 * The folder of Launcher.java compiled against the fetched jars, compiled now if this version has
 * not been yet; undefined when `javac` fails (the engine then runs the source file, which Java
 * compiles in memory on every start: 1–3 s more per start and per supervised restart). The folder
 * is named by the SHA-256 of the source and the jars' stamp, and appears whole (compiled aside,
 * then renamed), so concurrent starts never run a half-written class.
 */
async function compiledLauncher(paths: EnginePaths): Promise<string | undefined> {
  const version = createHash('sha256')
    .update(readFileSync(paths.launcher))
    .update(readFileSync(paths.stamp))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(paths.classesDir, version);
  if (existsSync(path.join(dir, 'Launcher.class'))) return dir;
  let scratch: string | undefined;
  try {
    mkdirSync(paths.classesDir, { recursive: true });
    scratch = mkdtempSync(path.join(paths.classesDir, `${version}-`));
    await promisify(execFile)(
      jdkExecutable('javac'),
      ['-nowarn', '-cp', path.join(paths.libDir, '*'), '-d', scratch, paths.launcher],
      { timeout: 60_000 },
    );
    renameSync(scratch, dir);
    return dir;
  } catch {
    // Another start renamed its copy first (then use it), or the folder is read-only, or javac is
    // missing or failed.
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    return existsSync(path.join(dir, 'Launcher.class')) ? dir : undefined;
  }
}

/** Version of the fetched mongo-java-server, read from its jar name (the pom may be edited). */
function engineVersion(libDir: string): string | undefined {
  for (const file of readdirSync(libDir)) {
    const match = /^mongo-java-server-core-(.+)\.jar$/.exec(file);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

type Availability = { ok: true } | { ok: false; reason: string };

/** Spawning `java -version` costs ~100 ms, so the answer is kept for the process. */
let javaCheck: Availability | undefined;

function checkJava(): Availability {
  if (javaCheck) return javaCheck;
  const java = javaExecutable();
  const result = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 15_000 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    javaCheck = {
      ok: false,
      reason: missing
        ? `java not found (${java === 'java' ? 'not on PATH' : java}); install a JDK ${MIN_JAVA_MAJOR}+ or set JAVA_HOME`
        : `\`${java} -version\` failed: ${result.error.message}`,
    };
    return javaCheck;
  }
  // e.g. `openjdk version "17.0.15" 2025-04-15` or, before Java 9, `java version "1.8.0_392"`.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.stderr);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!Number.isFinite(major)) {
    javaCheck = { ok: false, reason: `could not read the version from \`${java} -version\`: ${result.stderr.trim()}` };
  } else if (major < MIN_JAVA_MAJOR) {
    javaCheck = { ok: false, reason: `${java} is Java ${major}; mongo-java-server needs Java ${MIN_JAVA_MAJOR}+` };
  } else {
    javaCheck = { ok: true };
  }
  return javaCheck;
}

function checkJars(paths: EnginePaths): Availability {
  if (!existsSync(paths.launcher)) return { ok: false, reason: `missing ${paths.launcher}` };
  if (!existsSync(paths.stamp) || !engineVersion(paths.libDir)) {
    return { ok: false, reason: `mongo-java-server jars not fetched into ${paths.libDir}; ${FETCH_HINT}` };
  }
  // The stamp holds the sha256 of the pom the jars came from: an edited pom means stale jars.
  const want = createHash('sha256').update(readFileSync(paths.pom)).digest('hex');
  if (readFileSync(paths.stamp, 'utf8').trim() !== want) {
    return {
      ok: false,
      reason: `mongo-java-server jars in ${paths.libDir} are older than engine/java/pom.xml; ${FETCH_HINT}`,
    };
  }
  return { ok: true };
}

/**
 * Whether {@link startJavaServer} can run here: Java 17+ (JAVA_HOME or PATH) and the jars fetched
 * for the current `engine/java/pom.xml`. Cheap after the first call (the Java check is cached).
 *
 * @returns `{ ok: true }`, or `{ ok: false, reason }` naming what is missing and how to fix it.
 */
export function javaServerAvailable(): { ok: true } | { ok: false; reason: string } {
  const jars = checkJars(enginePaths());
  if (!jars.ok) return jars;
  return checkJava();
}

/** Keeps the last characters of the child's stderr for error messages. */
class Tail {
  private text = '';

  push(line: string): void {
    this.text = (this.text + line + '\n').slice(-STDERR_TAIL_CHARS);
  }

  format(): string {
    const text = this.text.trim();
    return text ? `\n--- engine stderr (tail) ---\n${text}` : ' (no stderr output)';
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
}

/**
 * Lets Node exit while the engine runs: the child then sees EOF on stdin and stops itself, so
 * forgetting {@link RunningEngine.stop} neither hangs the process nor orphans the JVM.
 */
function unrefChild(child: ChildProcessWithoutNullStreams): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    const handle: unknown = stream;
    if (handle && typeof handle === 'object' && 'unref' in handle && typeof handle.unref === 'function') {
      handle.unref();
    }
  }
}

/**
 * Starts mongo-java-server as a child process listening on 127.0.0.1 and resolves once it accepts
 * connections.
 *
 * The child is tied to this process: it exits on {@link RunningEngine.stop} (SIGTERM, SIGKILL after
 * 5 s) and by itself when this process dies, even by SIGKILL, because its stdin pipe closes. With
 * the `h2` backend, every write is committed before it is acknowledged (see
 * {@link JavaServerOptions.durability}), so even a SIGKILL of the engine loses nothing acknowledged.
 *
 * @throws Error naming what is missing (Java, the jars: "run `bash scripts/fetch-engine-jars.sh`")
 *   or, when the engine fails to start or times out, its exit status and stderr tail.
 */
export async function startJavaServer(options: JavaServerOptions): Promise<RunningJavaEngine> {
  const available = javaServerAvailable();
  if (!available.ok) throw new Error(`Cannot start mongo-java-server: ${available.reason}`);
  if (options.backend === 'h2' && !options.dataFile) {
    throw new Error('Cannot start mongo-java-server: the h2 backend needs `dataFile`');
  }

  const paths = enginePaths();
  const wire = options.wireVersion ?? 21;
  const dataFile = options.backend === 'h2' && options.dataFile ? path.resolve(options.dataFile) : undefined;
  const classes = await compiledLauncher(paths);
  const args = [
    // Java expands a trailing `*` in -cp itself, so no shell is involved.
    '-cp',
    [path.join(paths.libDir, '*'), ...(classes ? [classes] : [])].join(path.delimiter),
    classes ? 'Launcher' : paths.launcher,
    '--backend',
    options.backend,
    ...(dataFile ? ['--file', dataFile, '--durability', options.durability ?? 'fsync'] : []),
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--wire',
    String(wire),
    ...(options.oplog ? ['--oplog'] : []),
  ];

  const child = spawn(javaExecutable(), args, { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  const tail = new Tail();
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = describeExit(code, signal);
      resolve();
    });
    // A spawn failure emits 'error' and possibly no 'exit'.
    child.once('error', (error) => {
      exitStatus ??= `failed to spawn: ${error.message}`;
      resolve();
    });
  });
  // Never written to: its only job is to close when this process dies. Ignore EPIPE after the child exits.
  child.stdin.on('error', () => undefined);

  const stderrLines = createInterface({ input: child.stderr });
  stderrLines.on('line', (line) => {
    tail.push(line);
    options.onStderr?.(line);
  });
  const stdoutLines = createInterface({ input: child.stdout });

  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      stdoutLines.on('line', (line) => {
        const match = READY_LINE.exec(line.trim());
        // Later stdout lines are still drained (so the pipe never fills) but ignored.
        if (match?.[1]) resolve(Number(match[1]));
      });
      void exited.then(() =>
        reject(new Error(`mongo-java-server ${exitStatus ?? 'exited'} before it was ready${tail.format()}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`mongo-java-server did not report ready within ${timeoutMs} ms${tail.format()}`)),
        timeoutMs,
      );
    });
  } catch (error) {
    if (exitStatus === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }

  unrefChild(child);
  // Defined once spawned, and a READY line proves it was.
  const pid = child.pid;
  if (pid === undefined) throw new Error('mongo-java-server reported ready without a process id');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitStatus !== undefined) return;
      child.kill('SIGTERM');
      // Ref'd on purpose: with the child unref'd, this timer keeps Node alive until the child has exited.
      const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(killTimer);
    })();
    return stopping;
  };

  const version = engineVersion(paths.libDir) ?? 'unknown version';
  const storage = dataFile
    ? `h2 backend, data in ${dataFile}, durability ${options.durability ?? 'fsync'}`
    : `${options.backend} backend`;
  return {
    pid,
    port,
    exited: exited.then(() => exitStatus ?? 'exited'),
    uri: `mongodb://127.0.0.1:${port}/`,
    name: 'java',
    description: `mongo-java-server ${version} (${storage}, wire ${wire}${options.oplog ? ', oplog' : ''})`,
    stop,
  };
}
