import mongoose, { type Connection } from 'mongoose';
import { serviceUnavailable } from '../shared/errors';
import type { EngineHealth } from './engines/supervisor';

/** How long a query waits for a reachable server before failing (so an outage errors, not hangs). */
const SERVER_SELECTION_TIMEOUT_MS = 5_000;

/** An open connection to Gavel's database. */
export interface Database {
  readonly connection: Connection;
  /** True when the server answers a ping within `timeoutMs`; false at once while the engine is known down. */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * Throws a retryable `SERVICE_UNAVAILABLE` at once while a supervised engine is known to be down
   * (it is being restarted), so that requests fail fast instead of waiting out the driver's
   * server-selection timeout. Does nothing otherwise, and always for external databases.
   */
  assertAvailable(): void;
  /** Closes the connection; in-flight operations finish first. */
  close(): Promise<void>;
}

/**
 * The write concern Gavel asks for unless the connection string names one: acknowledged by a
 * majority of a replica set's voting members, each having written it to its on-disk journal, so an
 * acknowledged write survives a failover and a power loss of any minority. On a standalone `mongod`
 * it is its own on-disk journal (WiredTiger); mongo-java-server and DocumentDB accept it, their
 * durability is their own (see docs/engines.md "What survives what").
 */
const DEFAULT_WRITE_CONCERN = { w: 'majority', journal: true } as const;

/** Whether the connection string sets a write concern itself (`w`, `journal`/`j` or `wtimeoutMS`). */
function uriNamesWriteConcern(uri: string): boolean {
  const query = uri.split('?')[1] ?? '';
  return query.split('&').some((pair) => /^(w|journal|j|wtimeoutMS)=/i.test(pair));
}

/** Options of {@link connectDatabase}. */
export interface ConnectOptions {
  /** Emit the driver's command events (benchmarks and tests count round trips). */
  readonly monitorCommands?: boolean;
  /** A supervised engine's health: while it is down, {@link Database.assertAvailable} refuses. */
  readonly health?: EngineHealth;
}

/**
 * Opens a mongoose connection to `dbName` on the server at `uri`. Each call gets its own
 * connection (not mongoose's global one), so several apps or test files can share a process.
 */
export async function connectDatabase(uri: string, dbName: string, options: ConnectOptions = {}): Promise<Database> {
  const { health } = options;
  const connection = mongoose.createConnection(uri, {
    dbName,
    // Emits `commandStarted` on the client: benchmarks and tests count round trips with it.
    monitorCommands: options.monitorCommands ?? false,
    autoIndex: false,
    autoCreate: false,
    serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
    ...(uriNamesWriteConcern(uri) ? {} : { writeConcern: DEFAULT_WRITE_CONCERN }),
  });
  await connection.asPromise();
  return {
    connection,
    ping: async (timeoutMs = 2_000) => {
      const db = connection.db;
      if (health?.up === false || !db || connection.readyState !== 1) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ping = db
        .command({ ping: 1 })
        .then(() => true)
        .catch(() => false);
      try {
        return await Promise.race([ping, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    assertAvailable: () => {
      if (health?.up === false)
        throw serviceUnavailable('The database engine is restarting; retry in a few seconds.', 503);
    },
    close: () => connection.close(),
  };
}

/** Driver errors that mean the database cannot be reached (or is going away) right now. */
const unavailableErrorNames = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoStalePrimaryError',
  'MongoOperationTimeoutError',
]);

/**
 * Node's codes for a socket that broke or never formed: the driver passes some of these on as
 * they are (a reset during a connection's handshake, a write to a closed socket).
 */
const networkErrorCodes = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
]);

/**
 * Server answers meaning "this server cannot serve now" (the driver's retryable read and write
 * codes): host unreachable or not found, network timeout, shutdown in progress, primary stepped
 * down, socket exception, not writable primary, interrupted at shutdown or by a replica-set state
 * change, not primary or secondary, exceeded time limit, majority read concern not yet available.
 */
const unavailableServerCodes = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 134]);

/** Errors nest (`cause`, a bulk write's `errorResponse`); this deep is plenty. */
const MAX_NESTING = 5;

/**
 * Whether an error means "the database cannot be reached right now" (so the request may be
 * retried), as opposed to a rejected operation or a bug: a network-level driver error (a dropped
 * or refused connection, a cleared pool, a server-selection timeout), a socket error the driver
 * passed on as is, or a server saying it cannot serve now; also when wrapped (`cause`).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return unavailableCause(error) !== undefined;
}

/**
 * Whether `error` is an open connection the server reset or dropped (`ECONNRESET`, or the driver's
 * `MongoNetworkError`), also as a cause: DocumentDB's gateway resets connections opened at the same
 * instant, which two instances starting together do. Unlike an unreachable server (a server
 * selection timeout), trying again at once usually works.
 */
export function isConnectionReset(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth <= MAX_NESTING; depth++) {
    if (current.name === 'MongoNetworkError' || (current as NodeJS.ErrnoException).code === 'ECONNRESET') return true;
    if (/\bECONNRESET\b/.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

/**
 * The error that makes `error` a {@link isDatabaseUnavailable} one, described in one line for a
 * log (`MongoNetworkError: read ECONNRESET`); undefined when it is not one.
 */
export function describeUnavailable(error: unknown): string | undefined {
  const cause = unavailableCause(error);
  return cause && `${cause.name}: ${cause.message}`;
}

function unavailableCause(error: unknown, depth = 0): Error | undefined {
  if (!(error instanceof Error) || depth > MAX_NESTING) return undefined;
  if (unavailableErrorNames.has(error.name)) return error;
  // Mongoose queues model operations while disconnected (an engine restart) and gives up after
  // its buffer timeout with a plain MongooseError.
  if (error.name === 'MongooseError' && /buffering timed out/.test(error.message)) return error;
  const { code, errorLabelSet } = error as { code?: unknown; errorLabelSet?: Set<string> };
  if (typeof code === 'string' && networkErrorCodes.has(code)) return error;
  if (error.name.startsWith('Mongo') && typeof code === 'number' && unavailableServerCodes.has(code)) return error;
  if (errorLabelSet?.has('RetryableWriteError') === true || errorLabelSet?.has('ResetPool') === true) return error;
  // A bulk write that failed as a whole (e.g. no server to send it to) is a MongoBulkWriteError
  // carrying the driver error that stopped it in `errorResponse`; a GraphQLError holds the error a
  // resolver threw in `originalError`; others wrap theirs in `cause`.
  const { errorResponse, originalError } = error as { errorResponse?: unknown; originalError?: unknown };
  for (const inner of [errorResponse, originalError, error.cause]) {
    if (inner === error) continue;
    const found = unavailableCause(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}
