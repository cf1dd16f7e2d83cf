import type { Connection, mongo, Types } from 'mongoose';
import { itemDayModel, type ItemDayRecord } from '../analytics/rollups.model';
import { mergeSketch, SKETCH_REGISTERS, type StoredSketch } from '../analytics/uniqueSketch';
import { DUPLICATE_KEY } from '../db/bulkWrites';
import { retryTransientConflicts } from '../db/transientConflicts';
import { denseRegisters, type ItemDaySketches } from './sketchStore';
import type { TrackingRepository } from './tracking.repository';

/** Item-days moved per round. */
const BATCH = 500;
/** Passes over the rollup rows before {@link LegacySketches.move} gives up on rows still being written. */
const MAX_PASSES = 3;
/** The document of `gavel_migrations` that says no rollup row carries a sketch any more. */
const MOVED = 'item-day-sketches-moved';

/** The sketch fields a rollup row of an older Gavel carries. */
const LEGACY_FIELDS = ['sessionSketch', 'userSketch', 'sessions', 'users'] as const;

type LegacyRow = Pick<ItemDayRecord, '_id' | 'itemId' | 'day' | 'sketchWrite'> & {
  sessionSketch?: mongo.Binary;
  userSketch?: mongo.Binary;
  sessions?: StoredSketch;
  users?: StoredSketch;
};

/** What {@link LegacySketches.move} did. */
export interface SketchMoveReport {
  /** Item-days whose sketches were moved out of their rollup rows. */
  readonly moved: number;
  /** Whether no row carries a sketch any more (recorded: every instance stops reading the rows for them). */
  readonly done: boolean;
}

/** The registers of a dense sketch that are set, as the sketch store takes them. */
function sparse(registers: Uint8Array): Map<number, number> {
  const entries = new Map<number, number>();
  for (let register = 0; register < SKETCH_REGISTERS; register++)
    if (registers[register]! > 0) entries.set(register, registers[register]!);
  return entries;
}

/**
 * The unique sketches that rollup rows (`item_days`) of an older Gavel carry, which this version
 * keeps in `item_day_sketches` instead (see `ItemDaySketchRecord` for why).
 *
 * An expand-then-contract change: this version writes sketches only to their own documents and,
 * while rows may still carry some ({@link remaining}), reads both places; `gavel rollups
 * move-sketches`, run once every instance runs this version, moves them ({@link move}) and records
 * that it is done. Not at start: during a rolling upgrade, instances of the older version still
 * read and write the rows' sketches.
 */
export class LegacySketches {
  private remain = true;

  constructor(
    private readonly connection: Connection,
    private readonly tracking: Pick<TrackingRepository, 'mergeSketches'>,
  ) {}

  /** Whether rollup rows may still carry sketches, as of the last {@link check}. */
  remaining(): boolean {
    return this.remain;
  }

  /**
   * Reads whether rows may still carry sketches (at most two single-document reads). A database
   * with no rollup row has nothing to move: recorded at once, so that a new installation never
   * reads the rows for sketches (`move` still scans them when asked: a row an older version writes
   * later is not lost).
   *
   * @returns whether rows may still carry sketches (also {@link remaining} from now on)
   */
  async check(): Promise<boolean> {
    if (await this.migrations().findOne({ _id: MOVED })) this.remain = false;
    else if (!(await this.rows().findOne({}, { projection: { _id: 1 } }))) {
      await this.record();
      this.remain = false;
    }
    return this.remain;
  }

  /**
   * Moves every sketch the rows carry: each batch's registers are merged into the sketch documents
   * (idempotent: the larger rank wins), then taken off the rows where the row's sketch is still the
   * one read. Passes repeat until one finds nothing (then the move is recorded as done), at most
   * {@link MAX_PASSES}: a row that keeps gaining sketches means an instance of the older version is
   * still running.
   */
  async move(): Promise<SketchMoveReport> {
    let moved = 0;
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      const found = await this.pass();
      moved += found.moved;
      if (found.seen === 0) {
        await this.record();
        this.remain = false;
        return { moved, done: true };
      }
    }
    return { moved, done: false };
  }

  /** One pass over the rows in `_id` order: how many carried sketches, and how many were taken off. */
  private async pass(): Promise<{ seen: number; moved: number }> {
    const rows = this.rows();
    let seen = 0;
    let moved = 0;
    let after = '';
    for (;;) {
      const batch = (await rows
        .find(
          { _id: { $gt: after }, $or: LEGACY_FIELDS.map((field) => ({ [field]: { $exists: true } })) },
          {
            projection: { itemId: 1, day: 1, sketchWrite: 1, ...Object.fromEntries(LEGACY_FIELDS.map((f) => [f, 1])) },
            sort: { _id: 1 },
            limit: BATCH,
          },
        )
        .toArray()) as unknown as LegacyRow[];
      if (batch.length === 0) return { seen, moved };
      seen += batch.length;
      after = batch.at(-1)!._id;
      const sketches: ItemDaySketches[] = batch.map((row) => ({
        itemId: row.itemId,
        day: row.day,
        sessions: sparse(mergeSketch(denseRegisters(row.sessionSketch), row.sessions)),
        users: sparse(mergeSketch(denseRegisters(row.userSketch), row.users)),
      }));
      await this.tracking.mergeSketches(sketches);
      const unset = await retryTransientConflicts(() =>
        rows.bulkWrite(
          batch.map((row) => ({
            updateOne: {
              filter: {
                _id: row._id,
                itemId: row.itemId as Types.ObjectId,
                sketchWrite: row.sketchWrite ?? { $exists: false },
              },
              update: { $unset: { ...Object.fromEntries(LEGACY_FIELDS.map((f) => [f, ''])), sketchWrite: '' } },
            },
          })),
          { ordered: false },
        ),
      );
      moved += unset.modifiedCount;
    }
  }

  /** Records the move as done; two instances recording it at once is no error. */
  private async record(): Promise<void> {
    try {
      await retryTransientConflicts(() =>
        this.migrations().updateOne({ _id: MOVED }, { $set: { at: new Date() } }, { upsert: true }),
      );
    } catch (error) {
      // Two upserts of one missing `_id` at once: the other one inserted it.
      if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
    }
  }

  private migrations() {
    return this.connection.collection<{ _id: string; at: Date }>('gavel_migrations');
  }

  private rows() {
    return this.connection.collection<ItemDayRecord>(itemDayModel(this.connection).collection.collectionName);
  }
}
