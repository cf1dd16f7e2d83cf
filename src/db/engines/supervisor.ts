/**
 * Supervision of the embedded engine: when the mongo-java-server process exits without being
 * asked to, it is started again on the same data file and port, with capped exponential backoff,
 * and everyone listening is told it is down and, later, up again.
 */
import { startJavaServer, type JavaServerOptions, type RunningJavaEngine } from './javaServer';

/** A state change of a supervised engine. */
export type EngineEvent =
  | {
      /** The engine process exited unasked; requests fail fast until it is back. */
      readonly type: 'down';
      /** How it exited, e.g. "killed by SIGKILL" or "exited with code 1". */
      readonly exit: string;
      readonly pid: number;
      /** When the next start is attempted. */
      readonly restartInMs: number;
    }
  | {
      /** A restart succeeded; the engine accepts connections again. */
      readonly type: 'up';
      readonly pid: number;
      /** How long it was down. */
      readonly downMs: number;
      /** Restarts since Gavel started, this one included (e.g. for a metric). */
      readonly restarts: number;
    }
  | {
      /** A restart attempt failed; another follows after `retryInMs`. */
      readonly type: 'restart-failed';
      readonly error: Error;
      readonly retryInMs: number;
    };

/** Whether a supervised engine is up, and its state changes. */
export interface EngineHealth {
  /** False from the moment the engine process exits until a restart reports ready. */
  readonly up: boolean;
  /** Restarts since Gavel started. */
  readonly restarts: number;
  /** Calls `listener` on every state change until the returned function is called. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
}

/** Backoff of the restarts. */
export interface RestartBackoff {
  /** Wait before the first restart attempt; doubles per failed attempt. Default 200 ms. */
  readonly initialMs?: number;
  /** Longest wait between attempts. Default 10 000 ms. */
  readonly maxMs?: number;
}

/** A supervised mongo-java-server: a running engine whose process may be replaced. */
export interface SupervisedJavaEngine extends RunningJavaEngine {
  readonly health: EngineHealth;
}

const DEFAULT_INITIAL_MS = 200;
const DEFAULT_MAX_MS = 10_000;
/** An engine that ran this long before dying starts its backoff afresh; a crash loop keeps doubling. */
const STABLE_AFTER_MS = 30_000;

/**
 * Starts mongo-java-server and keeps it running: an unrequested exit is reported at once
 * (`down`), and the engine is started again on the same options and port after 200 ms, doubling
 * per failed attempt up to 10 s (`restart-failed`), until it is `up`. {@link RunningEngine.stop}
 * stops the engine and the supervision. Data survives restarts because every acknowledged write
 * is committed before it is answered (see `durability`).
 *
 * @throws Error as {@link startJavaServer} when the first start fails (no supervision then).
 */
export async function startSupervisedJavaServer(
  options: JavaServerOptions,
  backoff: RestartBackoff = {},
): Promise<SupervisedJavaEngine> {
  const initialMs = backoff.initialMs ?? DEFAULT_INITIAL_MS;
  const maxMs = backoff.maxMs ?? DEFAULT_MAX_MS;
  let current = await startJavaServer(options);
  const port = current.port;
  let up = true;
  let restarts = 0;
  let stopping = false;
  let startedAt = Date.now();
  let retryTimer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> | undefined;
  const listeners = new Set<(event: EngineEvent) => void>();
  const emit = (event: EngineEvent): void => {
    for (const listener of listeners) listener(event);
  };

  const watch = (engine: RunningJavaEngine): void => {
    void engine.exited.then((exit) => {
      if (stopping || engine !== current) return;
      up = false;
      const downSince = Date.now();
      let delay = Date.now() - startedAt >= STABLE_AFTER_MS ? initialMs : Math.min(initialMs * 2 ** restarts, maxMs);
      emit({ type: 'down', exit, pid: engine.pid, restartInMs: delay });
      const attempt = (): void => {
        retryTimer = undefined;
        if (stopping) return;
        restarting = startJavaServer({ ...options, port }).then(
          (next) => {
            restarting = undefined;
            if (stopping) return next.stop();
            current = next;
            startedAt = Date.now();
            restarts++;
            up = true;
            watch(next);
            emit({ type: 'up', pid: next.pid, downMs: Date.now() - downSince, restarts });
            return undefined;
          },
          (error: unknown) => {
            restarting = undefined;
            if (stopping) return;
            delay = Math.min(delay * 2, maxMs);
            emit({
              type: 'restart-failed',
              error: error instanceof Error ? error : new Error(String(error)),
              retryInMs: delay,
            });
            schedule(delay);
          },
        );
      };
      const schedule = (ms: number): void => {
        retryTimer = setTimeout(attempt, ms);
        // A pending restart must not keep a finished process alive.
        retryTimer.unref();
      };
      schedule(delay);
    });
  };
  watch(current);

  const health: EngineHealth = {
    get up() {
      return up;
    },
    get restarts() {
      return restarts;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  let stopped: Promise<void> | undefined;
  return {
    get pid() {
      return current.pid;
    },
    get exited() {
      return current.exited;
    },
    port,
    uri: current.uri,
    name: current.name,
    description: `${current.description}, restarted on exit`,
    health,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        clearTimeout(retryTimer);
        await restarting;
        await current.stop();
        listeners.clear();
      })();
      return stopped;
    },
  };
}
