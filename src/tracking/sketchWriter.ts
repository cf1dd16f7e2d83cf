import type { Types } from 'mongoose';
import { itemDayId } from '../analytics/rollups.model';
import { raiseSketch } from '../analytics/uniqueSketch';
import type { Logger } from '../shared/logger';
import type { ItemDaySketches } from './sketchStore';
import type { TrackingRepository } from './tracking.repository';

/** Wait before a failed write is tried again, at least. */
const RETRY_MS = 1_000;

/** Sketch registers gathered for one item-day and not yet written. */
interface PendingSketch {
  readonly itemId: Types.ObjectId;
  readonly day: Date;
  readonly sessions: Map<number, number>;
  readonly users: Map<number, number>;
}

/**
 * The unique-session and unique-user side of the rollups. Sketch registers of counted events are
 * written at most once every `intervalMs` per process: the first flush after a quiet interval
 * writes its sketches at once and answers after them (unique figures are then current when the
 * mutation returns); the flushes that follow within the interval leave theirs in memory, merged
 * per item-day, and the interval's end writes each changed item-day once, however many flushes
 * touched it. With `intervalMs` 0, every flush writes its own.
 *
 * Why: a sketch grows to thousands of registers, and an engine that rewrites a document on every
 * update (DocumentDB) paid for all of them on each flush's counter update when they lived beside
 * the counters as fields: the sustained ingest halved within minutes. Written apart, encoded in
 * at most 4 KiB, and no more often than the interval, they cost the same at the fifteenth minute
 * as at the first.
 *
 * Nothing acknowledged is lost: a flush's journal entry is handed over with its sketches and
 * deleted only once a write that contains them has landed. If the process stops before that,
 * the entry stays and the rollup recovery rebuilds its buckets — counters and sketches — from
 * the stored events.
 */
export class SketchWriter {
  private pending = new Map<string, PendingSketch>();
  /** Journal entries whose sketches are all in `pending` (or in the write in flight). */
  private journals: Types.ObjectId[] = [];
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** When the last write was started (ms since the epoch). */
  private lastWriteAt = -Infinity;
  /** The writes in order: each starts when the previous one has settled. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly repository: Pick<TrackingRepository, 'mergeSketches' | 'closeJournals'>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** Told which items' unique figures may have changed after each write (the live updates). */
    private readonly onWritten: (itemIds: string[]) => void,
  ) {}

  /**
   * Adds counted events' registers; `journalId` is the flush's journal entry, to delete once they
   * are written (leave it out when the entry must stay for the recovery). Returns the write when
   * they are written at once (the flush answers after it), or nothing when they wait for the
   * interval's end.
   */
  add(sketches: readonly ItemDaySketches[], journalId?: Types.ObjectId): Promise<void> | undefined {
    this.hold(sketches);
    if (journalId) this.journals.push(journalId);
    if (this.timer) return undefined; // the interval's write takes them
    const wait = this.lastWriteAt + this.intervalMs - Date.now();
    if (wait <= 0) return this.flush();
    this.schedule(wait);
    return undefined;
  }

  /**
   * Writes everything added so far (after the write in flight, if any) and closes the journal
   * entries it completes; rejects if the write failed (what it held is kept for the next one).
   */
  flush(): Promise<void> {
    this.lastWriteAt = Date.now();
    const write = this.writes.then(() => this.writePending());
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Writes what is pending; resolves when written (at shutdown, after the last flush). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Merges registers into the pending ones, the larger rank per register. */
  private hold(sketches: Iterable<ItemDaySketches>): void {
    for (const sketch of sketches) {
      const id = itemDayId(sketch.itemId, sketch.day);
      let pending = this.pending.get(id);
      if (!pending) {
        pending = { itemId: sketch.itemId, day: sketch.day, sessions: new Map(), users: new Map() };
        this.pending.set(id, pending);
      }
      raiseSketch(pending.sessions, sketch.sessions);
      raiseSketch(pending.users, sketch.users);
    }
  }

  /** Starts the interval's timer unless it runs; it does not hold the process open (shutdown calls `close`). */
  private schedule(waitMs: number): void {
    this.timer ??= setTimeout(() => this.writeOnTimer(), waitMs).unref();
  }

  private writeOnTimer(): void {
    this.timer = undefined;
    this.flush().catch((error: unknown) =>
      this.logger.warn({ err: error }, 'sketch write failed; retrying at the next interval'),
    );
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0 && this.journals.length === 0) return;
    const sketches = this.pending;
    const journals = this.journals;
    this.pending = new Map();
    this.journals = [];
    try {
      await this.repository.mergeSketches([...sketches.values()]);
    } catch (error) {
      // Back in line for the next write, merged with what arrived meanwhile. Keep trying: the
      // journal entries stay open meanwhile, so nothing is lost if this process stops.
      this.hold(sketches.values());
      this.journals.unshift(...journals);
      if (!this.closed) this.schedule(Math.max(this.intervalMs, RETRY_MS));
      throw error;
    }
    if (journals.length > 0)
      await this.repository.closeJournals(journals).catch((error: unknown) =>
        // The sketches are written: an entry left open costs a harmless rebuild.
        this.logger.warn({ err: error }, 'closing rollup journal entries failed; the recovery will rebuild them'),
      );
    if (sketches.size > 0)
      this.onWritten([...new Set([...sketches.values()].map(({ itemId }) => itemId.toHexString()))]);
  }
}
