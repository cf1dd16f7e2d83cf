import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import { startOfHour, type Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RollupBucket } from './rollupJournal.model';
import type { TrackingRepository } from './tracking.repository';

/** Journal entries recovered per round; the rest waits for the next round. */
const RECOVERY_BATCH = 100;
/** Recovery rounds per maintenance run. */
const MAX_RECOVERY_ROUNDS = 20;

/**
 * Rebuilds the rollup buckets of journal entries whose flush never closed them (a crash or a
 * database error between storing events and incrementing counters). Only entries whose hours
 * have all been closed for at least `graceMs` are taken: no flush increments those any more (a
 * flush leaves events whose hour closed more than `graceMs / 2` ago to the recovery, see
 * `TrackingWriter`), so the `$set` rebuild cannot race an `$inc` from this or another instance,
 * even one whose flush was slow or whose clock is a little off. The price: after a crash, the
 * current hour's lost increments appear at the first maintenance run after the hour has closed
 * plus `graceMs`. Returns the
 * number of buckets rebuilt.
 */
export async function recoverRollups(
  tracking: TrackingRepository,
  catalog: AuctionItemRepository,
  clock: Clock,
  graceMs: number,
): Promise<number> {
  const settledBefore = startOfHour(new Date(clock.now().getTime() - graceMs));
  const entries = await tracking.settledJournals(settledBefore, RECOVERY_BATCH);
  if (entries.length === 0) return 0;
  const buckets = new Map<string, RollupBucket>();
  for (const bucket of entries.flatMap((entry) => entry.buckets))
    buckets.set(`${bucket.itemId.toHexString()}|${bucket.hourBucket.getTime()}`, bucket);
  const categories = await catalog.categoriesOf([...buckets.values()].map((bucket) => bucket.itemId));
  for (const bucket of buckets.values()) {
    await tracking.rebuildBucket(bucket.itemId, bucket.hourBucket, categories.get(bucket.itemId.toHexString()) ?? '');
  }
  // Only now: a crash during the rebuilds leaves the entries for the next round (rebuilds are idempotent).
  await tracking.closeJournals(entries.map((entry) => entry._id));
  return buckets.size;
}

/**
 * Runs rollup recovery and the retention purge now and then every `intervalMs`, in the
 * background; returns a function that stops it. The purge works on every engine (the offline
 * engine has no TTL expiry); see `RetentionService`.
 */
export function scheduleMaintenance(
  tracking: TrackingRepository,
  catalog: AuctionItemRepository,
  clock: Clock,
  options: {
    intervalMs: number;
    recoveryGraceMs: number;
    purge: () => Promise<unknown>;
    /** Told after each run how many buckets the recovery rebuilt, and whether the run failed (metrics). */
    onRun?: (rebuiltBuckets: number, failed: boolean) => void;
  },
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const runOnce = async () => {
    let rebuiltBuckets = 0;
    let failed = false;
    try {
      // Each round closes the entries it rebuilt, so rounds of work catch up after a crash; bounded
      // so that one maintenance run never monopolises the database.
      for (let round = 0; round < MAX_RECOVERY_ROUNDS; round++) {
        const rebuilt = await recoverRollups(tracking, catalog, clock, options.recoveryGraceMs);
        if (rebuilt === 0) break;
        rebuiltBuckets += rebuilt;
        logger.warn({ buckets: rebuilt }, 'rebuilt rollup buckets from stored events');
      }
      await options.purge();
    } catch (error) {
      failed = true;
      logger.warn({ err: error }, 'tracking maintenance failed; retrying next round');
    }
    options.onRun?.(rebuiltBuckets, failed);
  };
  const run = () => {
    running ??= runOnce().finally(() => (running = undefined));
  };
  run();
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
