import type { Model } from 'mongoose';

/**
 * Creates a model's collection when missing, then every index its schema declares, in a single
 * `createIndexes` command. Mongoose's own `createIndexes()` sends one command per index, and
 * DocumentDB answers each after about 2 s whatever it builds (it waits for its index-build job),
 * so a collection with 15 indexes took 30 s to start. Indexes that exist are left as they are.
 */
export async function ensureSchemaIndexes<T>(model: Model<T>): Promise<void> {
  // Created explicitly: some engines fail an insert that races the implicit creation.
  await model.createCollection().catch(() => undefined);
  const indexes = model.schema.indexes().map(([key, options]) => ({ ...options, key }));
  if (indexes.length > 0)
    await model.collection.createIndexes(indexes as Parameters<typeof model.collection.createIndexes>[0]);
}
