import type { Types } from 'mongoose';
import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import { HOUR_MS, startOfHour } from '../shared/clock';
import type { HourCounters, TrackingRepository } from './tracking.repository';
import { chunks } from '../shared/chunks';

/** Items whose hours are compared per round trip pair (one aggregation of events, one rollup read). */
const ITEMS_PER_ROUND = 200;

/** One counter of one (item, hour, source) whose stored value is not what the counted events support. */
export interface RollupDifference {
  readonly itemId: Types.ObjectId;
  readonly hourBucket: Date;
  readonly source: string;
  readonly counter: 'impressions' | 'clicks';
  /** What `item_days` holds. */
  readonly stored: number;
  /** What the stored counted events support. */
  readonly counted: number;
}

/** What {@link checkRollups} compared, found and (when asked) repaired. */
export interface RollupCheckReport {
  /** The hours compared: [from, to), clamped to those that can be recounted (see {@link checkableHours}). */
  readonly from: Date;
  readonly to: Date;
  readonly items: number;
  readonly differences: RollupDifference[];
  /** (item, hour) buckets rebuilt from their events (0 unless `repair`). */
  readonly repairedBuckets: number;
}

/**
 * The hours whose counters can be recounted from raw events: those still within `RETENTION_DAYS`
 * (the first, possibly half-purged hour left out) and closed for at least the recovery grace (no
 * flush increments them any more, so a rebuild cannot race an `$inc`, see `recoverRollups`).
 */
export function checkableHours(now: Date, retentionMs: number, graceMs: number): { from: Date; to: Date } {
  return {
    from: new Date(startOfHour(new Date(now.getTime() - retentionMs)).getTime() + HOUR_MS),
    to: startOfHour(new Date(now.getTime() - graceMs)),
  };
}

/**
 * Compares the rollup counters of closed hours with recounts of the counted events they were
 * built from: an operator's check after an incident (a restore, an engine fault, a shard move that
 * lost writes). With `repair`, rebuilds each differing (item, hour) from its events as the rollup
 * recovery does; counters above the recount (an erasure deletes events but keeps counters) are
 * kept unless `lower`.
 *
 * @param itemIds - the items to check; all items with counts in the range when omitted (two
 *   `distinct` commands, then one aggregation and one rollup read per {@link ITEMS_PER_ROUND} items)
 */
export async function checkRollups(
  tracking: TrackingRepository,
  catalog: AuctionItemRepository,
  range: { from: Date; to: Date },
  options: { itemIds?: readonly Types.ObjectId[]; repair?: boolean; lower?: boolean } = {},
): Promise<RollupCheckReport> {
  const { from, to } = range;
  const itemIds = options.itemIds ?? (from < to ? await tracking.itemsWithCounts(from, to) : []);
  const differences: RollupDifference[] = [];
  let repairedBuckets = 0;
  for (const batch of from < to ? chunks(itemIds, ITEMS_PER_ROUND) : []) {
    const [counted, stored] = await Promise.all([
      tracking.countedHours(batch, from, to),
      tracking.storedHours(batch, from, to),
    ]);
    const storedByBucket = new Map(stored.map((hour) => [bucketKey(hour), hour]));
    const countedByBucket = new Map(counted.map((hour) => [bucketKey(hour), hour]));
    const differing = new Map<string, HourCounters>();
    for (const key of new Set([...storedByBucket.keys(), ...countedByBucket.keys()])) {
      const found = compareHour(storedByBucket.get(key), countedByBucket.get(key));
      if (found.length === 0) continue;
      differences.push(...found);
      differing.set(key, (storedByBucket.get(key) ?? countedByBucket.get(key))!);
    }
    if (!options.repair || differing.size === 0) continue;
    const categories = await catalog.categoriesOf([...differing.values()].map((hour) => hour.itemId));
    for (const [key, hour] of differing) {
      await tracking.rebuildBucket(hour.itemId, hour.hourBucket, categories.get(hour.itemId.toHexString()) ?? '', {
        keepAbove: options.lower ? undefined : storedByBucket.get(key)?.bySource,
      });
      repairedBuckets++;
    }
  }
  return { from, to, items: itemIds.length, differences, repairedBuckets };
}

function bucketKey(hour: HourCounters): string {
  return `${hour.itemId.toHexString()}|${hour.hourBucket.getTime()}`;
}

/** Every counter of one bucket that differs between the stored and the counted side (either may be absent). */
function compareHour(stored: HourCounters | undefined, counted: HourCounters | undefined): RollupDifference[] {
  const { itemId, hourBucket } = (stored ?? counted)!;
  const sources = new Set([...Object.keys(stored?.bySource ?? {}), ...Object.keys(counted?.bySource ?? {})]);
  const differences: RollupDifference[] = [];
  for (const source of [...sources].sort())
    for (const counter of ['impressions', 'clicks'] as const) {
      const storedValue = stored?.bySource[source]?.[counter] ?? 0;
      const countedValue = counted?.bySource[source]?.[counter] ?? 0;
      if (storedValue !== countedValue)
        differences.push({ itemId, hourBucket, source, counter, stored: storedValue, counted: countedValue });
    }
  return differences;
}
