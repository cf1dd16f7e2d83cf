import type { Model, mongo } from 'mongoose';

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

/** What {@link ensureTtlIndex} did to the index. */
export type TtlIndexChange = 'unchanged' | 'created' | 'modified' | 'recreated';

/**
 * Makes `collection` hold the single-field index `{ [field]: 1 }` named `<field>_1`, with
 * `expireAfterSeconds` when `ttlSeconds` is a number (the engine deletes expired documents
 * itself) and without when it is undefined (another mechanism, e.g. the purge job that archives
 * first, must delete them). A changed TTL is applied with `collMod`, which keeps the index; an
 * engine that refuses `collMod` (mongo-java-server; MongoDB before 5.1 for a plain index turned
 * TTL) gets the index dropped and created again. Removing a TTL always recreates: `collMod`
 * cannot take it off. Never throws for a TTL the engine merely ignores; the purge job covers
 * every engine anyway.
 */
export async function ensureTtlIndex(
  collection: mongo.Collection<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  field: string,
  ttlSeconds: number | undefined,
): Promise<TtlIndexChange> {
  const name = `${field}_1`;
  const existing = (
    await collection
      .listIndexes()
      .toArray()
      .catch(() => [])
  ).find((index) => index.name === name) as { expireAfterSeconds?: number } | undefined;
  const options = ttlSeconds === undefined ? { name } : { name, expireAfterSeconds: ttlSeconds };
  if (!existing) {
    await collection.createIndex({ [field]: 1 }, options);
    return 'created';
  }
  if (existing.expireAfterSeconds === ttlSeconds) return 'unchanged';
  if (ttlSeconds !== undefined) {
    try {
      await collection.db.command({
        collMod: collection.collectionName,
        index: { name, expireAfterSeconds: ttlSeconds },
      });
      const after = (await collection.listIndexes().toArray()).find((index) => index.name === name) as
        { expireAfterSeconds?: number } | undefined;
      if (after?.expireAfterSeconds === ttlSeconds) return 'modified';
    } catch {
      // Fall through: drop and create.
    }
  }
  await collection.dropIndex(name);
  await collection.createIndex({ [field]: 1 }, options);
  return 'recreated';
}
