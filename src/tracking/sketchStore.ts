import { LRUCache } from 'lru-cache';
import { Types, type mongo, type Connection } from 'mongoose';
import { itemDayId, itemDaySketchModel, type ItemDaySketchRecord } from '../analytics/rollups.model';
import {
  SKETCH_REGISTERS,
  encodeSketch,
  mergeEncodedSketch,
  mergeEntries,
  raiseSketch,
} from '../analytics/uniqueSketch';
import { DUPLICATE_KEY, bulkWriteRetryingConflicts } from '../db/bulkWrites';
import { chunks } from '../shared/chunks';

/** What some counted events add to one item-day's unique sketches: register → rank, as `addToSketch` builds them. */
export interface ItemDaySketches {
  readonly itemId: Types.ObjectId;
  /** Start of the UTC day. */
  readonly day: Date;
  readonly sessions: ReadonlyMap<number, number>;
  readonly users: ReadonlyMap<number, number>;
}

/** Writes of the item-day sketches; see {@link createSketchStore}. */
export interface SketchStore {
  /**
   * Merges the registers into the stored sketches of their item-days (the larger rank per
   * register wins), creating those not stored yet, and resolves once every one is stored.
   */
  merge(sketches: readonly ItemDaySketches[]): Promise<void>;
}

/** Item-days whose last written registers this process remembers (8 KiB each, dense): 16 MiB. */
const REMEMBERED_SKETCHES = 2_000;
/** Item-days read and written per command. */
const CHUNK = 1_000;
/** Write rounds before {@link SketchStore.merge} gives up on item-days other writers keep changing. */
const MAX_ROUNDS = 10;

/** An item-day's dense registers with the token of the write that stored them. */
interface KnownSketch {
  readonly sessions: Uint8Array;
  readonly users: Uint8Array;
  /** The `write` token the document holds with these registers (none: no document yet). */
  readonly token: Types.ObjectId | null;
}

/** The sketch document's fields the merge reads, as the driver returns them. */
type StoredSketches = Pick<ItemDaySketchRecord, '_id' | 'write'> & { sessions?: mongo.Binary; users?: mongo.Binary };

/** Dense registers of an encoded sketch (all zero when there is none). */
export function denseRegisters(encoded: mongo.Binary | undefined): Uint8Array {
  const registers = new Uint8Array(SKETCH_REGISTERS);
  if (encoded) mergeEncodedSketch(registers, encoded.value());
  return registers;
}

/**
 * Binds the sketch writes to a connection (`item_day_sketches`, see {@link ItemDaySketchRecord}).
 *
 * A sketch is written whole (`encodeSketch`: 4 KiB at most) with a compare-and-set: the update
 * names the `write` token the registers were read with and sets a new one, so a write based on a
 * stale read (another instance, or a recovery, wrote meanwhile) matches nothing; reading the
 * tokens back tells which writes landed, and the others are read, merged and sent again. An
 * item-day not stored yet is inserted by an upsert that a concurrent first write turns into a
 * duplicate key, settled the same way. The registers last written are remembered per item-day, so
 * a busy day is neither read before each write nor written when no register rose — which, once a
 * sketch has seen a few thousand sessions, is most of the time.
 */
export function createSketchStore(connection: Connection): SketchStore {
  const model = itemDaySketchModel(connection);
  const documents = connection.collection<ItemDaySketchRecord>(model.collection.collectionName);
  const known = new LRUCache<string, KnownSketch>({ max: REMEMBERED_SKETCHES });

  /** The stored registers of these item-days (none for those not stored yet). */
  const read = async (wanted: ReadonlyArray<{ _id: string; itemId: Types.ObjectId }>) => {
    const stored = await documents
      .find(
        // With the item: the shard key, so a sharded engine asks only the shards holding them.
        { _id: { $in: wanted.map(({ _id }) => _id) }, itemId: { $in: [...new Set(wanted.map((w) => w.itemId))] } },
        { projection: { sessions: 1, users: 1, write: 1 } },
      )
      .toArray();
    const found = new Map(
      (stored as unknown as StoredSketches[]).map((document): [string, KnownSketch] => [
        document._id,
        { sessions: denseRegisters(document.sessions), users: denseRegisters(document.users), token: document.write },
      ]),
    );
    for (const { _id } of wanted)
      if (!found.has(_id))
        found.set(_id, {
          sessions: new Uint8Array(SKETCH_REGISTERS),
          users: new Uint8Array(SKETCH_REGISTERS),
          token: null,
        });
    return found;
  };

  return {
    merge: async (sketches) => {
      // One entry per item-day, in `_id` order (the lock order every writer of item-days uses).
      const byId = new Map<string, ItemDaySketches & { _id: string }>();
      for (const sketch of sketches) {
        const _id = itemDayId(sketch.itemId, sketch.day);
        const previous = byId.get(_id);
        byId.set(
          _id,
          previous
            ? {
                ...previous,
                sessions: raiseSketch(new Map(previous.sessions), sketch.sessions),
                users: raiseSketch(new Map(previous.users), sketch.users),
              }
            : { ...sketch, _id },
        );
      }
      const ordered = [...byId.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      // In chunks: each item-day read is decoded into 8 KiB of registers while it is merged.
      for (const chunk of chunks(ordered, CHUNK)) await mergeChunk(chunk);
    },
  };

  /** Merges item-days (distinct, in `_id` order) until every write has landed. */
  async function mergeChunk(chunk: Array<ItemDaySketches & { _id: string }>): Promise<void> {
    let round = chunk;
    for (let attempt = 1; round.length > 0; attempt++) {
      if (attempt > MAX_ROUNDS)
        throw new Error(`${round.length} item-day sketches kept changing under ${MAX_ROUNDS} write rounds`);
      const unknown = round.filter(({ _id }) => !known.has(_id));
      const fresh = unknown.length > 0 ? await read(unknown) : new Map<string, KnownSketch>();
      const writes: Array<{ sketch: (typeof round)[number]; written: KnownSketch & { token: Types.ObjectId } }> = [];
      const operations: mongo.AnyBulkWriteOperation<ItemDaySketchRecord>[] = [];
      for (const sketch of round) {
        const current = known.get(sketch._id) ?? fresh.get(sketch._id)!;
        const sessions = Uint8Array.from(current.sessions);
        const users = Uint8Array.from(current.users);
        const sessionsRose = mergeEntries(sessions, sketch.sessions);
        const usersRose = mergeEntries(users, sketch.users);
        if (!sessionsRose && !usersRose) {
          known.set(sketch._id, current);
          continue; // every register already stored
        }
        const token = new Types.ObjectId();
        writes.push({ sketch, written: { sessions, users, token } });
        operations.push({
          updateOne: {
            filter: { _id: sketch._id, itemId: sketch.itemId, write: current.token ?? { $exists: false } },
            update: {
              $set: { sessions: encodeSketch(sessions), users: encodeSketch(users), write: token },
              $setOnInsert: { day: sketch.day },
            },
            // Only a first write inserts: one based on a stale token must match nothing, not
            // insert a second document (the unique `_id` would refuse it anyway).
            upsert: current.token === null,
          },
        });
      }
      if (operations.length === 0) return;
      let landed: Array<Pick<ItemDaySketchRecord, '_id' | 'write'>>;
      try {
        // A repeated write matches nothing (its token is already replaced): repeating is harmless.
        const failed = await bulkWriteRetryingConflicts(documents, operations, { unknownOutcome: 'repeat' });
        // A duplicate key: another writer stored the item-day's first sketch meanwhile (read back below).
        const errors = failed.filter(({ code }) => code !== DUPLICATE_KEY);
        if (errors.length > 0) throw new Error(`${errors.length} sketch writes failed (codes ${errors[0]!.code})`);
        // Which writes landed: the document holds the write's token. The others were based on
        // registers another writer had changed: read, merge and write again.
        landed = await documents
          .find(
            {
              _id: { $in: writes.map(({ sketch }) => sketch._id) },
              itemId: { $in: [...new Set(writes.map(({ sketch }) => sketch.itemId))] },
            },
            { projection: { write: 1 } },
          )
          .toArray();
      } catch (error) {
        // What is stored is unknown now: read it again next time rather than trust a write that
        // may not have landed (a retry would find nothing risen, skip, and close the journal).
        for (const { sketch } of writes) known.delete(sketch._id);
        throw error;
      }
      // `?.`: a document written by hand without a token is then rewritten, not a crash.
      const tokens = new Map(landed.map((document) => [document._id, document.write?.toHexString()]));
      round = [];
      for (const { sketch, written } of writes) {
        // Remembered only once confirmed stored.
        if (tokens.get(sketch._id) === written.token.toHexString()) known.set(sketch._id, written);
        else {
          known.delete(sketch._id);
          round.push(sketch);
        }
      }
    }
  }
}
