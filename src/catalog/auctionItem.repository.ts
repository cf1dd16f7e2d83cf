import { ensureSchemaIndexes } from '../db/indexes';
import { Types, type Connection, type UpdateQuery } from 'mongoose';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { auctionItemModel, type AuctionItemRecord, type AuctionStatus } from './auctionItem.model';
import { createTypoDictionary, type TypoDictionary } from './typoDictionary';
import { createSuggestionRepository, type ItemChange, type SuggestionRepository } from './suggestion.repository';
import { chunks } from '../shared/chunks';

/** Fields written when an item is created (the id is assigned by the repository). */
export type NewAuctionItem = Omit<AuctionItemRecord, '_id'>;

/** Fields an update may set. */
export type AuctionItemChanges = Partial<Omit<AuctionItemRecord, '_id' | 'createdAt' | 'sellerId'>>;

/** The catalog's database access: small functions, no policy. */
export interface AuctionItemRepository {
  /** The item with this id, or null. */
  findById(id: Types.ObjectId): Promise<AuctionItemRecord | null>;
  /** The items with these ids, in no particular order; missing ids are simply absent. */
  findByIds(ids: readonly Types.ObjectId[]): Promise<AuctionItemRecord[]>;
  /** The category of each of these items that exists (one query; for tracking's existence checks). */
  categoriesOf(ids: readonly Types.ObjectId[]): Promise<Map<string, string>>;
  /** Ids of every item of one seller (the seller index answers it), e.g. to rank a seller's items. */
  idsOfSeller(sellerId: string): Promise<Types.ObjectId[]>;
  /** Inserts one item and returns it as stored. */
  insert(item: NewAuctionItem): Promise<AuctionItemRecord>;
  /** Inserts many items in unordered batches (the demo seed). */
  insertMany(items: readonly NewAuctionItem[]): Promise<void>;
  /**
   * Inserts items that carry an `externalId` in one unordered write; an item whose external id
   * another item holds already is not inserted (the unique index refuses it, so two imports of
   * the same line at once store it once).
   * @param countSuggestions - false: leave the suggestion counters to a {@link recountSuggestions}
   *   after many batches (a recount writes each counter once; counting batch by batch writes the
   *   common words' counters once per batch: 7 ms per item on DocumentDB, bench:import)
   * @returns the id each item was stored under, in order; null where its external id was taken
   */
  insertImported(
    items: readonly NewAuctionItem[],
    options: { readonly countSuggestions: boolean },
  ): Promise<Array<Types.ObjectId | null>>;
  /** Sets every suggestion counter to a recount of the open lots (`gavel suggestions repair`). */
  recountSuggestions(): Promise<void>;
  /** The ids of the items holding these external ids (one query); ids nobody holds are absent. */
  idsOfExternalIds(externalIds: readonly string[]): Promise<Map<string, Types.ObjectId>>;
  /**
   * Applies `changes` only if the item still has `expectedStatus`, so two concurrent status
   * changes cannot both pass the transition check. Returns the updated item, or null when the
   * item is gone or its status moved on.
   */
  updateIfStatus(
    id: Types.ObjectId,
    expectedStatus: AuctionStatus,
    changes: AuctionItemChanges,
  ): Promise<AuctionItemRecord | null>;
  /**
   * Stores each item's popularity score; items missing from `scores` that had one drop to 0. Reads
   * the stored scores first and writes only the items whose score changed (in bulk writes of
   * 1,000), so its writes are proportional to what changed, not to the catalog or the ranked items.
   * Returns how many items it changed and zeroed (those another instance had already written, or
   * that are gone, are not counted).
   */
  setPopularity(scores: ReadonlyMap<string, number>): Promise<{ written: number; zeroed: number }>;
  /** Whether the collection holds no item at all. */
  isEmpty(): Promise<boolean>;
  /** Creates the collection's indexes (idempotent; never drops indexes it does not know). */
  ensureIndexes(): Promise<void>;
}

/** What the catalog repository reports instead of failing a write that is already stored. */
export interface AuctionItemRepositoryOptions {
  /**
   * The suggestion counters could not follow an item write (the item itself is stored): they are
   * off until `gavel suggestions repair`. Without it the error is thrown.
   */
  readonly onSuggestionsError?: (error: unknown) => void;
  /** The process's typo dictionary (default: one of this repository's own). */
  readonly typoDictionary?: TypoDictionary;
  /** The process's suggestion counters (default: this repository's own). */
  readonly suggestions?: SuggestionRepository;
}

/** Items per popularity bulk write (a bounded command on every engine). */
const POPULARITY_CHUNK = 1_000;

/** Binds the catalog repository to a connection. */
export function createAuctionItemRepository(
  connection: Connection,
  options: AuctionItemRepositoryOptions = {},
): AuctionItemRepository {
  const model = auctionItemModel(connection);
  // Every item's words go to the typo dictionary as the item is written (search reads it), and
  // every change of an open lot to the suggestion counters.
  const dictionary = options.typoDictionary ?? createTypoDictionary(connection);
  const suggestions = options.suggestions ?? createSuggestionRepository(connection);
  const countSuggestions = async (changes: readonly ItemChange[]) => {
    try {
      await suggestions.itemsChanged(changes);
    } catch (error) {
      // Failing here would tell the client its stored write failed, and a retry would store it twice.
      if (!options.onSuggestionsError) throw error;
      options.onSuggestionsError(error);
    }
  };
  return {
    findById: (id) => model.findById(id).lean<AuctionItemRecord>().exec(),
    findByIds: (ids) =>
      model
        .find({ _id: { $in: ids } })
        .lean<AuctionItemRecord[]>()
        .exec(),
    categoriesOf: async (ids) => {
      const rows = await model
        .find({ _id: { $in: ids } }, { category: 1 })
        .lean<Array<{ _id: Types.ObjectId; category: string }>>()
        .exec();
      return new Map(rows.map((row) => [row._id.toHexString(), row.category]));
    },
    idsOfSeller: async (sellerId) => {
      const rows = await model.find({ sellerId }, { _id: 1 }).lean<Array<{ _id: Types.ObjectId }>>().exec();
      return rows.map((row) => row._id);
    },
    insert: async (item) => {
      const created = await model.create(item);
      await dictionary.addWords(item.searchTerms);
      await countSuggestions([{ before: null, after: item }]);
      return created.toObject();
    },
    insertMany: async (items) => {
      // `lean` skips mongoose's per-document hydration (tens of µs each, the bulk of a large seed's
      // Node time) but also its defaults; they are applied here so that a bulk-inserted item is
      // stored exactly like one from `insert` (an item without `popularity` would drop out of the
      // POPULARITY order after its first page: the keyset seek compares numbers).
      await model.insertMany(
        items.map((item) => model.applyDefaults({ ...item })),
        { ordered: false, lean: true },
      );
      await dictionary.addWords(items.flatMap((item) => item.searchTerms));
      await countSuggestions(items.map((item) => ({ before: null, after: item })));
    },
    insertImported: async (items, { countSuggestions: count }) => {
      const documents = items.map((item) => model.applyDefaults({ _id: new Types.ObjectId(), ...item }));
      // The words first: a stored item's words are then always in the dictionary, even when the
      // batch fails after its insert and its lines come back EXISTING on the next import (a word
      // of an item that was not stored costs nothing: corrections are checked against the items).
      await dictionary.addWords(items.flatMap((item) => item.searchTerms));
      // Any other failure fails the batch: which of its items were stored is then unknown, and
      // importing the lines again is the answer (they are found by their external ids).
      const taken = await insertManyExceptDuplicates(model.collection, documents);
      const inserted = items.filter((_, index) => !taken.has(index));
      if (count) await countSuggestions(inserted.map((item) => ({ before: null, after: item })));
      return documents.map((document, index) => (taken.has(index) ? null : (document._id as Types.ObjectId)));
    },
    recountSuggestions: async () => {
      await suggestions.recount({ repair: true });
    },
    idsOfExternalIds: async (externalIds) => {
      const rows = await model
        .find({ externalId: { $in: externalIds } }, { externalId: 1 })
        .lean<Array<{ _id: Types.ObjectId; externalId: string }>>()
        .exec();
      return new Map(rows.map((row) => [row.externalId, row._id]));
    },
    updateIfStatus: async (id, expectedStatus, changes) => {
      // The item as it was: the suggestion counters move by the difference.
      const before = await model
        .findOneAndUpdate({ _id: id, status: expectedStatus }, { $set: changes } as UpdateQuery<AuctionItemRecord>, {
          returnDocument: 'before',
        })
        .lean<AuctionItemRecord>()
        .exec();
      if (!before) return null;
      const updated: AuctionItemRecord = { ...before, ...changes };
      if (changes.searchTerms) await dictionary.addWords(changes.searchTerms);
      await countSuggestions([{ before, after: updated }]);
      return updated;
    },
    setPopularity: async (scores) => {
      // What is stored now (the ranked items only, read from the popularity index): only the items
      // whose score differs are written, and only those that dropped out are zeroed.
      const stored = new Map(
        (
          await model
            .find({ popularity: { $gt: 0 } }, { _id: 1, popularity: 1 })
            .lean<Array<{ _id: Types.ObjectId; popularity: number }>>()
            .exec()
        ).map((item) => [item._id.toHexString(), item.popularity]),
      );
      const changed = [...scores].filter(([id, popularity]) => (stored.get(id) ?? 0) !== popularity);
      const dropped = [...stored.keys()].filter((id) => !scores.has(id));
      let written = 0;
      let zeroed = 0;
      for (const chunk of chunks(changed, POPULARITY_CHUNK)) {
        const result = await model.bulkWrite(
          chunk.map(([id, popularity]) => ({
            updateOne: {
              // Another instance's refresh may have written it meanwhile: then nothing to do.
              filter: { _id: new Types.ObjectId(id), popularity: { $ne: popularity } },
              update: { $set: { popularity } },
            },
          })),
          { ordered: false },
        );
        written += result.modifiedCount;
      }
      for (const chunk of chunks(dropped, POPULARITY_CHUNK)) {
        const ids = chunk.map((id) => new Types.ObjectId(id));
        zeroed += (
          await model.updateMany({ _id: { $in: ids }, popularity: { $gt: 0 } }, { $set: { popularity: 0 } }).exec()
        ).modifiedCount;
      }
      return { written, zeroed };
    },
    isEmpty: async () => (await model.findOne({}, { _id: 1 }).lean().exec()) === null,
    ensureIndexes: async () => {
      await Promise.all([ensureSchemaIndexes(model), dictionary.ensureIndexes(), suggestions.ensureIndexes()]);
    },
  };
}
