import type { AuctionStatus } from '../catalog/auctionItem.model';
import type { ItemSearch } from '../catalog/search.repository';

/** A search's filter as its canonical key holds it (what `searchAnalytics` reports per query). */
export interface StoredFilter {
  readonly category?: string[];
  readonly status?: AuctionStatus[];
  readonly tags?: string[];
  readonly sellerId?: string;
  readonly currency?: string;
  readonly price?: { min?: number; max?: number };
}

/**
 * The canonical form of a search's filter, what the day rollups and the analytics group by: the
 * conditions that describe what a buyer browsed (categories, statuses, tags, seller, currency,
 * price), sorted; date ranges are left out (they move with the clock: "ending in 24 h").
 */
export function filterKeyOf(search: ItemSearch): string {
  const sorted = (values: readonly string[] | undefined) => (values ? [...values].sort() : undefined);
  const filter = {
    category: sorted(search.categories),
    status: sorted(search.statuses),
    tags: sorted(search.tags),
    sellerId: search.sellerId,
    currency: search.currency,
    price: search.price && { min: search.price.min, max: search.price.max },
  };
  const json = JSON.stringify(filter);
  return json === '{}' ? '' : json;
}

/** The filter of a canonical key (`filterKeyOf`'s inverse); none for `''`. */
export function filterOfKey(filterKey: string): StoredFilter | undefined {
  return filterKey ? (JSON.parse(filterKey) as StoredFilter) : undefined;
}
