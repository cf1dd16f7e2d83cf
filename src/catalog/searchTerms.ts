/**
 * Word search without `$regex` over free text and without `$text` (which the offline engine
 * lacks): each item stores the normalized words of its title, description and tags in
 * `searchTerms` (a multikey index), and a query word matches a stored word it is a prefix of.
 * Query words become anchored, escaped prefix regexes (`^vint`), which MongoDB answers from the
 * index bounds ["vint", "vinu"); user text is never interpreted as a pattern or an operator.
 */

/** Longest word kept; longer runs of letters are cut (nobody searches 200-letter words). */
const MAX_TERM_LENGTH = 40;
/** Upper bound on a search query's length and word count. */
export const SearchQueryLimits = { maxLength: 200, maxWords: 8 } as const;

/**
 * Splits text into lowercase words without diacritics ("Café Crème" → ["cafe", "creme"]):
 * letters and digits of any script; everything else separates words.
 */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0)
    .map((word) => [...word].slice(0, MAX_TERM_LENGTH).join(''));
}

/** The derived word lists stored with each item. */
export interface SearchTerms {
  /** Distinct words of title, description and tags: what a query can match. */
  searchTerms: string[];
  /** Distinct words of the title alone: matches here rank higher. */
  titleTerms: string[];
}

/** Computes the stored word lists of an item from its text fields. */
export function searchTermsOf(item: { title: string; description: string; tags: readonly string[] }): SearchTerms {
  const titleTerms = [...new Set(tokenize(item.title))];
  const searchTerms = [...new Set([...titleTerms, ...tokenize(item.description), ...item.tags.flatMap(tokenize)])];
  return { searchTerms, titleTerms };
}

/** Escapes every regular-expression metacharacter, so the text matches only itself. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
