/**
 * Typo tolerance without a search engine: a symmetric-deletion dictionary (the SymSpell idea).
 * Two words are within `k` edits only if deleting at most `k` letters from each can make them
 * equal, so the dictionary stores, with every catalog word, the strings its deletions make, and a
 * query word is looked up by its own deletions: one indexed query finds every candidate, and the
 * exact distance then keeps only the true ones. Works on any MongoDB-API engine (a multikey index),
 * sharded or not.
 */

/** Shortest word a typo is allowed in (shorter words must be typed exactly, as in Typesense and Algolia). */
export const ONE_TYPO_MIN_LENGTH = 5;
/** Shortest word two typos are allowed in. */
export const TWO_TYPOS_MIN_LENGTH = 9;
/**
 * Shortest dictionary word: a 5-letter query word with one letter too many must still find the
 * 4-letter word it was meant to be.
 */
export const DICTIONARY_MIN_LENGTH = ONE_TYPO_MIN_LENGTH - 1;

/** How many typos a word of this many letters may carry: 0, 1 (5–8 letters) or 2 (9 and more). */
export function allowedTypos(word: string): number {
  const length = [...word].length;
  if (length >= TWO_TYPOS_MIN_LENGTH) return 2;
  return length >= ONE_TYPO_MIN_LENGTH ? 1 : 0;
}

/** The distinct strings made by deleting 1 to `count` letters of `word` (letters, not UTF-16 units), never empty. */
export function deletions(word: string, count: number): string[] {
  const found = new Set<string>();
  let current = new Set([word]);
  for (let round = 0; round < count; round++) {
    const next = new Set<string>();
    for (const text of current) {
      const letters = [...text];
      if (letters.length <= 1) continue;
      for (let i = 0; i < letters.length; i++) next.add([...letters.slice(0, i), ...letters.slice(i + 1)].join(''));
    }
    for (const text of next) found.add(text);
    current = next;
  }
  found.delete(word);
  return [...found];
}

/**
 * The deletion keys stored with a dictionary word: its deletions up to the typos a query word of
 * its length may carry (none under 5 letters).
 */
export function dictionaryKeys(word: string): string[] {
  return deletions(word, allowedTypos(word));
}

/**
 * The edit distance between `a` and `b` counting an insertion, a deletion, a substitution and a
 * swap of two neighbouring letters as one edit each (optimal string alignment), or `max + 1` as
 * soon as it is known to exceed `max`.
 */
export function typoDistance(a: string, b: string, max: number): number {
  const x = [...a];
  const y = [...b];
  if (Math.abs(x.length - y.length) > max) return max + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        value = Math.min(value, beforePrevious[j - 2]! + 1);
      current.push(value);
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum > max) return max + 1;
    beforePrevious = previous;
    previous = current;
  }
  return Math.min(previous[y.length]!, max + 1);
}
