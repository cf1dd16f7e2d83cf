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
 * durability is their own (see README "Durability: what survives what").
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

const unavailableErrorNames = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

/**
 * Whether an error means "the database cannot be reached right now" (so the request may be
 * retried), as opposed to a rejected operation or a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (unavailableErrorNames.has(error.name)) return true;
  // Mongoose queues model operations while disconnected (an engine restart) and gives up after
  // its buffer timeout with a plain MongooseError.
  if (error.name === 'MongooseError' && /buffering timed out/.test(error.message)) return true;
  const labels = (error as { errorLabelSet?: Set<string> }).errorLabelSet;
  if (labels?.has('RetryableWriteError') === true || labels?.has('ResetPool') === true) return true;
  // A bulk write that failed as a whole (e.g. no server to send it to) is a MongoBulkWriteError
  // carrying the driver error that stopped it in `errorResponse`.
  const wrapped = (error as { errorResponse?: unknown }).errorResponse;
  return wrapped instanceof Error && wrapped !== error && isDatabaseUnavailable(wrapped);
}
