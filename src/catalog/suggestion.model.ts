import { Schema, type Connection, type Model } from 'mongoose';

/** What a suggestion completes the typed prefix to. */
export enum SuggestionKind {
  /** A word of open lots' titles: completes the query. */
  WORD = 'WORD',
  /** A tag of open lots: a `filter.tags` value. */
  TAG = 'TAG',
  /** A category with open lots: a `filter.category` value. */
  CATEGORY = 'CATEGORY',
  /**
   * A whole query that enough buyers searched and clicked a result of (no counter: these are
   * `search_query_suggestions`, their lots counted off the request path, see pastQueryCounts.ts).
   */
  QUERY = 'QUERY',
}

/**
 * The live counters suggestions are read from (`search_suggestions`): per kind, scope and term, how
 * many open (ACTIVE) lots hold the term. The catalog repository keeps them current as it writes items
 * (`SuggestionRepository.itemsChanged`), so a lot that opens or closes changes the suggestions at
 * once, and a suggestion's count is one indexed read instead of a count over the lots.
 */
export interface SuggestionCounterRecord {
  /** `<kind>:<scope>:<term>`: one counter per kind, scope and term. */
  _id: string;
  kind: SuggestionKind;
  /**
   * Which open lots it counts: `''` the whole catalog, a category slug, `seller:<sellerId>`,
   * `price:<lower bound>` a price band, `price=<bound>` the lots priced exactly at a band's bound
   * (see `counterScopes` in suggestion.repository.ts).
   */
  scope: string;
  /** A word (WORD), a whole tag (TAG) or a category slug (CATEGORY). */
  term: string;
  /**
   * Open lots holding the term: for a WORD, in title, description or tags (the words a search
   * matches); for a TAG, as a tag; for a CATEGORY, as their category.
   */
  open: number;
  /**
   * Open lots that make the term worth suggesting: for a WORD, those with it in the title (a word
   * only ever seen in descriptions is not offered); for a TAG or a CATEGORY, the same as `open`.
   */
  shown: number;
  /** Every prefix of the term, shortest first (letters, not UTF-16 units): the index's lookup key. */
  prefixes: string[];
}

const suggestionCounterSchema = new Schema<SuggestionCounterRecord>(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: Object.values(SuggestionKind), required: true },
    scope: { type: String, default: '' },
    term: { type: String, required: true },
    open: { type: Number, default: 0 },
    shown: { type: Number, default: 0 },
    prefixes: { type: [String], default: [] },
  },
  { collection: 'search_suggestions', versionKey: false, strict: 'throw' },
);
// A keystroke is one seek: the kind and scope, the typed prefix (multikey), most open lots first
// (ties by term, so that the order is total and the sort needs no step of its own).
suggestionCounterSchema.index({ kind: 1, scope: 1, prefixes: 1, open: -1, term: 1 });
// Typo corrections look counters up by whole term.
suggestionCounterSchema.index({ kind: 1, scope: 1, term: 1 });

/**
 * A past successful query (`search_query_suggestions`): one that at least
 * `SUGGESTIONS_QUERY_MIN_SEARCHERS` searchers searched and clicked a result of, within the search
 * events' retention. Rebuilt from the search events every `SUGGESTIONS_QUERY_REFRESH_MS`, so that
 * what retention or erasure removes from them leaves these too. Holds no session: counts only.
 */
export interface QuerySuggestionRecord {
  /** The normalized query ("vintage watch"). */
  _id: string;
  /**
   * Searchers that searched it and clicked a result (the smaller of the distinct sessions and the
   * distinct daily client addresses): its rank among the queries a prefix begins.
   */
  searchers: number;
  /** Every prefix of the query, shortest first (letters): the index's lookup key. */
  prefixes: string[];
  /** When the rebuild that wrote it started: older ones are what a later rebuild no longer found. */
  builtAt: Date;
}

const querySuggestionSchema = new Schema<QuerySuggestionRecord>(
  {
    _id: { type: String, required: true },
    searchers: { type: Number, required: true },
    prefixes: { type: [String], default: [] },
    builtAt: { type: Date, required: true },
  },
  { collection: 'search_query_suggestions', versionKey: false, strict: 'throw' },
);
querySuggestionSchema.index({ prefixes: 1, searchers: -1, _id: 1 });
querySuggestionSchema.index({ builtAt: 1 });

/** The past successful queries' model bound to one connection. */
export function querySuggestionModel(connection: Connection): Model<QuerySuggestionRecord> {
  return (
    (connection.models.QuerySuggestion as Model<QuerySuggestionRecord> | undefined) ??
    connection.model<QuerySuggestionRecord>('QuerySuggestion', querySuggestionSchema)
  );
}

/** The suggestion counters' model bound to one connection. */
export function suggestionCounterModel(connection: Connection): Model<SuggestionCounterRecord> {
  return (
    (connection.models.SuggestionCounter as Model<SuggestionCounterRecord> | undefined) ??
    connection.model<SuggestionCounterRecord>('SuggestionCounter', suggestionCounterSchema)
  );
}
