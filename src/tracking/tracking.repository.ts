import { ensureSchemaIndexes } from '../db/indexes';
import { Types, type Connection } from 'mongoose';
import { itemDayId, itemDayModel, type ItemDayRecord } from '../analytics/rollups.model';
import { addToSketch } from '../analytics/uniqueSketch';
import { HOUR_MS, startOfDay } from '../shared/clock';
import { LRUCache } from 'lru-cache';
import { bulkWriteRetryingConflicts, DUPLICATE_KEY, type FailedWrite } from '../db/bulkWrites';
import { retryTransientConflicts } from '../db/transientConflicts';
import { createSketchStore, type ItemDaySketches } from './sketchStore';
import { rollupJournalModel, type RollupBucket, type RollupJournalRecord } from './rollupJournal.model';
import {
  EventType,
  DEDUP_INDEXES,
  TrackingOutcome,
  trackingEventModel,
  uncountedEventKey,
  type TrackingEventRecord,
} from './trackingEvent.model';

/** An event to store; `_id` is assigned by the caller so results map back to requests. */
export type NewTrackingEvent = TrackingEventRecord;

/** A counted event's dedup key with its item: the shard key that routes the lookup. */
export interface ItemKey {
  readonly itemId: Types.ObjectId;
  readonly dedupKey: string;
}

/** Outcome of one bulk insert. */
export interface InsertResult {
  /** Ids refused by the dedup index (another instance or request counted the same key first). */
  readonly duplicates: Set<string>;
}

/** Refused events counted instead of stored (see `AuditAggregator`): one row per key and minute. */
export interface AuditAggregate {
  readonly ip: string;
  /** Start of the UTC minute. */
  readonly minute: Date;
  readonly type: EventType;
  readonly outcome: TrackingOutcome;
  count: number;
}

/** What one flush adds to one item's rollup of one UTC day. */
export interface ItemDayIncrement {
  readonly itemId: Types.ObjectId;
  /** Start of the UTC day. */
  readonly day: Date;
  /** The item's category, stored when the day's document is created. */
  readonly category: string;
  /** Counter increments per hour of the day (0–23) and source. */
  readonly counters: ReadonlyArray<{ hour: number; source: string; impressions: number; clicks: number }>;
}

/** Item-day ids remembered as existing per process: a day's worth for a large catalog. */
const KNOWN_ITEM_DAYS = 200_000;
/** Events given a dedup key per bulk write by the one-time migration (see `giveEveryEventAKey`). */
const KEY_MIGRATION_BATCH = 1_000;

/** The distinct codes of failed writes, for an error message. */
function codesOf(failed: readonly FailedWrite[]): string {
  return [...new Set(failed.map((write) => write.code))].join(', ');
}

/** Code-point order of two keys, `undefined` first: the one lock order every writer uses. */
function compareKeys(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/** Storage of tracked events and of the counters derived from them. No policy here. */
export interface TrackingRepository {
  /** Unordered bulk insert; duplicate dedup keys are reported, any other failure throws. */
  insertEvents(events: readonly NewTrackingEvent[]): Promise<InsertResult>;
  /** One upsert per (item, day): `$inc` of counters; one unordered bulk write. */
  incrementItemDays(increments: readonly ItemDayIncrement[]): Promise<void>;
  /** Merges registers into the item-days' unique sketches (see `sketchStore.ts`); resolves once all are stored. */
  mergeSketches(sketches: readonly ItemDaySketches[]): Promise<void>;
  /** Records the buckets a flush is about to count events in (see `RollupJournalRecord`); returns its id. */
  openJournal(buckets: readonly RollupBucket[]): Promise<Types.ObjectId>;
  /** Removes journal entries whose buckets are up to date. */
  closeJournals(ids: readonly Types.ObjectId[]): Promise<void>;
  /** Up to `limit` journal entries all of whose buckets are hours starting before `before`. */
  settledJournals(before: Date, limit: number): Promise<Array<{ _id: Types.ObjectId; buckets: RollupBucket[] }>>;
  /**
   * Atomically spends one click claim of a counted impression of `itemId` in `sessionId` received
   * since `since` that has fewer than `maxClaims` claims (the oldest such impression first).
   * Returns its id, or null when there is none. One conditional `findOneAndUpdate`: the document
   * update is atomic on every engine, so concurrent clicks on any instances never over-spend.
   */
  claimImpression(
    sessionId: string,
    itemId: Types.ObjectId,
    since: Date,
    maxClaims: number,
  ): Promise<Types.ObjectId | null>;
  /** Adds refused-event counts to their (address, minute, type, outcome) rows: one unordered bulk upsert. */
  addAuditAggregates(rows: readonly AuditAggregate[]): Promise<void>;
  /**
   * Events per (UTC hour, outcome) received in [from, to): stored events (every counted one and
   * the sampled refused ones) plus the audit aggregates (the rest of the refused ones, duplicates).
   */
  outcomesByHour(from: Date, to: Date): Promise<OutcomeCount[]>;
  /**
   * Which of these dedup keys a counted event already holds: one query on the unique index, sent
   * only to the shards holding these items.
   */
  countedKeys(keys: readonly ItemKey[]): Promise<Set<string>>;
  /** Gives back a claim taken by {@link claimImpression} for a click that was not counted after all. */
  releaseImpressionClaim(impressionId: Types.ObjectId, itemId: Types.ObjectId): Promise<void>;
  /**
   * Recomputes one closed (item, hour) bucket's counters from its counted events with `$set`, and
   * merges their sessions and users into the day's sketches: idempotent both. With `keepAbove`,
   * no counter is set below the value given there (the stored one, when only lost increments are
   * to be restored: an erasure deletes events but leaves the counters).
   */
  rebuildBucket(
    itemId: Types.ObjectId,
    hourBucket: Date,
    category: string,
    options?: { keepAbove?: HourCounters['bySource'] },
  ): Promise<void>;
  /** The counters the counted events of these items support, per (item, hour) with events, in [from, to): one aggregation. */
  countedHours(itemIds: readonly Types.ObjectId[], from: Date, to: Date): Promise<HourCounters[]>;
  /** The counters `item_days` holds for these items, per (item, hour) with counters, in [from, to): one query. */
  storedHours(itemIds: readonly Types.ObjectId[], from: Date, to: Date): Promise<HourCounters[]>;
  /** The items with counted events or rollups in [from, to) (two `distinct` commands). */
  itemsWithCounts(from: Date, to: Date): Promise<Types.ObjectId[]>;
  /**
   * Creates the indexes; the dedup index for events that are (or are about to be) sharded on the
   * item when `eventsSharded`, else for unsharded ones (see `DEDUP_INDEXES`), replacing the other.
   */
  ensureIndexes(options?: { eventsSharded?: boolean }): Promise<void>;
}

/** `{ [operator]: fields }`, or nothing when there are no fields (MongoDB refuses empty operators). */
function nonEmpty(operator: '$inc', fields: Record<string, number>): Record<string, Record<string, number>> {
  return Object.keys(fields).length > 0 ? { [operator]: fields } : {};
}

/** `hours.<hour>.<source>.<counter>` paths of counter increments, zeros left out. */
function counterIncrements(counters: ItemDayIncrement['counters']): Record<string, number> {
  const paths: Record<string, number> = {};
  for (const { hour, source, impressions, clicks } of counters) {
    if (impressions !== 0) paths[`hours.${hour}.${source}.impressions`] = impressions;
    if (clicks !== 0) paths[`hours.${hour}.${source}.clicks`] = clicks;
  }
  return paths;
}

/** One (item, UTC hour)'s counters per source, as `item_days` stores them and as the counted events support them. */
export interface HourCounters {
  readonly itemId: Types.ObjectId;
  /** Start of the UTC hour. */
  readonly hourBucket: Date;
  /** Source → counters; sources without events are absent. */
  readonly bySource: Readonly<Record<string, { impressions: number; clicks: number }>>;
}

/** How many events of one outcome arrived in one UTC hour. */
export interface OutcomeCount {
  readonly hour: Date;
  readonly outcome: TrackingOutcome;
  readonly count: number;
}

/**
 * The UTC hour of a date field, as a date: `field - (field - epoch) mod 1 h`. Plain date
 * arithmetic, which every engine Gavel runs on supports (unlike `$dateTrunc`).
 */
function hourOf(field: string): object {
  return { $subtract: [field, { $mod: [{ $subtract: [field, new Date(0)] }, HOUR_MS] }] };
}

/** Binds the tracking repository to a connection. */
export function createTrackingRepository(connection: Connection): TrackingRepository {
  const events = trackingEventModel(connection);
  const itemDays = itemDayModel(connection);
  const journal = rollupJournalModel(connection);
  // The hot path writes through the driver: these documents need no casting or validation, and
  // building mongoose documents for a flush's hundreds of updates costs more than the writes.
  const itemDayDocuments = connection.collection<ItemDayRecord>(itemDays.collection.collectionName);
  const journalDocuments = connection.collection<RollupJournalRecord>(journal.collection.collectionName);
  const auditDocuments = connection.collection<{ _id: string } & Omit<AuditAggregate, 'count'> & { count: number }>(
    'tracking_audit_aggregates',
  );

  const sketchStore = createSketchStore(connection);

  /** Item-day ids this process has seen exist: their documents need no creating. */
  const existingItemDays = new LRUCache<string, true>({ max: KNOWN_ITEM_DAYS });

  /**
   * Creates the item-day documents that may not exist yet, by `insert` with duplicates ignored,
   * so that increments never have to create them. Concurrent upserts of one missing document
   * lose increments on DocumentDB 0.106 (several writers each report inserting it, and only one
   * insert's counts survive); concurrent inserts are decided exactly by the `_id` index.
   */
  const createMissingItemDays = async (
    days: ReadonlyArray<{ _id: string; itemId: Types.ObjectId; day: Date; category: string }>,
  ): Promise<void> => {
    const missing = days.filter(({ _id }) => !existingItemDays.has(_id));
    if (missing.length === 0) return;
    const failed = await bulkWriteRetryingConflicts(
      itemDayDocuments,
      missing.map(({ _id, itemId, day, category }) => ({
        insertOne: { document: { _id, itemId, day, category } as ItemDayRecord },
      })),
      // A repeated insert of a created document is a duplicate, which is ignored.
      { unknownOutcome: 'repeat' },
    );
    const refused = failed.filter((write) => write.code !== DUPLICATE_KEY);
    if (refused.length > 0)
      throw new Error(`${refused.length} rollup documents could not be created (codes ${codesOf(refused)})`);
    for (const { _id } of missing) existingItemDays.set(_id, true);
  };

  /**
   * On events about to be sharded that were not (the unsharded dedup index still there): gives
   * the events without a dedup key (stored before every event had one) their
   * {@link uncountedEventKey}, in batches, so that the sharded dedup index can be built. Does
   * nothing once that index is in place.
   */
  const giveEveryEventAKey = async (): Promise<void> => {
    const indexes = await events.collection
      .listIndexes()
      .toArray()
      .catch(() => []);
    if (!indexes.some((index) => index.name === DEDUP_INDEXES.unsharded.name)) return;
    for (;;) {
      const batch = await events.collection
        .find({ dedupKey: { $exists: false } }, { projection: { _id: 1, itemId: 1 } })
        .limit(KEY_MIGRATION_BATCH)
        .toArray();
      if (batch.length === 0) return;
      const failed = await bulkWriteRetryingConflicts(
        events.collection,
        batch.map(({ _id, itemId }) => ({
          updateOne: {
            filter: { _id, itemId },
            update: { $set: { dedupKey: uncountedEventKey(_id as Types.ObjectId) } },
          },
        })),
        { unknownOutcome: 'repeat' },
      );
      if (failed.length > 0)
        throw new Error(`${failed.length} events could not get a dedup key (codes ${codesOf(failed)})`);
    }
  };

  return {
    insertEvents: async (docs) => {
      // In dedup-key order: concurrent flushes (of any instance) that insert the same keys then
      // take the unique index's locks in the same order and wait for each other, where opposite
      // orders deadlock on an engine with row locking.
      const ordered = [...docs].sort((a, b) => compareKeys(a.dedupKey, b.dedupKey));
      const operations = ordered.map((document) => ({ insertOne: { document } }));
      const documentOf = new Map<object, NewTrackingEvent>(
        operations.map((operation) => [operation, operation.insertOne.document]),
      );
      const failed = await bulkWriteRetryingConflicts(events.collection, operations, {
        // Repeat only the events not stored: one stored by the failed command, sent again, would
        // come back as a duplicate of itself and go uncounted.
        unknownOutcome: async (sent) => {
          const ids = sent.map((operation) => documentOf.get(operation)!._id);
          const stored = await events.collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
          const storedIds = new Set(stored.map((event) => (event._id as Types.ObjectId).toHexString()));
          return sent.filter((operation) => !storedIds.has(documentOf.get(operation)!._id.toHexString()));
        },
      });
      const refused = failed.filter((write) => write.code !== DUPLICATE_KEY);
      if (refused.length > 0)
        throw new Error(
          `${refused.length} tracking events were refused (codes ${refused.map((w) => w.code).join(', ')})`,
        );
      return { duplicates: new Set(failed.map((write) => ordered[write.index]!._id.toHexString())) };
    },
    incrementItemDays: async (increments) => {
      if (increments.length === 0) return;
      // In `_id` order, so that concurrent flushes of every instance lock the documents they
      // share in one order: they queue instead of deadlocking. Repeated writes are exact, since
      // only the upserts that did not take effect are sent again.
      const updates = increments
        .map((increment) => ({ _id: itemDayId(increment.itemId, increment.day), increment }))
        .sort((a, b) => compareKeys(a._id, b._id));
      await createMissingItemDays(updates.map(({ _id, increment }) => ({ _id, ...increment })));
      const failed = await bulkWriteRetryingConflicts(
        itemDayDocuments,
        updates.map(({ _id, increment }) => ({
          updateOne: {
            // With the item, the shard key: an upsert on a sharded collection must name its shard.
            filter: { _id, itemId: increment.itemId },
            update: {
              $setOnInsert: { day: increment.day, category: increment.category },
              ...nonEmpty('$inc', counterIncrements(increment.counters)),
            },
            // The document exists (see createMissingItemDays); upsert only covers one removed since.
            upsert: true,
          },
        })),
      );
      if (failed.length > 0) throw new Error(`${failed.length} rollup upserts failed (codes ${codesOf(failed)})`);
    },
    mergeSketches: (sketches) => sketchStore.merge(sketches),
    openJournal: async (buckets) => {
      const lastHourBucket = new Date(
        buckets.reduce((latest, bucket) => Math.max(latest, bucket.hourBucket.getTime()), 0),
      );
      const _id = new Types.ObjectId();
      // Insert with a fixed `_id`: a repeat after a conflict cannot make a second entry.
      await retryTransientConflicts(() =>
        journalDocuments.insertOne({ _id, buckets: [...buckets], lastHourBucket }).catch((error: unknown) => {
          if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
        }),
      );
      return _id;
    },
    closeJournals: async (ids) => {
      if (ids.length > 0) await retryTransientConflicts(() => journal.deleteMany({ _id: { $in: ids } }).exec());
    },
    settledJournals: (before, limit) =>
      journal
        .find({ lastHourBucket: { $lt: before } }, { buckets: 1 })
        .limit(limit)
        .lean<Array<{ _id: Types.ObjectId; buckets: RollupBucket[] }>>()
        .exec(),
    claimImpression: async (sessionId, itemId, since, maxClaims) => {
      const claimed = await retryTransientConflicts(() =>
        events
          .findOneAndUpdate(
            {
              sessionId,
              itemId,
              type: EventType.IMPRESSION,
              outcome: TrackingOutcome.ACCEPTED,
              receivedAt: { $gte: since },
              // Impressions stored before claims existed have no counter: none spent yet.
              $or: [{ clicksClaimed: { $exists: false } }, { clicksClaimed: { $lt: maxClaims } }],
            },
            { $inc: { clicksClaimed: 1 } },
            { sort: { receivedAt: 1 }, projection: { _id: 1 }, returnDocument: 'after' },
          )
          .lean<{ _id: Types.ObjectId }>()
          .exec(),
      );
      return claimed?._id ?? null;
    },
    countedKeys: async (keys) => {
      if (keys.length === 0) return new Set();
      const itemIds = [...new Map(keys.map(({ itemId }) => [itemId.toHexString(), itemId])).values()];
      const found = await events
        .find({ itemId: { $in: itemIds }, dedupKey: { $in: keys.map(({ dedupKey }) => dedupKey) } }, { dedupKey: 1 })
        .lean<Array<{ dedupKey: string }>>()
        .exec();
      return new Set(found.map((event) => event.dedupKey));
    },
    addAuditAggregates: async (rows) => {
      if (rows.length === 0) return;
      const failed = await bulkWriteRetryingConflicts(
        auditDocuments,
        [...rows]
          .map((row) => ({ _id: `${row.ip}|${row.minute.toISOString()}|${row.type}|${row.outcome}`, row }))
          // One lock order for every writer (see insertEvents).
          .sort((a, b) => compareKeys(a._id, b._id))
          .map(({ _id, row }) => ({
            updateOne: {
              filter: { _id },
              update: {
                $setOnInsert: { ip: row.ip, minute: row.minute, type: row.type, outcome: row.outcome },
                $inc: { count: row.count },
              },
              upsert: true,
            },
          })),
      );
      if (failed.length > 0) throw new Error(`${failed.length} audit aggregates failed (codes ${codesOf(failed)})`);
    },
    outcomesByHour: async (from, to) => {
      type Row = { _id: { hour: Date; outcome: TrackingOutcome }; count: number };
      const [stored, aggregated] = await Promise.all([
        events
          .aggregate<Row>([
            { $match: { receivedAt: { $gte: from, $lt: to } } },
            { $group: { _id: { hour: hourOf('$receivedAt'), outcome: '$outcome' }, count: { $sum: 1 } } },
          ])
          .exec(),
        auditDocuments
          .aggregate<Row>([
            { $match: { minute: { $gte: from, $lt: to } } },
            { $group: { _id: { hour: hourOf('$minute'), outcome: '$outcome' }, count: { $sum: '$count' } } },
          ])
          .toArray(),
      ]);
      return [...stored, ...aggregated].map((row) => ({
        hour: new Date(row._id.hour),
        outcome: row._id.outcome,
        count: row.count,
      }));
    },
    releaseImpressionClaim: async (impressionId, itemId) => {
      await retryTransientConflicts(() =>
        events
          .updateOne({ _id: impressionId, itemId, clicksClaimed: { $gt: 0 } }, { $inc: { clicksClaimed: -1 } })
          .exec(),
      );
    },
    rebuildBucket: async (itemId, hourBucket, category, options = {}) => {
      const hourEnd = new Date(hourBucket.getTime() + HOUR_MS);
      const counted = await events
        .find(
          { itemId, outcome: TrackingOutcome.ACCEPTED, receivedAt: { $gte: hourBucket, $lt: hourEnd } },
          { type: 1, source: 1, sessionId: 1, userId: 1, userNotCounted: 1, receivedAt: 1 },
        )
        .lean<
          Array<
            Pick<
              TrackingEventRecord,
              '_id' | 'type' | 'source' | 'sessionId' | 'userId' | 'userNotCounted' | 'receivedAt'
            >
          >
        >()
        .exec();
      const bySource = new Map<string, { impressions: number; clicks: number }>();
      for (const event of counted) {
        const entry = bySource.get(event.source) ?? { impressions: 0, clicks: 0 };
        if (event.type === EventType.IMPRESSION) entry.impressions++;
        else entry.clicks++;
        bySource.set(event.source, entry);
      }
      for (const [source, kept] of Object.entries(options.keepAbove ?? {})) {
        const entry = bySource.get(source) ?? { impressions: 0, clicks: 0 };
        bySource.set(source, {
          impressions: Math.max(entry.impressions, kept.impressions),
          clicks: Math.max(entry.clicks, kept.clicks),
        });
      }
      const day = startOfDay(hourBucket);
      const sessions = addToSketch(
        new Map(),
        counted.map((event) => event.sessionId),
      );
      const users = addToSketch(
        new Map(),
        counted.flatMap((event) => (event.userId && !event.userNotCounted ? [event.userId] : [])),
      );
      if (counted.length > 0) await createMissingItemDays([{ _id: itemDayId(itemId, day), itemId, day, category }]);
      // $set of the hour, not $inc: running this twice (a crash mid-way) gives the same counters;
      // merging sketch registers is idempotent too.
      await retryTransientConflicts(() =>
        itemDayDocuments.updateOne(
          { _id: itemDayId(itemId, day), itemId },
          {
            $setOnInsert: { day, category },
            $set: { [`hours.${(hourBucket.getTime() - day.getTime()) / HOUR_MS}`]: Object.fromEntries(bySource) },
          },
          // An hour without counted events (its only events were duplicates) creates no document.
          { upsert: counted.length > 0 },
        ),
      );
      if (counted.length > 0) await sketchStore.merge([{ itemId, day, sessions, users }]);
    },
    countedHours: async (itemIds, from, to) => {
      const rows = await events.collection
        .aggregate<{ _id: { itemId: Types.ObjectId; hour: Date; source: string; type: EventType }; count: number }>([
          {
            $match: {
              itemId: { $in: [...itemIds] },
              outcome: TrackingOutcome.ACCEPTED,
              receivedAt: { $gte: from, $lt: to },
            },
          },
          {
            $group: {
              _id: { itemId: '$itemId', hour: hourOf('$receivedAt'), source: '$source', type: '$type' },
              count: { $sum: 1 },
            },
          },
        ])
        .toArray();
      const hours = new Map<
        string,
        HourCounters & { bySource: Record<string, { impressions: number; clicks: number }> }
      >();
      for (const { _id, count } of rows) {
        const hourBucket = new Date(_id.hour);
        const key = `${_id.itemId.toHexString()}|${hourBucket.getTime()}`;
        const hour = hours.get(key) ?? { itemId: _id.itemId, hourBucket, bySource: {} };
        const counters = (hour.bySource[_id.source] ??= { impressions: 0, clicks: 0 });
        if (_id.type === EventType.IMPRESSION) counters.impressions += count;
        else counters.clicks += count;
        hours.set(key, hour);
      }
      return [...hours.values()];
    },
    storedHours: async (itemIds, from, to) => {
      const days = await itemDayDocuments
        .find(
          { itemId: { $in: [...itemIds] }, day: { $gte: startOfDay(from), $lt: to } },
          { projection: { itemId: 1, day: 1, hours: 1 } },
        )
        .toArray();
      return days.flatMap(({ itemId, day, hours }) =>
        Object.entries(hours ?? {})
          .map(([hour, sources]) => ({
            itemId,
            hourBucket: new Date(day.getTime() + Number(hour) * HOUR_MS),
            bySource: Object.fromEntries(
              Object.entries(sources).map(([source, { impressions = 0, clicks = 0 }]) => [
                source,
                { impressions, clicks },
              ]),
            ),
          }))
          .filter(({ hourBucket }) => hourBucket >= from && hourBucket < to),
      );
    },
    itemsWithCounts: async (from, to) => {
      const [counted, rolledUp] = await Promise.all([
        events.collection.distinct('itemId', {
          outcome: TrackingOutcome.ACCEPTED,
          receivedAt: { $gte: from, $lt: to },
        }),
        itemDayDocuments.distinct('itemId', { day: { $gte: startOfDay(from), $lt: to } }),
      ]);
      const unique = new Map<string, Types.ObjectId>();
      for (const itemId of [...counted, ...rolledUp] as Types.ObjectId[]) unique.set(itemId.toHexString(), itemId);
      return [...unique.values()];
    },
    ensureIndexes: async ({ eventsSharded = false } = {}) => {
      if (eventsSharded) await giveEveryEventAKey();
      const [wanted, replaced] = eventsSharded
        ? [DEDUP_INDEXES.sharded, DEDUP_INDEXES.unsharded]
        : [DEDUP_INDEXES.unsharded, DEDUP_INDEXES.sharded];
      const dedupIndex = {
        key: wanted.key,
        name: wanted.name,
        unique: true,
        ...(wanted.sparse ? { sparse: true } : {}),
      };
      await Promise.all([ensureSchemaIndexes(events, [dedupIndex]), ensureSchemaIndexes(journal)]);
      // The new one before dropping the old, so that a key stays unique throughout.
      await events.collection.dropIndex(replaced.name).catch(() => undefined);
      // trackingOutcomes reads the audit aggregates by minute: the retention's TTL index on `minute`
      // (ensureTtlIndex) serves it.
      // Replaced by { outcome, receivedAt } (one cutoff per outcome class); gone on new databases.
      await events.collection.dropIndex('receivedAt_1').catch(() => undefined);
    },
  };
}
