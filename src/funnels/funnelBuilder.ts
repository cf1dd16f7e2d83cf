import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import type { CohortsRepository } from '../cohorts/cohorts.repository';
import type { DeclaredVariants } from '../experiments/exposures';
import type { ExposureRecorder } from '../experiments/exposureRecorder';
import { startOfDay, type Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import {
  FunnelScope,
  type CountedJourneys,
  type FunnelDayRecord,
  type FunnelEntry,
  type JourneyRecord,
  type VariantEntry,
} from './funnel.model';
import { countedSteps, FunnelStep, pairDurations, signatureOf, tagField, variantsOf, type StepTimes } from './journeys';
import {
  CONVERSION_STEPS,
  mergeEntries,
  rowId,
  type FunnelsRepository,
  type JourneyEvent,
  type JourneyUpdate,
} from './funnels.repository';

/** How the builder runs. */
export interface FunnelBuilderPolicy {
  /** Steps count within this long after a journey's first step (`CONVERSION_ATTRIBUTION_WINDOW_DAYS`). */
  readonly windowMs: number;
  /**
   * Events received this recently are left for the next round (`FUNNEL_SETTLE_MS`, by default
   * `TRACKING_ROLLUP_RECOVERY_GRACE_MS`): an event is stamped when received and stored after, and a
   * write may land well after its mutation timed out; the rollup recovery waits as long for the
   * same reason. An event stored later than this behind its stamp is missed by the funnels.
   */
  readonly settleMs: number;
  /** How far back a first build reads (the raw events' retention, `RETENTION_DAYS`). */
  readonly firstBuildMs: number;
  /** Events of each kind read per page. */
  readonly pageSize: number;
  /** `GAVEL_INSTANCE_ID`, for the lease's holder name. */
  readonly instanceId: string;
}

/** The builder's followers: the bidder cohorts and the experiments' exposures. */
export interface BuildFollowers {
  readonly cohorts: Pick<CohortsRepository, 'recordBids'>;
  readonly exposures: Pick<ExposureRecorder, 'definitions' | 'refresh'>;
}

/** How long the lease lasts without a renewal (every page renews it). */
const LEASE_MS = 60_000;
/** Bounds of the span of receive times one page asks for. */
const MIN_SLICE_MS = 1_000;
const MAX_SLICE_MS = 7 * 86_400_000;

/**
 * Builds the funnels' journeys and day rows from the counted tracking events and the conversions,
 * in rounds, behind the traffic (`FUNNEL_SETTLE_MS`), one instance at a time (a lease in
 * `funnel_builder`, with the checkpoint). Every write is idempotent — journeys take `$min`s, rows
 * are recomputed whole — so a round that stopped half-way, a lapsed lease or a rebuild from an
 * earlier checkpoint never counts anything twice.
 */
export class FunnelBuilder {
  private readonly holder: string;
  private running?: Promise<number>;
  /** The round after the one running, for the calls made during it. */
  private queued?: Promise<number>;
  private checkpoint?: Date;
  /** The span of receive times one page asks for; adapts to the traffic (see `round`). */
  private sliceMs = 10 * 60_000;

  constructor(
    private readonly repository: FunnelsRepository,
    private readonly catalog: Pick<AuctionItemRepository, 'findByIds'>,
    /** What else is kept from the events the builder reads (it reads every one anyway). */
    private readonly followers: BuildFollowers,
    private readonly clock: Clock,
    private readonly policy: FunnelBuilderPolicy,
    private readonly logger: Logger,
  ) {
    this.holder = `${policy.instanceId}/${randomBytes(6).toString('hex')}`;
  }

  /**
   * One round: every event received up to `FUNNEL_SETTLE_MS` ago goes into the journeys and rows.
   * Returns how many events it read (0 when another instance holds the lease). A call during a
   * round waits for it and then for one more, which calls made meanwhile share: the round in
   * progress may have started before what the caller just stored.
   */
  catchUp(): Promise<number> {
    if (this.running)
      return (this.queued ??= this.running
        .catch(() => 0)
        .then(() => {
          this.queued = undefined;
          return this.catchUp();
        }));
    this.running = this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Seconds between now and the builders' checkpoint as this instance last saw it; 0 before it has. */
  lagSeconds(): number {
    return this.checkpoint ? Math.max(0, (this.clock.now().getTime() - this.checkpoint.getTime()) / 1000) : 0;
  }

  /** Gives the lease back (at shutdown), after a round in progress. */
  async stop(): Promise<void> {
    // A queued round starts as the running one ends: wait until neither is left.
    while (this.running || this.queued) await (this.queued ?? this.running)!.catch(() => undefined);
    await this.repository.releaseLease(this.holder);
  }

  private async round(): Promise<number> {
    const now = this.clock.now();
    const state = await this.repository.takeLease(this.holder, now, new Date(now.getTime() + LEASE_MS));
    if (!state) {
      // Another instance builds: the lag this one reports is that builder's.
      this.checkpoint = (await this.repository.readCheckpoint()) ?? undefined;
      return 0;
    }
    const upTo = new Date(now.getTime() - this.policy.settleMs);
    let from = state.checkpoint ?? new Date(now.getTime() - this.policy.firstBuildMs);
    let read = 0;
    while (from.getTime() <= upTo.getTime()) {
      // A slice of time at a time: an engine may sort every event of the range it is asked for
      // before it applies the page's limit (DocumentDB does), so the range is kept near a page.
      const to = new Date(Math.min(upTo.getTime(), from.getTime() + this.sliceMs));
      let page = await this.repository.eventsReceived(from, to, this.policy.pageSize);
      // A full page of one instant (many batches stamped in one millisecond): that instant whole,
      // so that nothing of it is left behind when the next page starts after it.
      const instant = page.cut === from.getTime();
      if (instant) page = await this.repository.eventsReceived(from, from, 0);
      if (!(await this.apply(page.events))) return read;
      read += page.events.length;
      // The next page starts at the cut (events received at that instant are read again:
      // idempotent), or after the slice when it was read whole.
      if (page.cut !== null && !instant) this.sliceMs = Math.max(MIN_SLICE_MS, Math.floor(this.sliceMs / 2));
      // Grown only when the slice, not the settle time, ended the read: in steady traffic every
      // round's read is short, and a slice grown there would be a week when a backlog comes.
      else if (page.events.length < this.policy.pageSize / 2 && to.getTime() === from.getTime() + this.sliceMs)
        this.sliceMs = Math.min(MAX_SLICE_MS, this.sliceMs * 2);
      from = new Date(instant ? from.getTime() + 1 : page.cut === null ? to.getTime() + 1 : page.cut);
      if (await this.repository.saveCheckpoint(this.holder, from)) this.checkpoint = from;
    }
    if (read > 0) this.logger.debug({ events: read, through: upTo }, 'funnels built');
    return read;
  }

  /** Renews the lease; false when another instance took it (this round then writes nothing more). */
  private async stillHeld(): Promise<boolean> {
    const now = this.clock.now();
    return (await this.repository.takeLease(this.holder, now, new Date(now.getTime() + LEASE_MS))) !== null;
  }

  /**
   * Puts events into their journeys, then recounts the rows of every lot-day, category-day and
   * seller-day they touched. False when the lease was lost before the rows were written: the holder
   * that took it recounts them.
   */
  private async apply(events: readonly JourneyEvent[]): Promise<boolean> {
    if (events.length === 0) return true;
    const ids = [...new Set(events.map((event) => event.itemId.toHexString()))];
    const lots = new Map(
      (await this.catalog.findByIds(ids.map((id) => new Types.ObjectId(id)))).map((lot) => [
        lot._id.toHexString(),
        lot,
      ]),
    );
    // Tags of experiments nobody defined, or of undeclared variants, are left out: tracking is
    // public, and a tag alone must not grow the rows.
    const definitions = await this.followers.exposures.definitions();
    const declaredTag = (event: JourneyEvent) =>
      event.experiment !== undefined && definitions.declared.get(event.experiment)?.has(event.variant ?? '') === true;
    const updates = new Map<
      string,
      JourneyUpdate & { steps: StepTimes; touches: Record<string, number>; tags: Record<string, number> }
    >();
    for (const event of events) {
      const lot = lots.get(event.itemId.toHexString());
      if (!lot) continue;
      const id = `${event.itemId.toHexString()}:${event.sessionId}`;
      let update = updates.get(id);
      if (!update)
        updates.set(
          id,
          (update = { id, itemId: lot._id, sessionId: event.sessionId, steps: {}, touches: {}, tags: {} }),
        );
      update.steps[event.step] = Math.min(update.steps[event.step] ?? Infinity, event.at);
      if (event.source) update.touches[event.source] = Math.min(update.touches[event.source] ?? Infinity, event.at);
      if (declaredTag(event)) {
        const tag = tagField(event.experiment!, event.variant!);
        update.tags[tag] = Math.min(update.tags[tag] ?? Infinity, event.at);
      }
    }
    const [journeys] = await Promise.all([
      this.repository.updateJourneys([...updates.values()]),
      this.followers.cohorts.recordBids(
        events
          .filter((event) => event.step === FunnelStep.BID && lots.has(event.itemId.toHexString()))
          .map(({ sessionId, userId, at }) => ({ sessionId, at, ...(userId !== undefined ? { userId } : {}) })),
      ),
      this.followers.exposures.refresh(
        // A tag of an experiment nobody defined cannot change a session's exposures (and none
        // is ever deleted): public tags alone must not make the builder read sessions.
        new Set(
          events
            .filter((event) => event.experiment !== undefined && definitions.byKey.has(event.experiment))
            .map((event) => event.sessionId),
        ),
        new Set(events.filter((event) => CONVERSION_STEPS.has(event.step)).map((event) => event.sessionId)),
        definitions,
        () => this.stillHeld(),
      ),
    ]);
    // Each journey counts under the day of its first step; a late event may move it earlier.
    const itemDays = new Map<string, { itemId: Types.ObjectId; day: Date }>();
    const moved: Array<{ id: string; itemId: Types.ObjectId; day: Date }> = [];
    for (const journey of journeys) {
      const day = startOfDay(new Date(Math.min(...Object.values(journey.steps as Record<string, number>))));
      if (journey.day?.getTime() !== day.getTime()) {
        moved.push({ id: journey._id, itemId: journey.itemId, day });
        if (journey.day)
          itemDays.set(`${journey.itemId.toHexString()}|${journey.day.getTime()}`, {
            itemId: journey.itemId,
            day: journey.day,
          });
      }
      itemDays.set(`${journey.itemId.toHexString()}|${day.getTime()}`, { itemId: journey.itemId, day });
    }
    await this.repository.setJourneyDays(moved);
    // Every touched lot-day recounted whole from its journeys, read in a few commands.
    const dayKey = (itemId: Types.ObjectId, day: Date) => `${itemId.toHexString()}|${day.getTime()}`;
    const touched = [...itemDays.values()];
    const found = await this.repository.journeysOf(
      [...new Map(touched.map(({ itemId }) => [itemId.toHexString(), itemId])).values()],
      [...new Map(touched.map(({ day }) => [day.getTime(), day])).values()],
    );
    const byLotDay = Map.groupBy(found, (journey) => dayKey(journey.itemId, journey.day!));
    const itemRows: FunnelDayRecord[] = touched.map(({ itemId, day }) => {
      const lot = lots.get(itemId.toHexString())!;
      return {
        _id: rowId(FunnelScope.ITEM, itemId.toHexString(), day),
        scope: FunnelScope.ITEM,
        day,
        itemId,
        category: lot.category,
        sellerId: lot.sellerId,
        ...this.entriesOf(byLotDay.get(dayKey(itemId, day)) ?? [], lot.endsAt.getTime(), definitions.declared),
      };
    });
    // A lot moved to another category or seller since its rows were written: the rows it counted
    // in before are recounted too.
    const before = new Map(
      (await this.repository.rowsById(itemRows.map((row) => row._id))).map((row) => [row._id, row]),
    );
    if (!(await this.stillHeld())) return false;
    await this.repository.writeRows(itemRows);
    const groups = new Map<string, { scope: FunnelScope; day: Date; category: string; sellerId: string | null }>();
    const group = (day: Date, category: string, sellerId: string) => {
      groups.set(rowId(FunnelScope.CATEGORY, category, day), {
        scope: FunnelScope.CATEGORY,
        day,
        category,
        sellerId: null,
      });
      groups.set(rowId(FunnelScope.SELLER, `${sellerId}:${category}`, day), {
        scope: FunnelScope.SELLER,
        day,
        category,
        sellerId,
      });
    };
    for (const row of itemRows) {
      group(row.day, row.category, row.sellerId!);
      const previous = before.get(row._id);
      if (previous && (previous.category !== row.category || previous.sellerId !== row.sellerId))
        group(previous.day, previous.category, previous.sellerId!);
    }
    // Each category-day and seller-day recounted whole from its lots' rows, read in one command.
    const wanted = [...groups.values()];
    const lotRows = await this.repository.itemRowsOf(
      [...new Set(wanted.map(({ category }) => category))],
      [...new Map(wanted.map(({ day }) => [day.getTime(), day])).values()],
    );
    const rowsOfCategoryDay = Map.groupBy(lotRows, (row) => `${row.category}|${row.day.getTime()}`);
    const groupRows: FunnelDayRecord[] = [...groups].map(([id, { scope, day, category, sellerId }]) => {
      const rows = (rowsOfCategoryDay.get(`${category}|${day.getTime()}`) ?? []).filter(
        (row) => sellerId === null || row.sellerId === sellerId,
      );
      return {
        _id: id,
        scope,
        day,
        itemId: null,
        category,
        sellerId,
        entries: mergeEntries(
          rows.map((row) => row.entries),
          (entry) => `${entry.source}|${entry.signature}`,
        ),
        variants: mergeEntries(
          rows.map((row) => row.variants ?? []),
          (entry) => `${entry.experiment}|${entry.variant}|${entry.signature}`,
        ),
      };
    });
    if (!(await this.stillHeld())) return false;
    await this.repository.writeRows(groupRows);
    return true;
  }

  /**
   * The entries of one lot-day's journeys: counted per first-touch source and signature, and those
   * tagged in a defined experiment again per experiment, variant (declared ones) and signature.
   */
  private entriesOf(
    journeys: readonly JourneyRecord[],
    endsAt: number,
    declared: DeclaredVariants,
  ): { entries: FunnelEntry[]; variants: VariantEntry[] } {
    const entries = new Map<string, FunnelEntry>();
    const variants = new Map<string, VariantEntry>();
    for (const journey of journeys) {
      // The lot's end as it is now: an auction extended takes the steps of its extra time.
      const steps = countedSteps(journey.steps, { endsAt }, this.policy.windowMs);
      if (steps.length === 0) continue;
      const signature = signatureOf(steps);
      const source = firstTouchSource(journey.touches);
      count(entries, `${source}|${signature}`, () => ({ source, signature, count: 0, durations: {} }), steps);
      for (const [experiment, variant] of variantsOf(journey.tags, declared))
        count(
          variants,
          `${experiment}|${variant}|${signature}`,
          () => ({ experiment, variant, signature, count: 0, durations: {} }),
          steps,
        );
    }
    return { entries: [...entries.values()], variants: [...variants.values()] };
  }
}

/** Counts one journey (its counted steps) in the entry of `key`, created by `blank` when new. */
function count<Entry extends CountedJourneys>(
  into: Map<string, Entry>,
  key: string,
  blank: () => Entry,
  steps: ReadonlyArray<[FunnelStep, number]>,
): void {
  let entry = into.get(key);
  if (!entry) into.set(key, (entry = blank()));
  entry.count++;
  for (const [pair, bucket] of pairDurations(steps)) {
    const histogram = (entry.durations[pair] ??= {});
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
  }
}

/** The source whose touch came first (ties: the first in name order); `NONE` without a touch. */
function firstTouchSource(touches: Record<string, number> | undefined): string {
  const sorted = Object.entries(touches ?? {}).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return sorted[0]?.[0] ?? 'NONE';
}
