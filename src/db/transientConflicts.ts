import { setTimeout as sleep } from 'node:timers/promises';

/**
 * MongoDB's `WriteConflict`. DocumentDB reports a PostgreSQL deadlock (`deadlock detected`,
 * "Could not acquire lock for operation due to deadlock") with the same code.
 */
const WRITE_CONFLICT = 112;
/** MongoDB's `LockTimeout`. */
const LOCK_TIMEOUT = 24;
/**
 * MongoDB's `MaxTimeMSExpired`. The sharded DocumentDB engine cancels one transaction of a
 * deadlock spanning workers ("canceling the transaction since it was involved in a distributed
 * deadlock"), which its gateway reports with this code. Gavel sets no `maxTimeMS` on writes, so
 * on a write it means that cancellation: the write was rolled back and may be sent again.
 */
const DISTRIBUTED_DEADLOCK = 50;

/**
 * Whether a write failed only because it collided with a concurrent write (a lock conflict or
 * deadlock, or a transaction the server says may be retried as a whole), so running it again
 * can succeed. Decided by error code and label, never by message: engines word these differently.
 */
export function isTransientConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof TransientConflictError) return true;
  // Also a bulk write's per-operation `WriteError`, which is not an `Error`.
  const { code, errorLabelSet } = error as { code?: unknown; errorLabelSet?: Set<string> };
  if (code === WRITE_CONFLICT || code === LOCK_TIMEOUT || code === DISTRIBUTED_DEADLOCK) return true;
  return errorLabelSet?.has('TransientTransactionError') === true;
}

/** Some operations of a bulk write hit transient conflicts; the others took effect. */
export class TransientConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientConflictError';
  }
}

/** How {@link retryTransientConflicts} backs off. */
export interface ConflictRetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; doubled for each later one, with full jitter. */
  readonly baseDelayMs: number;
  /** Cap of one delay. */
  readonly maxDelayMs: number;
}

/** Five attempts within about half a second: a conflict between flushes clears in milliseconds. */
export const DEFAULT_CONFLICT_RETRY: ConflictRetryPolicy = { attempts: 5, baseDelayMs: 10, maxDelayMs: 200 };

/**
 * Runs `operation`, and runs it again after a jittered exponential backoff while it fails with a
 * transient conflict (see {@link isTransientConflict}), up to `policy.attempts` in all; then the
 * last error is thrown. Any other error is thrown at once.
 *
 * Only for operations that are safe to repeat after such a failure: either idempotent, or
 * all-or-nothing (a command whose conflict undid all of it). `operation` is told the attempt
 * number (1-based), e.g. to narrow a retry to the part that failed.
 */
export async function retryTransientConflicts<T>(
  operation: (attempt: number) => Promise<T>,
  policy: ConflictRetryPolicy = DEFAULT_CONFLICT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !isTransientConflict(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}
