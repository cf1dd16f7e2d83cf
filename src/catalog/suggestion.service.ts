import type { ClientInfo } from '../graphql/context';
import { badUserInput, rateLimited } from '../shared/errors';
import type { RateLimiter } from '../tracking/rateLimiter';
import type { PastQueryCounts } from './pastQueryCounts';
import type { ItemSearch } from './search.repository';
import { validateSearch } from './search.service';
import type { AuctionItemFilter } from './search.types';
import { SearchQueryLimits, tokenize } from './searchTerms';
import { SuggestionKind } from './suggestion.model';
import {
  counterScopes,
  type CountedTerm,
  type SuccessfulQuery,
  type SuggestionRepository,
  type TermMatch,
} from './suggestion.repository';
import type { SearchSuggestion } from './suggestion.types';
import type { TypoDictionary } from './typoDictionary';
import { allowedTypos } from './typos';

/** How many suggestions one call returns: `first`'s default and maximum. */
export const SuggestionLimits = { defaultFirst: 8, maxFirst: 20 } as const;
/** Most TAG and most CATEGORY suggestions among the first ones: words are what a buyer types. */
const FILTER_SUGGESTIONS = 2;
/** Most past successful queries among the first ones, and how many are read to find them (some may find no open lot). */
const QUERY_SUGGESTIONS = 2;
const QUERY_CANDIDATES = 4;
/** Longest past query suggested, in letters: longer ones are someone's sentence, not a query to offer. */
const MAX_SUGGESTED_QUERY_LETTERS = 60;
/** Most past successful queries kept (the most searchers first). */
const MAX_PAST_QUERIES = 10_000;

/** Where past successful queries come from and what makes one worth suggesting. */
export interface PastQueriesOptions {
  /** The recorded searches (`SearchesRepository.successfulQueries`). */
  readonly source: { successfulQueries(minSearchers: number, limit: number): Promise<SuccessfulQuery[]> };
  /** The lots each finds (counted off the request path). */
  readonly counts: PastQueryCounts;
  /** `SUGGESTIONS_QUERY_MIN_SEARCHERS`: searchers that must have succeeded with a query before anyone is offered it. */
  readonly minSearchers: number;
  /** Gives each rebuild its time. */
  readonly now: () => Date;
}

/** Arguments of `Query.searchSuggestions`, as received. */
export interface SuggestionArguments {
  prefix: string;
  filter?: AuctionItemFilter | null;
  first?: number | null;
}

/**
 * Suggestions as the buyer types: past queries that enough buyers succeeded with, completions of
 * the last word from the words of open lots' titles, and the tags and categories it begins, each
 * with the open lots it finds under the same filter. A prefix alone or with one filter the counters
 * keep (categories, a seller, a price range on the bands' bounds) reads the live counters (one
 * indexed read per kind); other filters and earlier words are counted over the lots they select;
 * a past query's lots are counted off the request path ({@link PastQueryCounts}).
 */
export class SuggestionService {
  constructor(
    private readonly repository: SuggestionRepository,
    private readonly dictionary: Pick<TypoDictionary, 'corrections'>,
    /** `SUGGESTIONS_PER_MINUTE` per client address; none = unlimited. */
    private readonly limiter: RateLimiter | undefined,
    private readonly pastQueries: PastQueriesOptions,
  ) {}

  /** When this process last rebuilt the past successful queries (ms since the epoch). */
  private lastBuild = 0;

  /**
   * Rebuilds the past successful queries from the recorded searches: those at least
   * `minSearchers` searchers clicked a result of, up to {@link MAX_SUGGESTED_QUERY_LETTERS} letters.
   * Run every `SUGGESTIONS_QUERY_REFRESH_MS`; what retention or erasure removed from the searches
   * leaves the suggestions at the next run. Returns how many queries are suggested now.
   */
  async refreshPastQueries(): Promise<number> {
    // Later than the last build even when the clock is not (what the build replaces is what is older).
    const builtAt = new Date(Math.max(this.pastQueries.now().getTime(), this.lastBuild + 1));
    this.lastBuild = builtAt.getTime();
    const found = await this.pastQueries.source.successfulQueries(this.pastQueries.minSearchers, MAX_PAST_QUERIES);
    const kept = found.filter(({ query }) => [...query].length <= MAX_SUGGESTED_QUERY_LETTERS);
    await this.repository.replaceQueries(kept, builtAt);
    return kept.length;
  }

  /**
   * Validates, spends one point of the client's budget, and returns at most `first` suggestions:
   * past queries (by searchers), words as typed (or, when none, corrections of the last word),
   * then categories and tags, each by open lots.
   */
  async suggest(args: SuggestionArguments, client: ClientInfo): Promise<SearchSuggestion[]> {
    const first = args.first ?? SuggestionLimits.defaultFirst;
    if (!Number.isInteger(first) || first < 1 || first > SuggestionLimits.maxFirst) {
      throw badUserInput('first', `first must be between 1 and ${SuggestionLimits.maxFirst}.`);
    }
    if (args.prefix.length > SearchQueryLimits.maxLength) {
      throw badUserInput('prefix', `prefix must be at most ${SearchQueryLimits.maxLength} characters.`);
    }
    const words = tokenize(args.prefix);
    if (words.length === 0) throw badUserInput('prefix', 'prefix must contain at least one letter or digit.');
    if (words.length > SearchQueryLimits.maxWords) {
      throw badUserInput('prefix', `prefix may contain at most ${SearchQueryLimits.maxWords} words.`);
    }
    const search = validateSearch(null, args.filter);
    if (this.limiter) {
      const { allowed, retryAfterMs } = await this.limiter.take(client.limitKey);
      if (allowed === 0) {
        throw rateLimited(
          `More suggestions than SUGGESTIONS_PER_MINUTE from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s.`,
          retryAfterMs,
        );
      }
    }
    const last = words.at(-1)!;
    const earlier = [...new Set(words.slice(0, -1))];
    const read = this.reader({ ...search, words: earlier });
    // A tag is matched as a whole, spaces included ("camping g" → "camping gear"), as stored: lowercase.
    const readWhole = this.reader({ ...search, words: [] });
    const tagPrefix = args.prefix.trim().toLowerCase().replace(/\s+/g, ' ');
    const [queries, typed, tags, categories] = await Promise.all([
      this.pastQueriesBeginning(words.join(' '), search),
      read(SuggestionKind.WORD, { prefix: last }, first),
      readWhole(SuggestionKind.TAG, { prefix: tagPrefix }, FILTER_SUGGESTIONS),
      earlier.length === 0 && !search.categories
        ? read(SuggestionKind.CATEGORY, { prefix: last }, FILTER_SUGGESTIONS)
        : [],
    ]);
    // A word that completes as typed is being typed, not mistyped: corrections only when none does
    // (a lookup of the word's deletions, which would otherwise tax every whole word typed).
    const corrected = typed.length === 0 ? await this.corrected(read, last, first) : [];
    const filters = [
      ...categories.map((row) => this.suggestion(SuggestionKind.CATEGORY, row, null, false)),
      ...tags.map((row) => this.suggestion(SuggestionKind.TAG, row, null, false)),
    ];
    const completed = (row: CountedTerm) => [...earlier, row.term].join(' ');
    // A past query first (buyers found what they wanted with it); a word completing to the same
    // query is not offered twice.
    const offered = new Set(queries.map((row) => row.term));
    const completions = [
      ...queries.map((row) => this.suggestion(SuggestionKind.QUERY, row, row.term, false)),
      ...typed
        .filter((row) => !offered.has(completed(row)))
        .map((row) => this.suggestion(SuggestionKind.WORD, row, completed(row), false)),
      ...corrected.map((row) => this.suggestion(SuggestionKind.WORD, row, completed(row), true)),
    ];
    // Filters take the places words leave, and at most a quarter when there are enough words.
    const wordPlaces = Math.max(first - filters.length, Math.ceil((first * 3) / 4));
    return [...completions.slice(0, wordPlaces), ...filters].slice(0, first);
  }

  /**
   * How terms are counted for `search`: by the counters when they keep what it selects (see
   * `counterScopes`: the whole catalog, categories, a seller or a price range on the bands'
   * bounds, among open lots); over the lots otherwise.
   */
  private reader(search: ItemSearch) {
    const scopes = counterScopes(search);
    return (kind: SuggestionKind, match: TermMatch, limit: number): Promise<CountedTerm[]> =>
      scopes === null
        ? this.repository.live(kind, match, search, limit)
        : this.repository.counted(kind, match, scopes, limit);
  }

  /**
   * The past successful queries that begin with the typed words, with the lots each finds under
   * `search` (open ones unless it names statuses): those whose count is ready (see
   * {@link PastQueryCounts}) and not 0. One indexed read.
   */
  private async pastQueriesBeginning(typed: string, search: ItemSearch): Promise<CountedTerm[]> {
    if ([...typed].length > MAX_SUGGESTED_QUERY_LETTERS) return [];
    const candidates = await this.repository.queries(typed, QUERY_CANDIDATES);
    const counted: CountedTerm[] = [];
    for (const { query } of candidates) {
      const openLots = this.pastQueries.counts.peek(query, search);
      if (openLots) counted.push({ term: query, openLots });
    }
    return counted.slice(0, QUERY_SUGGESTIONS);
  }

  /** Resolves once the past queries' counts running now are stored. */
  pastQueryCountsSettled(): Promise<void> {
    return this.pastQueries.counts.settled();
  }

  /** Completions of the catalog words the last word may be a typo of (none under 5 letters). */
  private async corrected(
    read: ReturnType<SuggestionService['reader']>,
    word: string,
    limit: number,
  ): Promise<CountedTerm[]> {
    if (allowedTypos(word) === 0) return [];
    const terms = (await this.dictionary.corrections([word])).get(word) ?? [];
    return terms.length === 0 ? [] : read(SuggestionKind.WORD, { terms }, limit);
  }

  private suggestion(
    kind: SuggestionKind,
    row: CountedTerm,
    query: string | null,
    corrected: boolean,
  ): SearchSuggestion {
    return { kind, text: row.term, query, openLots: row.openLots, corrected };
  }
}
