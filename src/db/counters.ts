import type { mongo } from 'mongoose';
import { bulkWriteRetryingConflicts, DUPLICATE_KEY } from './bulkWrites';
import { chunks } from '../shared/chunks';

/** Counters per bulk write. */
const BATCH = 1_000;

/** One counter document to move: created with `created` when missing, then incremented by `inc`. */
export interface CounterIncrement<TSchema extends { _id: string }> {
  readonly _id: string;
  /** The document as it is created (its counters at 0), when it does not exist yet. */
  readonly created: TSchema;
  /** Dotted counter paths and what to add to each. */
  readonly inc: Readonly<Record<string, number>>;
}

/**
 * Applies counter increments in batches of 1,000: the missing documents created first (a
 * duplicate is one another writer created meanwhile), then every `$inc` as an update. Two
 * instances creating one counter at once cannot both upsert it (one would fail on the duplicate
 * id), and an `$inc` that conflicted is repeated alone (`bulkWriteRetryingConflicts`), so none
 * is applied twice. Two round trips per batch.
 */
export async function incrementCounters<TSchema extends { _id: string }>(
  collection: mongo.Collection<TSchema>,
  increments: ReadonlyArray<CounterIncrement<TSchema>>,
): Promise<void> {
  for (const batch of chunks(increments, BATCH)) {
    const failed = await bulkWriteRetryingConflicts(
      collection,
      batch.map(({ created }) => ({ insertOne: { document: created as mongo.OptionalId<TSchema> } })),
      { unknownOutcome: 'repeat' },
    );
    const refused = failed.filter((write) => write.code !== DUPLICATE_KEY);
    if (refused.length > 0) throw new Error(`${refused.length} counter documents could not be created`);
    await bulkWriteRetryingConflicts(
      collection,
      batch.map(({ _id, inc }) => ({
        updateOne: { filter: { _id } as mongo.Filter<TSchema>, update: { $inc: inc } as mongo.UpdateFilter<TSchema> },
      })),
    );
  }
}
