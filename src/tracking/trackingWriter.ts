import type { Types } from 'mongoose';
import { itemDayId } from '../analytics/rollups.model';
import { addToSketch } from '../analytics/uniqueSketch';
import { HOUR_MS, startOfDay, startOfHour, systemClock, type Clock } from '../shared/clock';
import { withDeadline } from '../shared/deadline';
import { serviceUnavailable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { isDatabaseUnavailable } from '../db/database';
import type { ItemDaySketches } from './sketchStore';
import { SketchWriter } from './sketchWriter';
import type { ItemDayIncrement, NewTrackingEvent, TrackingRepository } from './tracking.repository';
import type { RollupBucket } from './rollupJournal.model';
import { EventType, TrackingOutcome } from './trackingEvent.model';

/** An event handed to the writer, with what the rollups need to know about its item. */
export interface WriteRequest {
  readonly event: NewTrackingEvent;
  /** The item's category (counted events only), stored when its day's rollup document is created. */
  readonly category?: string;
}

/** Per event: stored, or refused by the dedup index as a duplicate. */
export type WriteResult = 'stored' | 'duplicate';

/** Group-commit tunables. */
export interface WriterOptions {
  /** Longest an event waits for companions before its batch is written. */
  readonly flushIntervalMs: number;
  /** A batch is written at once when it reaches this many events. */
  readonly maxBatch: number;
  /**
   * Flushes in flight at most. Several overlap their round trips (one inserts events while
   * another increments counters); events arriving while all are busy wait and form the next
   * batch. Safe because every step commutes: the dedup index decides duplicates whatever the
   * order, `$inc`s add up, merging sketch registers is idempotent, journal entries are per flush.
   */
  readonly maxConcurrentFlushes?: number;
  /**
   * Longest a caller waits for its events to be stored; then it gets `SERVICE_UNAVAILABLE` (the
   * write may still land later: a retry in the same cooldown window is then a DUPLICATE). Bounds
   * the mutation's latency even when the database hangs instead of refusing connections.
   */
  readonly writeTimeoutMs?: number;
  /** Events waiting at most; beyond, writes are refused at once (the database is not keeping up). */
  readonly maxBacklog?: number;
  /**
   * The rollup recovery rebuilds an hour bucket only once the hour has been closed this long
   * (see `recoverRollups`). So that a rebuild and a late `$inc` never both count an event,
   * a flush increments only while the event's hour closed less than half of this ago; later, it
   * leaves its journal entry open and the recovery counts them.
   */
  readonly rollupGraceMs?: number;
  /**
   * Least time between two writes of the counted events' unique sketches (see `SketchWriter`):
   * sketches counted sooner after a write are written at the end of the interval, after their
   * flush answered; 0: every flush writes its own before it answers.
   */
  readonly sketchIntervalMs?: number;
}

/** What the writer reports as it works (metrics); every method optional. */
export interface WriterObserver {
  /** A flush ended: its events, how long it took, and whether the batch was stored. */
  flushed?(events: number, durationSeconds: number, failed: boolean): void;
  /** A caller's events were not confirmed within `writeTimeoutMs`. */
  timedOut?(): void;
  /** A write was refused at once because the backlog was full. */
  backlogFull?(): void;
}

const DEFAULT_WRITE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CONCURRENT_FLUSHES = 4;
const DEFAULT_MAX_BACKLOG = 100_000;
const DEFAULT_ROLLUP_GRACE_MS = 300_000;
const DEFAULT_SKETCH_INTERVAL_MS = 1_000;

interface Pending {
  readonly request: WriteRequest;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/** The distinct (item, hour) buckets of events. */
function rollupBuckets(events: readonly NewTrackingEvent[]): RollupBucket[] {
  const buckets = new Map<string, RollupBucket>();
  for (const { itemId, receivedAt } of events) {
    const hourBucket = startOfHour(receivedAt);
    buckets.set(`${itemId!.toHexString()}|${hourBucket.getTime()}`, { itemId: itemId!, hourBucket });
  }
  return [...buckets.values()];
}

/** What counted events add to the rollups' counters: one increment per (item, UTC day) they touch. */
export function itemDayIncrements(counted: readonly WriteRequest[]): ItemDayIncrement[] {
  const days = new Map<
    string,
    Pick<ItemDayIncrement, 'itemId' | 'day' | 'category'> & {
      counters: Map<string, ItemDayIncrement['counters'][number]>;
    }
  >();
  for (const { event, category } of counted) {
    const itemId = event.itemId!;
    const day = startOfDay(event.receivedAt);
    const dayKey = itemDayId(itemId, day);
    let entry = days.get(dayKey);
    if (!entry) {
      entry = { itemId, day, category: category ?? '', counters: new Map() };
      days.set(dayKey, entry);
    }
    const hour = Math.floor((event.receivedAt.getTime() - day.getTime()) / HOUR_MS);
    const counterKey = `${hour}|${event.source}`;
    const counter = entry.counters.get(counterKey) ?? { hour, source: event.source, impressions: 0, clicks: 0 };
    if (event.type === EventType.IMPRESSION) counter.impressions++;
    else counter.clicks++;
    entry.counters.set(counterKey, counter);
  }
  return [...days.values()].map(({ counters, ...increment }) => ({ ...increment, counters: [...counters.values()] }));
}

/** What counted events add to the unique sketches: one per (item, UTC day) they touch. */
export function itemDaySketches(counted: readonly WriteRequest[]): ItemDaySketches[] {
  const days = new Map<string, { itemId: Types.ObjectId; day: Date; sessions: Set<string>; users: Set<string> }>();
  for (const { event } of counted) {
    const day = startOfDay(event.receivedAt);
    const dayKey = itemDayId(event.itemId!, day);
    let entry = days.get(dayKey);
    if (!entry) {
      entry = { itemId: event.itemId!, day, sessions: new Set(), users: new Set() };
      days.set(dayKey, entry);
    }
    entry.sessions.add(event.sessionId);
    if (event.userId && !event.userNotCounted) entry.users.add(event.userId);
  }
  return [...days.values()].map(({ itemId, day, sessions, users }) => ({
    itemId,
    day,
    sessions: addToSketch(new Map(), sessions),
    users: addToSketch(new Map(), users),
  }));
}

/**
 * The rollup side of the writer: one write at a time per process. Increments handed over while a
 * write is in flight wait and are merged into the next, so concurrent flushes cost one upsert per
 * item-day between them instead of one each, and never contend with each other for the same
 * documents' locks (the repository's `_id` order keeps other instances from deadlocking with them).
 */
class RollupWriter {
  private queued: WriteRequest[] = [];
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private writing = false;

  constructor(private readonly repository: Pick<TrackingRepository, 'incrementItemDays'>) {}

  /** Adds counted events to the rollups; resolves once written (rejects if that write failed). */
  add(counted: readonly WriteRequest[]): Promise<void> {
    if (counted.length === 0) return Promise.resolve();
    const written = new Promise<void>((resolve, reject) => {
      this.queued.push(...counted);
      this.waiters.push({ resolve, reject });
    });
    if (!this.writing) void this.drain();
    return written;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queued.length > 0) {
        const counted = this.queued;
        const waiters = this.waiters;
        this.queued = [];
        this.waiters = [];
        try {
          await this.repository.incrementItemDays(itemDayIncrements(counted));
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

/**
 * Group commit: events from concurrent requests are buffered for a few milliseconds (or until a
 * batch is full) and written with one unordered bulk insert; the counters of the counted ones are
 * incremented in the same flush (merged with those of the flushes in flight, see `RollupWriter`),
 * their unique sketches within `sketchIntervalMs` (see `SketchWriter`). A caller's promise settles
 * only after its events are stored and counted — acknowledged means stored. Each flush opens a
 * rollup journal entry before storing, closed once its counters and sketches are written; if a
 * write fails or the process dies in between, the entry stays and the rollup recovery rebuilds
 * its buckets from the stored events.
 */
export class TrackingWriter {
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  /** Set at shutdown: write at once instead of waiting for companions. */
  private expedited = false;
  private readonly rollups: RollupWriter;
  private readonly sketches: SketchWriter;
  /** Dedup keys queued or being written, with their event's result. */
  private readonly keysInFlight = new Map<string, Promise<WriteResult>>();
  constructor(
    private readonly repository: TrackingRepository,
    private readonly options: WriterOptions,
    private readonly logger: Logger,
    /** Told which items' counters changed after each flush (the live updates). */
    private readonly onCounted: (itemIds: string[]) => void,
    private readonly clock: Clock = systemClock,
    private readonly observer: WriterObserver = {},
  ) {
    this.rollups = new RollupWriter(repository);
    this.sketches = new SketchWriter(
      repository,
      options.sketchIntervalMs ?? DEFAULT_SKETCH_INTERVAL_MS,
      logger,
      onCounted,
    );
  }

  /** Queues events and resolves, in order, once they are stored (or refused as duplicates). */
  write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    if (this.closed) return Promise.reject(serviceUnavailable('Gavel is shutting down; retry on another instance.'));
    if (this.queue.length + requests.length > (this.options.maxBacklog ?? DEFAULT_MAX_BACKLOG)) {
      this.observer.backlogFull?.();
      return Promise.reject(serviceUnavailable('The database is not keeping up with tracking events; retry shortly.'));
    }
    const results = requests.map((request) => {
      const key = request.event.dedupKey;
      const leader = key === undefined ? undefined : this.keysInFlight.get(key);
      // The same key is already on its way to the database: this event is a duplicate once that
      // one is stored, and is written after all if that one fails. Sending both would only make
      // the unique index refuse one, and engines whose unique indexes are exclusion constraints
      // (DocumentDB) deadlock on concurrent inserts of one key, costing a second each.
      if (leader)
        return leader.then(
          (): WriteResult => 'duplicate',
          () => this.enqueue(request),
        );
      const result = this.enqueue(request);
      if (key !== undefined) {
        this.keysInFlight.set(key, result);
        const forget = () => {
          if (this.keysInFlight.get(key) === result) this.keysInFlight.delete(key);
        };
        result.then(forget, forget);
      }
      return result;
    });
    return withDeadline(Promise.all(results), this.options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS, () => {
      this.observer.timedOut?.();
      return serviceUnavailable(
        'The database did not confirm the tracking events in time; they were not acknowledged.',
      );
    });
  }

  /** Queues one event and schedules its flush. */
  private enqueue(request: WriteRequest): Promise<WriteResult> {
    const result = new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
    });
    if (this.expedited || this.queue.length >= this.options.maxBatch) this.startFlush();
    else this.timer ??= setTimeout(() => this.startFlush(), this.options.flushIntervalMs);
    return result;
  }

  /** Events waiting to be written (for metrics and tests). */
  get backlog(): number {
    return this.queue.length;
  }

  /**
   * Writes what is queued now, and every later event as soon as it arrives, still accepting new
   * events: shutdown calls it before draining the last producers (implicit impressions), so they
   * do not wait out the group-commit interval.
   */
  expedite(): void {
    this.expedited = true;
    this.startFlush();
  }

  /** Refuses new events, then writes everything queued; resolves when all is stored. */
  async close(): Promise<void> {
    this.closed = true;
    this.startFlush();
    // A finishing flush starts the next one for what is still queued before this loop resumes.
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.sketches
      .close()
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'sketch write failed at shutdown; the recovery will rebuild the buckets'),
      );
  }

  private startFlush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const maxConcurrent = this.options.maxConcurrentFlushes ?? DEFAULT_MAX_CONCURRENT_FLUSHES;
    while (this.queue.length > 0 && this.inFlight.size < maxConcurrent) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      const started = process.hrtime.bigint();
      const flush: Promise<void> = this.writeBatch(batch)
        .then((stored) =>
          this.observer.flushed?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9, !stored),
        )
        .catch((error: unknown) => this.logger.error({ err: error }, 'tracking flush failed unexpectedly'))
        .finally(() => {
          this.inFlight.delete(flush);
          // Events that queued up while every flush was busy have waited long enough.
          if (this.queue.length > 0) this.startFlush();
        });
      this.inFlight.add(flush);
    }
  }

  /** Writes one batch and settles its callers; resolves whether the events were stored. */
  private async writeBatch(batch: Pending[]): Promise<boolean> {
    let duplicates: Set<string>;
    let journalId: Types.ObjectId | undefined;
    try {
      // The journal entry first: if anything stops this flush between storing the events and
      // incrementing their counters, the entry is what tells the recovery to rebuild the buckets.
      const buckets = rollupBuckets(
        batch.map((pending) => pending.request.event).filter((event) => event.outcome === TrackingOutcome.ACCEPTED),
      );
      if (buckets.length > 0) journalId = await this.repository.openJournal(buckets);
      ({ duplicates } = await this.repository.insertEvents(batch.map((pending) => pending.request.event)));
    } catch (error) {
      // Nothing of a failed batch is acknowledged; a retry is safe (the dedup index absorbs
      // whatever part of the batch did land, an orphaned journal entry costs a harmless rebuild).
      const failure = isDatabaseUnavailable(error)
        ? serviceUnavailable(
            'The database is unavailable; tracking events were not stored. Retry shortly.',
            undefined,
            error as Error,
          )
        : error;
      if (failure === error) this.logger.error({ err: error }, 'tracking batch write failed');
      for (const pending of batch) pending.reject(failure);
      return false;
    }
    const accepted = batch
      .filter(
        (pending) =>
          !duplicates.has(pending.request.event._id.toHexString()) &&
          pending.request.event.outcome === TrackingOutcome.ACCEPTED,
      )
      .map((pending) => pending.request);
    // Events whose hour the recovery may already be rebuilding are left to it: the journal entry
    // stays, and the rebuild counts them.
    const incrementUntil = this.clock.now().getTime() - (this.options.rollupGraceMs ?? DEFAULT_ROLLUP_GRACE_MS) / 2;
    const counted = accepted.filter(({ event }) => startOfHour(event.receivedAt).getTime() + HOUR_MS > incrementUntil);
    try {
      await this.rollups.add(counted);
      // The entry closes once the sketches are written too, unless the recovery is to count some events.
      const closeJournal = journalId && counted.length === accepted.length ? journalId : undefined;
      if (counted.length > 0) await this.sketches.add(itemDaySketches(counted), closeJournal);
      else if (closeJournal) await this.repository.closeJournals([closeJournal]);
    } catch (error) {
      this.logger.warn(
        { err: error, events: counted.length },
        'rollup update failed after events were stored; recovery will rebuild the buckets',
      );
    }
    for (const pending of batch)
      pending.resolve(duplicates.has(pending.request.event._id.toHexString()) ? 'duplicate' : 'stored');
    if (counted.length > 0) this.onCounted([...new Set(counted.map(({ event }) => event.itemId!.toHexString()))]);
    return true;
  }
}
