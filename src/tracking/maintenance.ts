import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import { HOUR_MS } from '../analytics/timeRange';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { TrackingRepository } from './tracking.repository';

/** Buckets rebuilt per recovery round; the rest waits for the next round. */
const RECOVERY_BATCH = 500;

/**
 * Rebuilds the rollup buckets of counted events whose increments were never confirmed (a crash
 * or a database error between storing events and incrementing counters). Only closed hours are
 * rebuilt — no flush writes to them any more — so the `$set` rebuild cannot race an `$inc`.
 * Returns the number of buckets rebuilt.
 */
export async function recoverPendingRollups(
  tracking: TrackingRepository,
  catalog: AuctionItemRepository,
  clock: Clock,
): Promise<number> {
  const currentHour = new Date(Math.floor(clock.now().getTime() / HOUR_MS) * HOUR_MS);
  const buckets = await tracking.pendingRollupBuckets(currentHour, RECOVERY_BATCH);
  if (buckets.length === 0) return 0;
  const categories = await catalog.categoriesOf(buckets.map((bucket) => bucket.itemId));
  for (const bucket of buckets) {
    await tracking.rebuildBucket(bucket.itemId, bucket.hourBucket, categories.get(bucket.itemId.toHexString()) ?? '');
  }
  return buckets.length;
}

/**
 * Runs rollup recovery and the retention purge now and then every `intervalMs`, in the
 * background; returns a function that stops it. The purge works on every engine (the offline
 * engine has no TTL expiry).
 */
export function scheduleMaintenance(
  tracking: TrackingRepository,
  catalog: AuctionItemRepository,
  clock: Clock,
  options: { intervalMs: number; retentionMs: number },
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const round = async () => {
    try {
      const rebuilt = await recoverPendingRollups(tracking, catalog, clock);
      if (rebuilt > 0) logger.warn({ buckets: rebuilt }, 'rebuilt rollup buckets from stored events');
      await tracking.purgeBefore(new Date(clock.now().getTime() - options.retentionMs));
    } catch (error) {
      logger.warn({ err: error }, 'tracking maintenance failed; retrying next round');
    }
  };
  const run = () => {
    running ??= round().finally(() => (running = undefined));
  };
  run();
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
