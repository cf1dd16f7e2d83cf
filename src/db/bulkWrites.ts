import { mongo } from 'mongoose';
import {
  isTransientConflict,
  retryTransientConflicts,
  TransientConflictError,
  type ConflictRetryPolicy,
} from './transientConflicts';

/** The server's code for a write refused by a unique index. */
export const DUPLICATE_KEY = 11000;

/**
 * Inserts `documents` in one unordered `insertMany`, where a document a unique index refuses is
 * expected (a repeated restore, a word another instance added, an import line imported before)
 * rather than a failure.
 *
 * @returns the indexes (in `documents`) of the documents refused as duplicates
 * @throws the driver's error when any write failed for another reason, or the command as a whole
 */
export async function insertManyExceptDuplicates<TSchema extends mongo.Document>(
  collection: mongo.Collection<TSchema>,
  documents: ReadonlyArray<mongo.OptionalUnlessRequiredId<TSchema>>,
): Promise<Set<number>> {
  const duplicates = new Set<number>();
  if (documents.length === 0) return duplicates;
  try {
    await collection.insertMany(documents, { ordered: false });
  } catch (error) {
    // Engines report one failed write as an object rather than a list of one.
    const { writeErrors: failures, code } = error as { writeErrors?: FailedWrite[] | FailedWrite; code?: unknown };
    const list = Array.isArray(failures)
      ? failures
      : failures
        ? [failures]
        : documents.length === 1 && code === DUPLICATE_KEY
          ? [{ index: 0, code }]
          : [];
    if (list.length === 0 || list.some((failure) => failure.code !== DUPLICATE_KEY)) throw error;
    for (const failure of list) duplicates.add(failure.index);
  }
  return duplicates;
}

/** A write of an unordered bulk write that failed for good (e.g. a duplicate key). */
export interface FailedWrite {
  /** Index of the operation in the operations given. */
  readonly index: number;
  readonly code: number | undefined;
}

/**
 * A bulk write failed as a whole with a transient conflict, and what it applied is unknown: DocumentDB
 * aborts the operation a deadlock hit, not those it already applied, and the driver then reports
 * nothing applied (measured: three failed commands of 60 `$inc` each had applied 124 of their 180).
 * Repeating such operations would apply some twice; the caller decides (see `unknownOutcome`).
 */
export class BulkWriteOutcomeUnknownError extends Error {
  constructor(operations: number, cause: unknown) {
    super(
      `A bulk write of ${operations} operations failed as a whole on a conflict, and which of them took effect is unknown.`,
      { cause },
    );
    this.name = 'BulkWriteOutcomeUnknownError';
  }
}

/** The operations still to send, each with its index in the operations given. */
type Pending<TSchema extends mongo.Document> = Array<{
  operation: mongo.AnyBulkWriteOperation<TSchema>;
  index: number;
}>;

/** How {@link bulkWriteRetryingConflicts} repeats. */
export interface BulkRetryOptions<TSchema extends mongo.Document> {
  readonly policy?: ConflictRetryPolicy;
  /**
   * When the whole command failed on a conflict (see {@link BulkWriteOutcomeUnknownError}):
   * `'repeat'` for idempotent operations (inserts whose duplicates are ignored, `$set`), or a
   * function that returns, of the operations sent, those that did not take effect (e.g. inserts
   * whose `_id` is not stored), which are repeated. Without it, the error is thrown: the caller
   * has a way to repair (the rollup recovery rebuilds what a failed increment left).
   */
  readonly unknownOutcome?:
    | 'repeat'
    | ((
        operations: ReadonlyArray<mongo.AnyBulkWriteOperation<TSchema>>,
      ) => Promise<ReadonlyArray<mongo.AnyBulkWriteOperation<TSchema>>>);
}

/**
 * Runs `operations` as one unordered bulk write and repeats, with bounded backoff, exactly the
 * operations that failed with a transient conflict (a lock conflict or deadlock with a concurrent
 * writer; see `isTransientConflict`). Repeating only those keeps non-idempotent operations such
 * as `$inc` exact: an operation that took effect is never sent again. A command that failed as a
 * whole is settled by `options.unknownOutcome`.
 *
 * Returns the operations that failed for another reason (the caller decides: a duplicate key may
 * be an answer, not an error). Throws when conflicts outlast the policy, or on any other error.
 */
export async function bulkWriteRetryingConflicts<TSchema extends mongo.Document>(
  collection: mongo.Collection<TSchema>,
  operations: ReadonlyArray<mongo.AnyBulkWriteOperation<TSchema>>,
  options: BulkRetryOptions<TSchema> = {},
): Promise<FailedWrite[]> {
  const failed: FailedWrite[] = [];
  let pending: Pending<TSchema> = operations.map((operation, index) => ({ operation, index }));
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
        if (!isTransientConflict(error)) throw error;
        const { unknownOutcome } = options;
        if (!unknownOutcome) throw new BulkWriteOutcomeUnknownError(pending.length, error);
        if (unknownOutcome !== 'repeat') {
          const remaining = new Set(await unknownOutcome(pending.map((entry) => entry.operation)));
          pending = pending.filter((entry) => remaining.has(entry.operation));
        }
        throw error; // Transient: retryTransientConflicts sends what is pending again.
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
  }, options.policy);
  return failed;
}

/**
 * Idempotent upserts (updates or whole replacements) through {@link bulkWriteRetryingConflicts},
 * then once more those that met a duplicate key: of two upserts of one new document at once, one
 * inserts it and the other, sent again, finds it. Send them in `_id` order, so that two writers
 * lock documents in one order.
 *
 * @param what - what the documents are, for the error
 * @throws when a write failed for another reason, or raced a second time
 */
export async function upsertsRetryingRaces<TSchema extends mongo.Document>(
  collection: mongo.Collection<TSchema>,
  operations: ReadonlyArray<mongo.AnyBulkWriteOperation<TSchema>>,
  what: string,
): Promise<void> {
  let pending = operations;
  for (let attempt = 1; pending.length > 0; attempt++) {
    // An upsert sent twice changes nothing: repeating a command of unknown outcome is exact.
    const failed = await bulkWriteRetryingConflicts(collection, pending, { unknownOutcome: 'repeat' });
    const raced = failed.filter((write) => write.code === DUPLICATE_KEY);
    if (raced.length < failed.length || (raced.length > 0 && attempt === 2))
      throw new Error(
        `${failed.length} ${what} could not be written (codes ${failed.map((write) => write.code).join(', ')})`,
      );
    const sent = pending;
    pending = raced.map((write) => sent[write.index]!);
  }
}
