import { LRUCache } from 'lru-cache';
import type { Connection, mongo } from 'mongoose';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { DICTIONARY_MIN_LENGTH, allowedTypos, deletions, dictionaryKeys, typoDistance } from './typos';

/** A catalog word as the dictionary stores it: the word and its deletion keys (see typos.ts). */
interface DictionaryWord {
  _id: string;
  keys: string[];
}

/** Words this process knows are stored: the dictionary is written only for new ones. */
const KNOWN_WORDS = 100_000;

/**
 * The words of the catalog, for typo tolerance (`search_words`, one document per distinct word of
 * 4 letters or more, indexed by its deletion keys). Words are added as items are written and never
 * removed: a word whose last item is gone only yields a correction that matches nothing.
 */
export interface TypoDictionary {
  /** Stores the words not stored yet (unordered inserts; concurrent writers of a word are harmless). */
  addWords(words: Iterable<string>): Promise<void>;
  /**
   * For each query word that may carry a typo, the catalog words within its allowance (one edit
   * from 5 letters, two from 9), other than the word itself and the words it is a prefix of
   * (which it matches as typed). One query for all the words.
   */
  corrections(words: readonly string[]): Promise<Map<string, string[]>>;
  /** Creates the collection's index. */
  ensureIndexes(): Promise<void>;
}

/** Binds the typo dictionary to a connection. */
export function createTypoDictionary(connection: Connection): TypoDictionary {
  const words = connection.collection<DictionaryWord>('search_words');
  const known = new LRUCache<string, true>({ max: KNOWN_WORDS });
  return {
    addWords: async (candidates) => {
      const fresh = [...new Set(candidates)].filter(
        (word) => [...word].length >= DICTIONARY_MIN_LENGTH && !known.has(word),
      );
      if (fresh.length === 0) return;
      await insertManyExceptDuplicates(
        words,
        fresh.map((word) => ({ _id: word, keys: dictionaryKeys(word) })),
      );
      for (const word of fresh) known.set(word, true);
    },
    corrections: async (queryWords) => {
      const tolerant = [...new Set(queryWords)].filter((word) => allowedTypos(word) > 0);
      const found = new Map<string, string[]>();
      if (tolerant.length === 0) return found;
      const lookup = new Set<string>();
      for (const word of tolerant) for (const key of [word, ...deletions(word, allowedTypos(word))]) lookup.add(key);
      const keys = [...lookup];
      // Two finds, each on its index, rather than one `$or` of both: DocumentDB scanned the whole
      // dictionary for the `$or` (tens of milliseconds at 100,000 items, on every typo lookup).
      const hits = await Promise.all([
        words.find({ _id: { $in: keys } } as mongo.Filter<DictionaryWord>, { projection: { _id: 1 } }).toArray(),
        words.find({ keys: { $in: keys } }, { projection: { _id: 1 } }).toArray(),
      ]);
      const candidates = [...new Map(hits.flat().map((word) => [word._id, word])).values()];
      for (const word of tolerant) {
        const allowed = allowedTypos(word);
        const close = candidates
          .map((candidate) => candidate._id)
          .filter((term) => !term.startsWith(word) && typoDistance(word, term, allowed) <= allowed)
          .sort((a, b) => typoDistance(word, a, allowed) - typoDistance(word, b, allowed) || a.localeCompare(b));
        if (close.length > 0) found.set(word, close);
      }
      return found;
    },
    ensureIndexes: async () => {
      await words.createIndex({ keys: 1 });
    },
  };
}
