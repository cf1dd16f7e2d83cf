import type { Connection, mongo, Types } from 'mongoose';
import { itemDayModel, type ItemDayRecord } from '../analytics/rollups.model';
import { mergeSketch, SKETCH_REGISTERS, type StoredSketch } from '../analytics/uniqueSketch';
import { retryTransientConflicts } from '../db/transientConflicts';
import type { Logger } from '../shared/logger';
import { denseRegisters, type ItemDaySketches } from './sketchStore';
import type { TrackingRepository } from './tracking.repository';

/** Item-days moved per round. */
const BATCH = 500;
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

/** The registers of a dense sketch that are set, as the sketch store takes them. */
function sparse(registers: Uint8Array): Map<number, number> {
  const entries = new Map<number, number>();
  for (let register = 0; register < SKETCH_REGISTERS; register++)
    if (registers[register]! > 0) entries.set(register, registers[register]!);
  return entries;
}

/**
 * Moves the unique sketches that rollup rows (`item_days`) of an older Gavel carry into
 * `item_day_sketches`, where this version keeps them; see `ItemDaySketchRecord` for why.
 *
 * The move runs in the background after start, in batches: each batch's registers are merged into
 * the sketch documents (idempotent: the larger rank wins), then taken off the rows — only where the
 * row's sketch is still the one read, so registers an instance of the older version writes
 * meanwhile (a rolling upgrade) stay for the next start to move. Until the move has run, per-item
 * unique figures read both places ({@link SketchMove.pending}). A pass that finds nothing to move
 * records so in `gavel_migrations`, and later starts skip the scan.
 */
export class SketchMove {
  private running = true;
  private stopping = false;
  private move?: Promise<number>;

  constructor(
    private readonly connection: Connection,
    private readonly tracking: Pick<TrackingRepository, 'mergeSketches'>,
    private readonly logger: Logger,
  ) {}

  /** Whether rollup rows may still carry sketches (unique figures then read them too). */
  pending(): boolean {
    return this.running;
  }

  /**
   * Starts the move in the background; a failure is logged and leaves the rest for the next start
   * (reads keep reading both places until then).
   */
  start(): void {
    this.move = this.run().catch((err: unknown) => {
      this.logger.error({ err }, 'moving unique sketches out of the rollup rows failed; the next start resumes it');
      return 0;
    });
  }

  /** Ends the move after the batch in progress (the next start resumes it). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.move;
  }

  /** Moves every sketch found; returns how many item-days it moved. */
  async run(): Promise<number> {
    const migrations = this.connection.collection<{ _id: string; at: Date }>('gavel_migrations');
    if (await migrations.findOne({ _id: MOVED })) {
      this.running = false;
      return 0;
    }
    const rows = this.connection.collection<ItemDayRecord>(itemDayModel(this.connection).collection.collectionName);
    let moved = 0;
    let after = '';
    while (!this.stopping) {
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
      if (batch.length === 0) break;
      after = batch.at(-1)!._id;
      const sketches: ItemDaySketches[] = batch.map((row) => ({
        itemId: row.itemId,
        day: row.day,
        sessions: sparse(mergeSketch(denseRegisters(row.sessionSketch), row.sessions)),
        users: sparse(mergeSketch(denseRegisters(row.userSketch), row.users)),
      }));
      await this.tracking.mergeSketches(sketches);
      await retryTransientConflicts(() =>
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
      moved += batch.length;
    }
    if (this.stopping) return moved;
    if (moved === 0) await migrations.updateOne({ _id: MOVED }, { $set: { at: new Date() } }, { upsert: true });
    else this.logger.info(`moved the unique sketches of ${moved} item-days out of their rollup rows`);
    this.running = false;
    return moved;
  }
}
