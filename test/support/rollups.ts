import { Types, type Connection } from 'mongoose';

const HOUR = 3_600_000;

/** One (item, hour, source) counter of the stored rollups. */
export interface StoredCounter {
  readonly itemId: string;
  readonly hourBucket: number;
  readonly source: string;
  readonly impressions: number;
  readonly clicks: number;
}

/** Every counter of the `item_days` rollup documents (of these items, when given), read directly. */
export async function storedCounters(connection: Connection, itemIds?: readonly string[]): Promise<StoredCounter[]> {
  const filter = itemIds ? { itemId: { $in: itemIds.map((id) => new Types.ObjectId(id)) } } : {};
  const counters: StoredCounter[] = [];
  for (const row of await connection.collection('item_days').find(filter).toArray()) {
    const hours = (row.hours ?? {}) as Record<string, Record<string, { impressions?: number; clicks?: number }>>;
    for (const [hour, sources] of Object.entries(hours))
      for (const [source, { impressions = 0, clicks = 0 }] of Object.entries(sources))
        counters.push({
          itemId: (row.itemId as Types.ObjectId).toHexString(),
          hourBucket: (row.day as Date).getTime() + Number(hour) * HOUR,
          source,
          impressions,
          clicks,
        });
  }
  return counters;
}

/** Impressions and clicks counted in the rollups for these items, all hours and sources. */
export async function countedTotals(
  connection: Connection,
  itemIds: readonly string[],
): Promise<{ impressions: number; clicks: number }> {
  const counters = await storedCounters(connection, itemIds);
  return {
    impressions: counters.reduce((sum, row) => sum + row.impressions, 0),
    clicks: counters.reduce((sum, row) => sum + row.clicks, 0),
  };
}

/**
 * Waits until every tracking flush's rollup journal entry is closed — its counters and its unique
 * sketches written (sketches are written every `TRACKING_SKETCH_INTERVAL_MS`, after the mutation
 * answered) — and fails after `timeoutMs`.
 */
export async function rollupsWritten(connection: Connection, timeoutMs = 10_000): Promise<void> {
  const journal = connection.collection('rollup_journal');
  const deadline = Date.now() + timeoutMs;
  while ((await journal.countDocuments()) > 0) {
    if (Date.now() > deadline) throw new Error(`rollup journal entries still open after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
