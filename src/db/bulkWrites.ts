import { mongo } from 'mongoose';
import {
  DEFAULT_CONFLICT_RETRY,
  isTransientConflict,
  retryTransientConflicts,
  TransientConflictError,
  type ConflictRetryPolicy,
} from './transientConflicts';

/** A write of an unordered bulk write that failed for good (e.g. a duplicate key). */
export interface FailedWrite {
  /** Index of the operation in the operations given. */
  readonly index: number;
  readonly code: number | undefined;
}

function nothingApplied(result: mongo.BulkWriteResult): boolean {
  return result.insertedCount + result.matchedCount + result.upsertedCount + result.deletedCount === 0;
}

/**
 * Runs `operations` as one unordered bulk write and repeats, with bounded backoff, exactly the
 * operations that failed with a transient conflict (a lock conflict or deadlock with a concurrent
 * writer; see `isTransientConflict`). Repeating only those keeps non-idempotent operations such
 * as `$inc` exact: an operation that took effect is never sent again. A command that failed as a
 * whole is repeated only when it applied nothing (DocumentDB runs a bulk write in one PostgreSQL
 * statement, so a deadlock undoes all of it); if it applied part, the error is thrown.
 *
 * Returns the operations that failed for another reason (the caller decides: a duplicate key may
 * be an answer, not an error). Throws when conflicts outlast the policy, or on any other error.
 */
export async function bulkWriteRetryingConflicts<TSchema extends mongo.Document>(
  collection: mongo.Collection<TSchema>,
  operations: ReadonlyArray<mongo.AnyBulkWriteOperation<TSchema>>,
  policy: ConflictRetryPolicy = DEFAULT_CONFLICT_RETRY,
): Promise<FailedWrite[]> {
  const failed: FailedWrite[] = [];
  let pending = operations.map((operation, index) => ({ operation, index }));
  await retryTransientConflicts(async () => {
    if (pending.length === 0) return;
    try {
      await collection.bulkWrite(
        pending.map((entry) => entry.operation),
        { ordered: false },
      );
      pending = [];
    } catch (error) {
      if (!(error instanceof mongo.MongoBulkWriteError)) throw error;
      const writeErrors = [error.writeErrors].flat();
      if (writeErrors.length === 0) {
        // Repeatable as a whole only if nothing of it took effect.
        if (nothingApplied(error.result) || !isTransientConflict(error)) throw error;
        throw new Error('A bulk write failed part-way with no per-operation errors; it cannot be repeated safely.', {
          cause: error,
        });
      }
      const conflicted: typeof pending = [];
      for (const writeError of writeErrors) {
        const entry = pending[writeError.index]!;
        if (isTransientConflict(writeError)) conflicted.push(entry);
        else failed.push({ index: entry.index, code: writeError.code });
      }
      pending = conflicted;
      if (conflicted.length > 0)
        throw new TransientConflictError(
          `${conflicted.length} writes of a bulk write conflicted with concurrent writes`,
        );
    }
  }, policy);
  return failed;
}
