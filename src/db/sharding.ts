import type { mongo } from 'mongoose';
import type { ShardingMode } from '../config';
import type { Logger } from '../shared/logger';

/** A collection Gavel shards, and on what. */
export interface ShardedCollection {
  readonly collection: string;
  /** A hashed key: writes spread evenly over the shards whatever the ids look like. */
  readonly key: Readonly<Record<string, 'hashed'>>;
}

/**
 * Gavel's shard plan (docs/scaling.md explains each choice with measurements). The collections
 * that grow with traffic are sharded on the item: every write of the tracking path (the event
 * insert with its unique dedup key, the click claim, the counted-key check, the rollup and sketch
 * upserts) and every per-item analytics read names one item, so each touches the one shard
 * holding it.
 * Everything else stays unsharded: the catalog (search sorts and pages over all of it), keys,
 * the rollup journal, audit aggregates, leases and erasure records are small or read whole.
 */
export const SHARD_PLAN: readonly ShardedCollection[] = Object.freeze([
  { collection: 'tracking_events', key: Object.freeze({ itemId: 'hashed' as const }) },
  { collection: 'item_days', key: Object.freeze({ itemId: 'hashed' as const }) },
  { collection: 'item_day_sketches', key: Object.freeze({ itemId: 'hashed' as const }) },
  { collection: 'conversion_events', key: Object.freeze({ itemId: 'hashed' as const }) },
  { collection: 'funnel_journeys', key: Object.freeze({ itemId: 'hashed' as const }) },
]);

/** Why Gavel will not start on this database as it is; the message says what to change. */
export class ShardingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardingError';
  }
}

/** What {@link applyShardPlan} did, and the part that has to wait for the indexes. */
export interface ShardingOutcome {
  /** Whether Gavel's collections are (now) sharded by its plan. */
  readonly enabled: boolean;
  /**
   * The collections that are sharded, or will be once {@link shardExisting} ran: the plan's when
   * enabled, else those an operator sharded by hand.
   */
  readonly sharded: ReadonlySet<string>;
  /**
   * Shards the plan's collections that already held documents (a database that ran unsharded
   * before): after the indexes are built, since an engine shards an existing collection only when
   * its unique indexes are compatible with the key. Does nothing when there are none.
   */
  shardExisting(): Promise<void>;
}

/** The shard key of every sharded collection of `db`, by collection name. */
export async function shardKeysOf(db: mongo.Db): Promise<Map<string, Record<string, unknown>>> {
  const keys = new Map<string, Record<string, unknown>>();
  // A DocumentDB gateway reports the key in listCollections; a mongos in config.collections.
  const listed = await db.listCollections({}, { nameOnly: false }).toArray();
  for (const entry of listed as Array<{ name: string; info?: { shardKey?: Record<string, unknown> } }>)
    if (entry.info?.shardKey) keys.set(entry.name, entry.info.shardKey);
  const prefix = `${db.databaseName}.`;
  const configured = await db.client
    .db('config')
    .collection<{ _id: string; key?: Record<string, unknown>; dropped?: boolean }>('collections')
    .find({ _id: { $regex: `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` } })
    .toArray()
    // Engines without a config database (mongo-java-server, a replica set) shard nothing.
    .catch(() => []);
  for (const entry of configured)
    if (entry.key && entry.dropped !== true) keys.set(entry._id.slice(prefix.length), entry.key);
  return keys;
}

const sameKey = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/** Whether the server is a shard router: a `mongos`, or a gateway that answers as one. */
async function isShardRouter(db: mongo.Db): Promise<boolean> {
  const hello = (await db.command({ hello: 1 }).catch(() => db.command({ isMaster: 1 }))) as { msg?: unknown };
  return hello.msg === 'isdbgrid';
}

/**
 * How long sharding a collection that holds documents may take. The distributed DocumentDB
 * redistributes the table inside the command (1,000,000 events took 143 s here) and its gateway
 * otherwise ends commands after a minute or two.
 */
const SHARD_EXISTING_MAX_TIME_MS = 24 * 3_600_000;

/** Runs `shardCollection`; a refusal becomes a {@link ShardingError} that says what to do. */
async function shardCollection(
  db: mongo.Db,
  { collection, key }: ShardedCollection,
  maxTimeMS?: number,
): Promise<void> {
  try {
    await db
      .admin()
      .command({ shardCollection: `${db.databaseName}.${collection}`, key, ...(maxTimeMS ? { maxTimeMS } : {}) });
  } catch (error) {
    const { code, codeName, message } = error as { code?: number; codeName?: string; message?: string };
    throw new ShardingError(
      `MONGODB_SHARDING: the server refused to shard ${collection} on ${JSON.stringify(key)} ` +
        `(${codeName ?? code ?? 'error'}: ${message ?? String(error)}). Connect Gavel to a sharded ` +
        'cluster (a mongos, or the distributed DocumentDB gateway), or set MONGODB_SHARDING=off.',
    );
  }
}

/**
 * Applies {@link SHARD_PLAN} as `mode` says, before the indexes are built: with `on` (or `auto` on
 * a shard router) each planned collection that is missing or empty is created and sharded now;
 * one sharded already on the same key is left as it is (so every start and every instance may
 * run this); one sharded on another key stops the start. Collections that hold documents are
 * sharded by {@link ShardingOutcome.shardExisting}, after the indexes.
 *
 * @throws {@link ShardingError} when the server cannot shard, or a collection has another key
 */
export async function applyShardPlan(db: mongo.Db, mode: ShardingMode, logger: Logger): Promise<ShardingOutcome> {
  const nothing = async (): Promise<ShardingOutcome> => ({
    enabled: false,
    sharded: new Set((await shardKeysOf(db)).keys()),
    shardExisting: async () => undefined,
  });
  if (mode === 'off') return nothing();
  if (mode === 'auto' && !(await isShardRouter(db))) {
    logger.info('MONGODB_SHARDING=auto: the server is not a shard router; collections stay unsharded');
    return nothing();
  }
  // MongoDB before 6.0 wants sharding enabled on the database first; later servers and DocumentDB
  // accept or ignore it.
  await db
    .admin()
    .command({ enableSharding: db.databaseName })
    .catch(() => undefined);
  const keys = await shardKeysOf(db);
  const existing: ShardedCollection[] = [];
  for (const planned of SHARD_PLAN) {
    const current = keys.get(planned.collection);
    if (current) {
      if (!sameKey(current, planned.key))
        throw new ShardingError(
          `${planned.collection} is sharded on ${JSON.stringify(current)}, but Gavel routes its reads and ` +
            `writes by ${JSON.stringify(planned.key)}: reshard it on that key (docs/scaling.md).`,
        );
      continue;
    }
    const collection = db.collection(planned.collection);
    if ((await collection.estimatedDocumentCount()) > 0) {
      existing.push(planned);
      continue;
    }
    await db.createCollection(planned.collection).catch(() => undefined);
    await shardCollection(db, planned);
    logger.info({ collection: planned.collection, key: planned.key }, 'sharded');
  }
  return {
    enabled: true,
    sharded: new Set(SHARD_PLAN.map((planned) => planned.collection)),
    shardExisting: async () => {
      for (const planned of existing) {
        const started = Date.now();
        const collection = db.collection(planned.collection);
        const documents = await collection.estimatedDocumentCount();
        logger.warn(
          { collection: planned.collection, key: planned.key, documents },
          'sharding a collection that already holds documents; writes to it wait until it is done',
        );
        // MongoDB shards a collection with documents only when an index supports the key.
        await collection.createIndex(planned.key).catch(() => undefined);
        await shardCollection(db, planned, SHARD_EXISTING_MAX_TIME_MS);
        logger.info(
          { collection: planned.collection, documents, ms: Date.now() - started },
          'sharded the existing collection',
        );
      }
    },
  };
}

/**
 * Refuses a unique index that a sharded collection's engine would enforce per shard only: on a
 * sharded collection a unique index must begin with the shard key's fields (MongoDB refuses
 * others; the distributed DocumentDB accepts them and lets duplicates in on different shards).
 * Runs at every start, on every engine, whatever `MONGODB_SHARDING` says: an operator may shard a
 * collection by hand.
 *
 * @throws {@link ShardingError} naming the first such index and how to fix it
 */
export async function verifyUniqueIndexes(db: mongo.Db): Promise<void> {
  for (const [collection, key] of await shardKeysOf(db)) {
    const fields = Object.keys(key);
    const indexes = (await db.collection(collection).listIndexes().toArray()) as Array<{
      name: string;
      key: Record<string, unknown>;
      unique?: boolean;
    }>;
    for (const index of indexes) {
      if (!index.unique || index.name === '_id_') continue;
      const prefix = Object.keys(index.key).slice(0, fields.length);
      if (fields.every((field, position) => prefix[position] === field)) continue;
      throw new ShardingError(
        `The unique index ${collection}.${index.name} ${JSON.stringify(index.key)} does not begin with the ` +
          `shard key ${JSON.stringify(key)}: a sharded engine enforces it per shard only, so duplicates on ` +
          `different shards would both be stored. Drop it (db.${collection}.dropIndex("${index.name}")) ` +
          'or recreate it with the shard key first; Gavel does not start until then.',
      );
    }
  }
}
