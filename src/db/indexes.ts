import type { Model, mongo } from 'mongoose';

/**
 * Creates every index a model's schema declares (and the collection, when missing) in a single
 * `createIndexes` command. One command, because Mongoose's own `createIndexes()` sends one per
 * index, and DocumentDB answers each after 1–2 s (it queues the build for its background job), so
 * a collection with 15 indexes took 30 s to start. The collection is not created first: DocumentDB
 * builds at once (~15 ms) the indexes of a collection it creates in the same command, and only
 * queues those of one that exists, even empty; under a busy engine that queue made a start take
 * over a minute. Indexes that exist are left as they are. `extra` are indexes the schema cannot
 * declare (they depend on the deployment), sent in the same command for the same reason.
 */
export async function ensureSchemaIndexes<T>(model: Model<T>, extra: mongo.IndexDescription[] = []): Promise<void> {
  const indexes = [...model.schema.indexes().map(([key, options]) => ({ ...options, key })), ...extra];
  // Created explicitly when no index does it: some engines fail an insert that races the implicit creation.
  if (indexes.length === 0) {
    await model.createCollection().catch(() => undefined);
    return;
  }
  const create = () => model.collection.createIndexes(indexes as Parameters<typeof model.collection.createIndexes>[0]);
  // Another instance starting at the same moment may create the collection while this command
  // does, which an engine can refuse; the collection exists then, and a second try only has to
  // build what is missing. If that fails too, the first error is the one that says why.
  await create().catch(async (first: unknown) => {
    await create().catch(() => {
      throw first;
    });
  });
}

/** What {@link ensureTtlIndex} did to the index. */
export type TtlIndexChange = 'unchanged' | 'created' | 'modified' | 'recreated';

/**
 * Makes `collection` hold the single-field index `{ [field]: 1 }` named `name` (`<field>_1` by default), with
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
  name = `${field}_1`,
): Promise<TtlIndexChange> {
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
