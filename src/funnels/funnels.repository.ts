import { Types, type Connection, type mongo } from 'mongoose';
import { bulkWriteRetryingConflicts, DUPLICATE_KEY, upsertsRetryingRaces } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { chunks } from '../shared/chunks';
import { conversionEventModel } from '../conversions/conversionEvent.model';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import {
  FunnelScope,
  funnelDayModel,
  journeyModel,
  type FunnelDayRecord,
  type CountedJourneys,
  type JourneyRecord,
} from './funnel.model';
import { addHistogram, FunnelStep } from './journeys';

/** A step of one journey, read from the counted tracking events or the conversions. */
export interface JourneyEvent {
  readonly itemId: Types.ObjectId;
  readonly sessionId: string;
  readonly step: FunnelStep;
  /** When it happened: receive time of a tracked event, `occurredAt` of a conversion. */
  readonly at: number;
  /** The traffic source of a tracked event. */
  readonly source?: string;
  /** The user a conversion names (stored form). */
  readonly userId?: string;
  /** The experiment a tracked event was tagged with, and its variant. */
  readonly experiment?: string;
  readonly variant?: string;
  /** When it was received (the builder's checkpoint moves by it). */
  readonly receivedAt: number;
}

/** One journey's `$min` update: step times, touch times and experiment tag times. */
export interface JourneyUpdate {
  readonly id: string;
  readonly itemId: Types.ObjectId;
  readonly sessionId: string;
  readonly steps: Partial<Record<FunnelStep, number>>;
  readonly touches: Record<string, number>;
  /** `tagField(experiment, variant)` → first time. */
  readonly tags: Record<string, number>;
}

/** The builder's lease and checkpoint (`funnel_builder`, one document). */
export interface BuilderState {
  readonly holder: string | null;
  readonly until: Date | null;
  /** Every event received before this is in the journeys. */
  readonly checkpoint: Date | null;
}

/** Rows of one scope over a range of days (`from` inclusive, `to` exclusive). */
export interface FunnelRowQuery {
  readonly scope: FunnelScope;
  readonly from: Date;
  readonly to: Date;
  readonly itemIds?: readonly Types.ObjectId[];
  readonly category?: string;
  readonly sellerId?: string;
}

/** Storage of journeys, their day rows, and the builder's lease. */
export interface FunnelsRepository {
  /**
   * The counted impressions and clicks and the conversions received in `[from, to]`, at most
   * `limit` of each kind (0: all), oldest first; `cut` is the last instant read of a kind that had
   * more (only events up to it are returned), null when both were read to `to`.
   */
  eventsReceived(from: Date, to: Date, limit: number): Promise<{ events: JourneyEvent[]; cut: number | null }>;
  /** Applies `$min` updates (creating journeys); returns the journeys as they are now. */
  updateJourneys(updates: readonly JourneyUpdate[]): Promise<JourneyRecord[]>;
  /**
   * Sets the day each journey is counted under, never later than one already set: a day only moves
   * earlier (steps are `$min`s), so a builder whose lease lapsed cannot undo the holder's move.
   */
  setJourneyDays(days: ReadonlyArray<{ id: string; itemId: Types.ObjectId; day: Date }>): Promise<void>;
  /**
   * The journeys of these lots that began on these days (every lot × day pair: the caller keeps
   * the pairs it wants), in commands of at most 1,000 lots.
   */
  journeysOf(itemIds: readonly Types.ObjectId[], days: readonly Date[]): Promise<JourneyRecord[]>;
  /** Replaces (or, with no entries, deletes) these rows. */
  writeRows(rows: readonly FunnelDayRecord[]): Promise<void>;
  /** The rows of one scope over a range of days; one command. */
  rows(query: FunnelRowQuery): Promise<FunnelDayRecord[]>;
  /** The rows with these ids (those that exist). */
  rowsById(ids: readonly string[]): Promise<FunnelDayRecord[]>;
  /** Item rows of these categories on these days (every pair: the caller keeps the ones it wants); one command. */
  itemRowsOf(categories: readonly string[], days: readonly Date[]): Promise<FunnelDayRecord[]>;
  /** Takes or renews the builder's lease; returns the state when taken, null when another holder has it. */
  takeLease(holder: string, now: Date, until: Date): Promise<BuilderState | null>;
  /** Moves the checkpoint (as the lease's holder); false when `holder` no longer holds the lease. */
  saveCheckpoint(holder: string, checkpoint: Date): Promise<boolean>;
  /** The checkpoint, whoever holds the lease (null before a first round). */
  readCheckpoint(): Promise<Date | null>;
  /** Gives the lease back. */
  releaseLease(holder: string): Promise<void>;
  /** Moves the checkpoint back (a rebuild from `from`), whoever holds the lease. */
  rewind(from: Date): Promise<void>;
  ensureIndexes(): Promise<void>;
}

const STEP_OF_KIND: Record<string, FunnelStep> = {
  ITEM_VIEW: FunnelStep.ITEM_VIEW,
  WATCH: FunnelStep.WATCH,
  BID: FunnelStep.BID,
  PURCHASE: FunnelStep.PURCHASE,
};

/** Steps that come from conversions (the others from tracking). */
export const CONVERSION_STEPS: ReadonlySet<FunnelStep> = new Set(Object.values(STEP_OF_KIND));

/** Ids per read of journeys by id. */
const READ_CHUNK = 1_000;

/** Binds funnel storage to a connection. */
export function createFunnelsRepository(connection: Connection): FunnelsRepository {
  const journeys = journeyModel(connection);
  const days = funnelDayModel(connection);
  const journeyDocs = connection.collection<JourneyRecord>(journeys.collection.collectionName);
  const dayDocs = connection.collection<FunnelDayRecord>(days.collection.collectionName);
  const tracked = trackingEventModel(connection).collection;
  const conversions = conversionEventModel(connection).collection;
  const builder = connection.collection<{ _id: string } & BuilderState>('funnel_builder');
  return {
    eventsReceived: async (from, to, limit) => {
      const window = { $gte: from, $lte: to };
      const [touches, converted] = await Promise.all([
        tracked
          .find(
            {
              outcome: TrackingOutcome.ACCEPTED,
              receivedAt: window,
              type: { $in: [EventType.IMPRESSION, EventType.CLICK] },
            },
            {
              sort: { receivedAt: 1 },
              limit,
              projection: { itemId: 1, sessionId: 1, type: 1, source: 1, receivedAt: 1, experiment: 1, variant: 1 },
            },
          )
          .toArray(),
        conversions
          .find(
            { receivedAt: window },
            {
              sort: { receivedAt: 1 },
              limit,
              projection: { itemId: 1, sessionId: 1, userId: 1, kind: 1, occurredAt: 1, receivedAt: 1 },
            },
          )
          .toArray(),
      ]);
      const events: JourneyEvent[] = [
        ...touches.map((event) => ({
          itemId: event.itemId as Types.ObjectId,
          sessionId: event.sessionId as string,
          step: event.type === EventType.CLICK ? FunnelStep.CLICK : FunnelStep.IMPRESSION,
          at: (event.receivedAt as Date).getTime(),
          source: event.source as string,
          ...(typeof event.experiment === 'string' ? { experiment: event.experiment } : {}),
          ...(typeof event.variant === 'string' ? { variant: event.variant } : {}),
          receivedAt: (event.receivedAt as Date).getTime(),
        })),
        ...converted.map((event) => ({
          itemId: event.itemId as Types.ObjectId,
          sessionId: event.sessionId as string,
          step: STEP_OF_KIND[event.kind as string]!,
          ...(typeof event.userId === 'string' ? { userId: event.userId } : {}),
          at: (event.occurredAt as Date).getTime(),
          receivedAt: (event.receivedAt as Date).getTime(),
        })),
      ];
      // Where a kind was cut off, nothing after its last is read: the next page starts there.
      const lasts = [touches, converted]
        .filter((list) => limit > 0 && list.length === limit)
        .map((list) => (list.at(-1)!.receivedAt as Date).getTime());
      const cut = lasts.length > 0 ? Math.min(...lasts) : null;
      return { events: cut === null ? events : events.filter((event) => event.receivedAt <= cut), cut };
    },
    updateJourneys: async (updates) => {
      if (updates.length === 0) return [];
      const operations = updates.map((update) => ({
        updateOne: {
          filter: { _id: update.id, itemId: update.itemId },
          update: {
            $min: {
              ...Object.fromEntries(Object.entries(update.steps).map(([step, at]) => [`steps.${step}`, at])),
              ...Object.fromEntries(Object.entries(update.touches).map(([source, at]) => [`touches.${source}`, at])),
              ...Object.fromEntries(Object.entries(update.tags).map(([tag, at]) => [`tags.${tag}`, at])),
            },
            $setOnInsert: { sessionId: update.sessionId },
          },
          upsert: true,
        },
      })) as mongo.AnyBulkWriteOperation<JourneyRecord>[];
      // `$min` and `$setOnInsert` are idempotent; two builders (a lease that lapsed) may create one
      // journey at once.
      await upsertsRetryingRaces(journeyDocs, operations, 'journey updates');
      const found: JourneyRecord[] = [];
      for (const chunk of chunks(updates, READ_CHUNK))
        found.push(
          ...(await journeyDocs
            .find({
              _id: { $in: chunk.map((update) => update.id) },
              // The lots too, so that a sharded engine asks only their shards.
              itemId: {
                $in: [...new Set(chunk.map((update) => update.itemId.toHexString()))].map(
                  (id) => new Types.ObjectId(id),
                ),
              },
            })
            .toArray()),
        );
      return found;
    },
    setJourneyDays: async (changes) => {
      if (changes.length === 0) return;
      await bulkWriteRetryingConflicts(
        journeyDocs,
        changes.map(({ id, itemId, day }) => ({
          updateOne: { filter: { _id: id, itemId }, update: { $min: { day } } },
        })) as mongo.AnyBulkWriteOperation<JourneyRecord>[],
        { unknownOutcome: 'repeat' },
      );
    },
    journeysOf: async (itemIds, days) => {
      const found: JourneyRecord[] = [];
      for (const chunk of chunks(itemIds, READ_CHUNK))
        found.push(...(await journeyDocs.find({ itemId: { $in: [...chunk] }, day: { $in: [...days] } }).toArray()));
      return found;
    },
    writeRows: async (rows) => {
      if (rows.length === 0) return;
      await bulkWriteRetryingConflicts(
        dayDocs,
        rows.map((row) =>
          row.entries.length === 0
            ? { deleteOne: { filter: { _id: row._id } } }
            : { replaceOne: { filter: { _id: row._id }, replacement: row, upsert: true } },
        ) as mongo.AnyBulkWriteOperation<FunnelDayRecord>[],
        { unknownOutcome: 'repeat' },
      );
    },
    rows: ({ scope, from, to, itemIds, category, sellerId }) =>
      dayDocs
        .find({
          scope,
          day: { $gte: from, $lt: to },
          ...(itemIds ? { itemId: { $in: [...itemIds] } } : {}),
          ...(category !== undefined ? { category } : {}),
          ...(sellerId !== undefined ? { sellerId } : {}),
        })
        .toArray(),
    rowsById: async (ids) => (ids.length === 0 ? [] : dayDocs.find({ _id: { $in: [...ids] } }).toArray()),
    itemRowsOf: (categories, days) =>
      dayDocs.find({ scope: FunnelScope.ITEM, category: { $in: [...categories] }, day: { $in: [...days] } }).toArray(),
    takeLease: async (holder, now, until) => {
      try {
        const taken = await builder.findOneAndUpdate(
          { _id: 'builder', $or: [{ until: { $lt: now } }, { holder }, { holder: null }] },
          { $set: { holder, until } },
          { upsert: true, returnDocument: 'after' },
        );
        return taken ? { holder, until, checkpoint: taken.checkpoint ?? null } : null;
      } catch (error) {
        if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
        return null;
      }
    },
    saveCheckpoint: async (holder, checkpoint) =>
      (await builder.updateOne({ _id: 'builder', holder }, { $set: { checkpoint } })).matchedCount === 1,
    readCheckpoint: async () => (await builder.findOne({ _id: 'builder' }))?.checkpoint ?? null,
    releaseLease: async (holder) => {
      await builder.updateOne({ _id: 'builder', holder }, { $set: { holder: null, until: null } });
    },
    rewind: async (from) => {
      await builder.updateOne({ _id: 'builder' }, { $min: { checkpoint: from } }, { upsert: true });
    },
    ensureIndexes: async () => {
      await Promise.all([ensureSchemaIndexes(journeys), ensureSchemaIndexes(days)]);
    },
  };
}

/** A row's id: its scope, what it counts (a lot, a category, `seller:category`) and its day. */
export function rowId(scope: FunnelScope, key: string, day: Date): string {
  return `${scope}:${key}:${day.toISOString().slice(0, 10)}`;
}

/**
 * Entries merged by `keyOf` (e.g. source and signature): counts and histograms added, the rest of
 * each entry kept from the first of its key.
 */
export function mergeEntries<Entry extends CountedJourneys>(
  lists: ReadonlyArray<readonly Entry[]>,
  keyOf: (entry: Entry) => string,
): Entry[] {
  const merged = new Map<string, Entry>();
  for (const list of lists)
    for (const entry of list) {
      const key = keyOf(entry);
      let into = merged.get(key);
      if (!into) merged.set(key, (into = { ...entry, count: 0, durations: {} }));
      into.count += entry.count;
      for (const [pair, histogram] of Object.entries(entry.durations))
        addHistogram((into.durations[pair] ??= {}), histogram);
    }
  return [...merged.values()];
}
