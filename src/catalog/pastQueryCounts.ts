import { LRUCache } from 'lru-cache';
import { AuctionStatus } from './auctionItem.model';
import type { ItemSearch, SearchRepository } from './search.repository';
import { tokenize } from './searchTerms';

/** How long a past query's count is shown, and after how long a request for it counts it again. */
const PAST_QUERY_COUNT_MAX_AGE_MS = 5_000;
const PAST_QUERY_COUNT_REFRESH_MS = 1_000;
/** Counts remembered (per query and search) and counts running at once, per process. */
const REMEMBERED_COUNTS = 10_000;
const MAX_COUNTING = 4;

/** What {@link PastQueryCounts} needs. */
export interface PastQueryCountsOptions {
  /** Counts the lots a search finds, as `auctionItems` would. */
  readonly lots: Pick<SearchRepository, 'count'>;
  readonly now: () => Date;
  /** A count that failed (it is tried again on the next request). */
  readonly onError: (error: unknown) => void;
}

/**
 * The lots each past successful query finds under a search, counted off the request path: a
 * count over the lots costs a keystroke's whole budget on a large catalog when the query's words
 * are common, so a request takes the counts already made and asks for the missing or aging ones
 * in the background. A count is shown while it is younger than {@link PAST_QUERY_COUNT_MAX_AGE_MS}
 * (a lot that opens or closes changes it within 5 s) and taken again when a request finds it
 * older than 1 s; a query whose count is not ready is left out of that one answer. At most four
 * counts run at once per process, so keystrokes cannot pile counts on the database.
 */
export class PastQueryCounts {
  private readonly counts = new LRUCache<string, { at: number; openLots: number }>({ max: REMEMBERED_COUNTS });
  private readonly counting = new Map<string, Promise<void>>();

  constructor(private readonly options: PastQueryCountsOptions) {}

  /**
   * The open lots (or, when `search` names statuses, the lots of those) that `query` finds under
   * `search`, if counted less than 5 s ago; counts it in the background when that count is
   * missing or older than 1 s.
   */
  peek(query: string, search: ItemSearch): number | undefined {
    const key = `${query}\u0000${JSON.stringify(search)}`;
    const now = this.options.now().getTime();
    const known = this.counts.get(key);
    if (!known || now - known.at >= PAST_QUERY_COUNT_REFRESH_MS) this.count(key, query, search, now);
    return known && now - known.at < PAST_QUERY_COUNT_MAX_AGE_MS ? known.openLots : undefined;
  }

  /** Resolves once the counts running now are stored. */
  async settled(): Promise<void> {
    await Promise.all(this.counting.values());
  }

  private count(key: string, query: string, search: ItemSearch, startedAt: number): void {
    if (this.counting.has(key) || this.counting.size >= MAX_COUNTING) return;
    const counted = this.options.lots
      .count({ ...search, statuses: search.statuses ?? [AuctionStatus.ACTIVE], words: tokenize(query) })
      // Dated by its start: lots that changed while it ran may be missing from it.
      .then((openLots) => void this.counts.set(key, { at: startedAt, openLots }))
      .catch(this.options.onError)
      .finally(() => this.counting.delete(key));
    this.counting.set(key, counted);
  }
}
