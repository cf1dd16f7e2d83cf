import { Types } from 'mongoose';
import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import { AuctionStatus, type AuctionItemRecord } from '../catalog/auctionItem.model';
import type { Clock } from '../shared/clock';
import { badUserInput } from '../shared/errors';
import { CLIENT_ID_PATTERN, type Pseudonymizer } from '../shared/privacy';
import {
  ConversionKind,
  ConversionOutcome,
  KINDS_WITH_AMOUNT,
  type ConversionEventRecord,
  type ConversionTouch,
} from './conversionEvent.model';
import type { ConversionsRepository } from './conversions.repository';
import type { AttributedTouch, ConversionInput, ConversionResult, TrackedConversion } from './conversions.types';
import type { TrafficSource } from '../analytics/analytics.types';
import type { EventType } from '../tracking/trackingEvent.model';

/** The rules conversions are checked against. */
export interface ConversionPolicy {
  /** Most conversions per call (`TRACKING_MAX_BATCH`, as for tracking). */
  readonly maxBatch: number;
  /** `occurredAt` further ahead of the server's clock is INVALID (`TRACKING_MAX_CLOCK_SKEW_MS`). */
  readonly maxClockSkewMs: number;
  /** `occurredAt` further in the past is INVALID (`CONVERSION_MAX_DELAY_DAYS`). */
  readonly maxDelayMs: number;
  /** How far before a conversion its touches are looked for (`CONVERSION_ATTRIBUTION_WINDOW_DAYS`). */
  readonly attributionWindowMs: number;
}

/** Hooks for metrics; no-ops by default. */
export interface ConversionObserver {
  tracked?(kind: ConversionKind, outcomes: readonly ConversionOutcome[]): void;
}

/** One reported conversion on its way through the checks. */
interface Candidate {
  readonly index: number;
  readonly input: ConversionInput;
  outcome?: ConversionOutcome;
  reason?: string;
  record?: ConversionEventRecord;
}

const ID_RULE = '1 to 128 letters, digits or _ . : -';

/**
 * Conversions from the marketplace's backend: each checked on its own (one bad event never fails
 * the batch) and against its lot, attributed to the session's first and last counted touch of
 * the item, stored once per `{ itemId, eventId }`. Returns once the accepted ones are stored.
 */
export class ConversionsService {
  constructor(
    private readonly repository: ConversionsRepository,
    private readonly catalog: Pick<AuctionItemRepository, 'findByIds'>,
    private readonly clock: Clock,
    private readonly policy: ConversionPolicy,
    private readonly pseudonyms: Pseudonymizer,
    private readonly observer: ConversionObserver = {},
  ) {}

  /**
   * Checks, attributes and stores a batch; the outcome of each event, in input order.
   *
   * @throws BAD_USER_INPUT when the batch is empty or larger than `maxBatch`
   */
  async track(inputs: readonly ConversionInput[]): Promise<ConversionResult> {
    if (inputs.length === 0 || inputs.length > this.policy.maxBatch)
      throw badUserInput('events', `events must hold 1 to ${this.policy.maxBatch} conversions; split larger batches.`);
    const now = this.clock.now();
    const candidates: Candidate[] = inputs.map((input, index) => ({ index, input }));
    for (const candidate of candidates) this.checkShape(candidate, now);
    const wellFormed = candidates.filter((candidate) => !candidate.outcome);
    // The lots and the sessions' touches at once: one round trip fewer before the insert.
    const [lots, touches] = await Promise.all([this.lotsOf(wellFormed), this.touchesOf(wellFormed, now)]);
    for (const candidate of wellFormed) this.checkLot(candidate, lots, now);
    const valid = candidates.filter((candidate) => !candidate.outcome);
    this.attribute(valid, lots, touches);
    await this.store(valid);
    for (const kind of Object.values(ConversionKind)) {
      const outcomes = candidates.filter((c) => c.input.kind === kind).map((c) => c.outcome!);
      if (outcomes.length > 0) this.observer.tracked?.(kind, outcomes);
    }
    return summarize(candidates);
  }

  /** The checks that need nothing but the input and the clock. */
  private checkShape(candidate: Candidate, now: Date): void {
    const { input } = candidate;
    const refuse = (reason: string) => invalid(candidate, reason);
    if (!CLIENT_ID_PATTERN.test(input.eventId)) return refuse(`eventId must be ${ID_RULE}`);
    if (!Types.ObjectId.isValid(input.itemId) || !/^[0-9a-f]{24}$/i.test(input.itemId))
      return refuse('itemId is not an auction item id');
    if (!CLIENT_ID_PATTERN.test(input.sessionId)) return refuse(`sessionId must be ${ID_RULE}`);
    if (input.userId != null && !CLIENT_ID_PATTERN.test(input.userId)) return refuse(`userId must be ${ID_RULE}`);
    if (KINDS_WITH_AMOUNT.has(input.kind)) {
      if (!input.amount) return refuse(`a ${input.kind} needs its amount (minor units and currency)`);
      if (input.amount.amount <= 0) return refuse('amount must be more than 0 minor units');
    } else if (input.amount) return refuse(`a ${input.kind} carries no amount; send it only with BID and PURCHASE`);
    const at = input.occurredAt?.getTime() ?? now.getTime();
    if (Number.isNaN(at)) return refuse('occurredAt is not a date');
    if (at > now.getTime() + this.policy.maxClockSkewMs)
      return refuse(`occurredAt is in the future (more than ${this.policy.maxClockSkewMs} ms ahead of the server)`);
    if (at < now.getTime() - this.policy.maxDelayMs)
      return refuse(
        `occurredAt is older than ${Math.round(this.policy.maxDelayMs / 86_400_000)} days (CONVERSION_MAX_DELAY_DAYS)`,
      );
  }

  /** The lots the candidates name, by id. */
  private async lotsOf(candidates: readonly Candidate[]): Promise<Map<string, AuctionItemRecord>> {
    const ids = [...new Set(candidates.map((candidate) => candidate.input.itemId.toLowerCase()))];
    if (ids.length === 0) return new Map();
    const found = await this.catalog.findByIds(ids.map((id) => new Types.ObjectId(id)));
    return new Map(found.map((lot) => [lot._id.toHexString(), lot]));
  }

  /**
   * The lot's rules: it exists; an amount is in its currency; a bid falls while it is open (from
   * `startsAt`, or once its status is ACTIVE, to `endsAt`); a view or a watch before it ends; a
   * purchase once it opened (a won auction is paid after the end); nothing is bought or bid on a
   * cancelled lot.
   */
  private checkLot(candidate: Candidate, lots: ReadonlyMap<string, AuctionItemRecord>, now: Date): void {
    const { input } = candidate;
    const refuse = (reason: string) => invalid(candidate, reason);
    const lot = lots.get(input.itemId.toLowerCase());
    if (!lot) return refuse('no auction item has this itemId');
    const at = input.occurredAt ?? now;
    // By `endsAt` alone: a lot marked ENDED after it finished still takes the late report of a
    // bid placed before (a lot ended early has its `endsAt` moved by the marketplace).
    const ended = at.getTime() >= lot.endsAt.getTime();
    // A lot the marketplace opened early (status ACTIVE before startsAt) takes bids.
    const open = at.getTime() >= lot.startsAt.getTime() || lot.status === AuctionStatus.ACTIVE;
    if (input.amount && input.amount.currency !== lot.currency)
      return refuse(`amount is in ${input.amount.currency}; this lot is priced in ${lot.currency}`);
    switch (input.kind) {
      case ConversionKind.BID:
        if (lot.status === AuctionStatus.CANCELLED) return refuse('the lot was cancelled');
        if (!open) return refuse(`the lot opens at ${lot.startsAt.toISOString()}: a bid before is not one`);
        if (ended) return refuse(`the lot ended at ${lot.endsAt.toISOString()}: a bid after it ended is not one`);
        break;
      case ConversionKind.PURCHASE:
        if (lot.status === AuctionStatus.CANCELLED) return refuse('the lot was cancelled');
        if (!open) return refuse(`the lot opens at ${lot.startsAt.toISOString()}: it cannot be bought before`);
        break;
      default:
        if (ended)
          return refuse(`the lot ended at ${lot.endsAt.toISOString()}: a ${input.kind} after it ended is not counted`);
    }
    candidate.record = {
      _id: new Types.ObjectId(),
      itemId: lot._id,
      eventId: input.eventId,
      kind: input.kind,
      sessionId: this.pseudonyms.storedId(input.sessionId),
      ...(input.userId != null ? { userId: this.pseudonyms.storedId(input.userId) } : {}),
      ...(input.amount ? { amount: input.amount.amount, currency: lot.currency } : {}),
      occurredAt: at,
      receivedAt: now,
      sellerId: lot.sellerId,
      category: lot.category,
    };
  }

  /**
   * The counted touches of the candidates' (session, lot) pairs in the attribution window before
   * each (up to the conversion; the lot's end is applied once the lot is read).
   */
  private async touchesOf(candidates: readonly Candidate[], now: Date): Promise<Map<string, ConversionTouch[]>> {
    const windows = candidates.map(({ input }) => {
      const at = (input.occurredAt ?? now).getTime();
      return {
        sessionId: this.pseudonyms.storedId(input.sessionId),
        itemId: new Types.ObjectId(input.itemId.toLowerCase()),
        from: at - this.policy.attributionWindowMs,
        to: at,
      };
    });
    // One read of every touch of the batch's sessions in the widest window; each conversion keeps
    // its own lot's within its own window (see attribute).
    const byPair = new Map<string, ConversionTouch[]>();
    if (windows.length === 0) return byPair;
    const wanted = new Set(windows.map((window) => `${window.sessionId}|${window.itemId.toHexString()}`));
    const found = await this.repository.touchesOfSessions(
      windows.map((window) => window.sessionId),
      new Date(Math.min(...windows.map((window) => window.from))),
      new Date(Math.max(...windows.map((window) => window.to))),
    );
    for (const { sessionId, itemId, ...touch } of found) {
      const key = `${sessionId}|${itemId.toHexString()}`;
      if (!wanted.has(key)) continue;
      const list = byPair.get(key) ?? [];
      list.push(touch);
      byPair.set(key, list);
    }
    return byPair;
  }

  /**
   * First and last counted touch of the session on the item in the window before the conversion,
   * which closes with the lot: touches after the lot ended (a purchase paid later) do not count.
   */
  private attribute(
    candidates: readonly Candidate[],
    lots: ReadonlyMap<string, AuctionItemRecord>,
    touches: ReadonlyMap<string, readonly ConversionTouch[]>,
  ): void {
    for (const { record } of candidates) {
      const lot = lots.get(record!.itemId.toHexString())!;
      const from = record!.occurredAt.getTime() - this.policy.attributionWindowMs;
      // Up to the conversion, and before the lot ended.
      const to = Math.min(record!.occurredAt.getTime(), lot.endsAt.getTime() - 1);
      const inWindow = (touches.get(`${record!.sessionId}|${record!.itemId.toHexString()}`) ?? [])
        .filter((touch) => touch.at.getTime() >= from && touch.at.getTime() <= to)
        .sort(
          (a, b) => a.at.getTime() - b.at.getTime() || a.eventId.toHexString().localeCompare(b.eventId.toHexString()),
        );
      if (inWindow.length === 0) continue;
      record!.firstTouch = inWindow[0]!;
      record!.lastTouch = inWindow.at(-1)!;
    }
  }

  /** Inserts the accepted ones; a duplicate key is a retry (same content) or a reused id (INVALID). */
  private async store(candidates: readonly Candidate[]): Promise<void> {
    const duplicates = await this.repository.insert(candidates.map((candidate) => candidate.record!));
    const repeated = [...duplicates].map((position) => candidates[position]!);
    const stored = await this.repository.findByKeys(repeated.map(({ record }) => record!));
    const byKey = new Map(stored.map((record) => [`${record.itemId.toHexString()}|${record.eventId}`, record]));
    for (const candidate of candidates) candidate.outcome = ConversionOutcome.ACCEPTED;
    for (const candidate of repeated) {
      const record = candidate.record!;
      const original = byKey.get(`${record.itemId.toHexString()}|${record.eventId}`);
      delete candidate.record;
      if (original && sameConversion(original, record)) {
        candidate.outcome = ConversionOutcome.DUPLICATE;
        candidate.reason = 'already stored (a retry of this eventId)';
      } else
        invalid(
          candidate,
          `eventId ${record.eventId} was already used for another conversion of this item; give each conversion its own eventId`,
        );
    }
  }
}

/** Marks a candidate INVALID with the reason that says what to fix. */
function invalid(candidate: Candidate, reason: string): void {
  candidate.outcome = ConversionOutcome.INVALID;
  candidate.reason = reason;
}

/** Whether a retry carries what was stored (kind, session, user and amount): the client's time may differ. */
function sameConversion(stored: ConversionEventRecord, retry: ConversionEventRecord): boolean {
  return (
    stored.kind === retry.kind &&
    stored.sessionId === retry.sessionId &&
    (stored.userId ?? null) === (retry.userId ?? null) &&
    (stored.amount ?? null) === (retry.amount ?? null)
  );
}

/** A stored touch as the mutation answers it (accepted conversions only). */
function answered(candidate: Candidate, touch: ConversionTouch | undefined): AttributedTouch | null {
  if (candidate.outcome !== ConversionOutcome.ACCEPTED || !touch) return null;
  return {
    type: touch.type as EventType,
    source: touch.source as TrafficSource,
    ...(touch.position !== undefined ? { position: touch.position } : {}),
    ...(touch.searchId ? { searchId: touch.searchId.toHexString() } : {}),
    ...(touch.experiment !== undefined ? { experiment: touch.experiment, variant: touch.variant } : {}),
    at: touch.at,
  };
}

/** The per-event answer and the counts. */
function summarize(candidates: readonly Candidate[]): ConversionResult {
  const events: TrackedConversion[] = candidates.map((candidate) => ({
    index: candidate.index,
    outcome: candidate.outcome!,
    reason: candidate.reason ?? null,
    firstTouch: answered(candidate, candidate.record?.firstTouch),
    lastTouch: answered(candidate, candidate.record?.lastTouch),
  }));
  const count = (outcome: ConversionOutcome) => events.filter((event) => event.outcome === outcome).length;
  return {
    accepted: count(ConversionOutcome.ACCEPTED),
    duplicates: count(ConversionOutcome.DUPLICATE),
    invalid: count(ConversionOutcome.INVALID),
    events,
  };
}
