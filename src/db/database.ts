import mongoose, { type Connection } from 'mongoose';

/** How long a query waits for a reachable server before failing (so an outage errors, not hangs). */
const SERVER_SELECTION_TIMEOUT_MS = 5_000;

/** An open connection to Gavel's database. */
export interface Database {
  readonly connection: Connection;
  /** True when the server answers a ping within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the connection; in-flight operations finish first. */
  close(): Promise<void>;
}

/**
 * Opens a mongoose connection to `dbName` on the server at `uri`. Each call gets its own
 * connection (not mongoose's global one), so several apps or test files can share a process.
 */
export async function connectDatabase(
  uri: string,
  dbName: string,
  options: { monitorCommands?: boolean } = {},
): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName,
    // Emits `commandStarted` on the client: benchmarks and tests count round trips with it.
    monitorCommands: options.monitorCommands ?? false,
    autoIndex: false,
    autoCreate: false,
    serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
  });
  await connection.asPromise();
  return {
    connection,
    ping: async (timeoutMs = 2_000) => {
      const db = connection.db;
      if (!db || connection.readyState !== 1) return false;
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
  const labels = (error as { errorLabelSet?: Set<string> }).errorLabelSet;
  if (labels?.has('RetryableWriteError') === true || labels?.has('ResetPool') === true) return true;
  // A bulk write that failed as a whole (e.g. no server to send it to) is a MongoBulkWriteError
  // carrying the driver error that stopped it in `errorResponse`.
  const wrapped = (error as { errorResponse?: unknown }).errorResponse;
  return wrapped instanceof Error && wrapped !== error && isDatabaseUnavailable(wrapped);
}
