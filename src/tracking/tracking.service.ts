import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { Types } from 'mongoose';
import type { AuctionItemRepository } from '../catalog/auctionItem.repository';
import type { ClientInfo } from '../graphql/context';
import type { Clock } from '../shared/clock';
import { withDeadline } from '../shared/deadline';
import { badUserInput, rateLimited, serviceUnavailable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { CLIENT_ID_PATTERN, type Pseudonymizer } from '../shared/privacy';
import type { AuditAggregator } from './auditAggregator';
import type { RateLimiter } from './rateLimiter';
import type { IssuedSession, SessionCheck, SessionSigner } from './sessions';
import type { ItemKey, NewTrackingEvent } from './tracking.repository';
import type { ImpressionInput, TrackedEvent, TrackingResult } from './tracking.types';
import { EventType, TrackingOutcome, uncountedEventKey } from './trackingEvent.model';
import type { TrackingWriter, WriteRequest } from './trackingWriter';
import type { SearchClick, SearchRecorder } from '../searches/searchRecorder';
import { EXPERIMENT_KEY_PATTERN } from '../experiments/exposure.model';

/** The tracking rules' knobs; each is an environment variable (see config.ts). */
export interface TrackingPolicy {
  readonly impressionCooldownMs: number;
  readonly clickCooldownMs: number;
  /** A click counts only after an impression of the item in the same session within this window. */
  readonly clickImpressionWindowMs: number;
  /** Counted clicks one counted impression supports (1: CTR per session and item never exceeds 1). */
  readonly clicksPerImpression: number;
  /** Events of sessions `startSession` did not issue (or expired ones) are INVALID. */
  readonly requireSignedSessions: boolean;
  /** Client timestamps further ahead than this are INVALID (clock skew allowance). */
  readonly maxClockSkewMs: number;
  /**
   * Client timestamps at most this old (or ahead within the skew) pick the dedup window, so a
   * retry sent with the same timestamp is a DUPLICATE even after the server's window rolled over.
   */
  readonly retryWindowMs: number;
  /** Client timestamps older than this are INVALID (nothing that old is kept). */
  readonly retentionMs: number;
  readonly maxBatch: number;
  /** Capacity of the implicit-impression queue (search results, item views). */
  readonly implicitQueueSize: number;
  /** Bound on each database step of a request (lookups here, the write in the writer). */
  readonly writeTimeoutMs: number;
}

const idPattern = CLIENT_ID_PATTERN;
const MAX_POSITION = 10_000;
/** Audit copies of client strings (an unknown item id, the user agent) are cut to this length. */
const AUDIT_MAX = 256;
const audit = (value: unknown): string => String(value).slice(0, AUDIT_MAX);
/** Existence answers are cached this long; "no such item" shorter, so a new item is tracked soon. */
const KNOWN_ITEM_TTL_MS = 60_000;
const UNKNOWN_ITEM_TTL_MS = 5_000;
/** Warnings about dropped or failed implicit impressions: at most one per interval. */
const IMPLICIT_WARNING_INTERVAL_MS = 10_000;

/** A function answering true at most once per `intervalMs` (wall time), to rate-limit a log line. */
function throttle(intervalMs: number): () => boolean {
  let last = -Infinity;
  return () => {
    const now = Date.now();
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}

/**
 * Click claims on counted impressions (see `TrackingRepository.claimImpression`): the database
 * decides atomically, so the click rule holds across instances.
 */
export interface ImpressionClaims {
  claim(sessionId: string, itemId: Types.ObjectId, since: Date, maxClaims: number): Promise<Types.ObjectId | null>;
  release(impressionId: Types.ObjectId, itemId: Types.ObjectId): Promise<void>;
  /** Which of these dedup keys are already counted (see `TrackingRepository.countedKeys`). */
  countedKeys(keys: readonly ItemKey[]): Promise<Set<string>>;
}

/**
 * What stands between a flood and the counters: the shared rate limits (per session, per address,
 * new sessions per address), the session signer and the audit sampling.
 */
export interface TrackingGuards {
  readonly sessionLimiter: RateLimiter;
  readonly ipLimiter: RateLimiter;
  readonly newSessionLimiter: RateLimiter;
  readonly sessions: SessionSigner;
  readonly audit: AuditAggregator;
  /**
   * Client addresses are stored as daily keyed hashes, never in clear; refused user and session ids
   * as keyed pseudonyms (docs/privacy.md "Pseudonyms").
   */
  readonly pseudonyms: Pseudonymizer;
  /** Counts counted clicks that name their search for search analytics (none: not counted). */
  readonly searchClicks?: Pick<SearchRecorder, 'attributeClicks'>;
}

/** What tracking reports as it works (metrics); every method optional. */
export interface TrackingObserver {
  /** One tracking call ended with these outcomes, one per event (explicit and implicit calls). */
  tracked?(type: EventType, outcomes: readonly TrackingOutcome[]): void;
}

interface Candidate {
  readonly index: number;
  readonly input: ImpressionInput;
  outcome?: TrackingOutcome;
  reason?: string;
  itemId?: Types.ObjectId;
  category?: string;
  dedupKey?: string;
  /** Clicks: the impression whose claim this click spent. */
  impressionId?: Types.ObjectId;
  /**
   * Why the event's userId does not count as its user (uniqueUsers, userAnalytics): its session is
   * bound to another user or to none. Unset when it counts or there is none.
   */
  userNotCounted?: string;
}

/**
 * What the budget check needs of a request's events, without looking at them one by one: how many
 * of each type, and the session ids they name.
 */
export interface TrackingBatchShape {
  readonly counts: ReadonlyMap<EventType, number>;
  /** Distinct session ids of the events (any value; those no event could have are ignored). */
  readonly sessionIds: ReadonlySet<unknown>;
}

/** A request refused as a whole because its address or its session(s) are over their budget. */
export interface BudgetRefusal {
  readonly message: string;
  readonly retryAfterMs: number;
}

/** Sessions of one request the budget check looks at, at most (one round trip each with Redis). */
const MAX_PEEKED_SESSIONS = 8;

/** Per batch: session checks and user hashes, each computed once however many events share them. */
interface BatchMemo {
  readonly sessions: Map<string, SessionCheck>;
  readonly userKeys: Map<string, string>;
}

/**
 * The tracking rules: validation, bot and rate-limit filtering, item existence, deduplication per
 * cooldown window and the click-needs-impression rule. Every event ends with one outcome; events
 * are stored (counted or for audit) through the group-commit writer, and the call returns only
 * after they are stored.
 */
export class TrackingService {
  /** Item id → category, or null for ids known not to exist. */
  private readonly items: LRUCache<string, { category: string | null }>;
  /** Dedup keys this instance stored recently: a fast first filter before the unique index. */
  private readonly recentKeys: LRUCache<string, true>;
  /** Implicit impressions waiting, one entry per query that implied them. */
  private readonly implicitQueue: Array<{ client: ClientInfo; inputs: ImpressionInput[] }> = [];
  /** Implicit impressions queued or being tracked: what `implicitQueueSize` bounds. */
  private implicitPending = 0;
  private implicitDrain?: Promise<void>;
  private droppedImplicit = 0;
  private failedImplicit = 0;
  private readonly dropWarning = throttle(IMPLICIT_WARNING_INTERVAL_MS);
  private readonly failureWarning = throttle(IMPLICIT_WARNING_INTERVAL_MS);

  constructor(
    private readonly writer: TrackingWriter,
    private readonly catalog: AuctionItemRepository,
    private readonly impressionClaims: ImpressionClaims,
    private readonly clock: Clock,
    private readonly policy: TrackingPolicy,
    private readonly logger: Logger,
    private readonly guards: TrackingGuards,
    private readonly observer: TrackingObserver = {},
  ) {
    this.items = new LRUCache({
      max: 100_000,
      ttl: KNOWN_ITEM_TTL_MS,
      // Ages on the injected clock, read on every check (no 1 ms memo), so tests control expiry.
      perf: { now: () => clock.now().getTime() },
      ttlResolution: 0,
    });
    // A key can recur while a client timestamp can still map to its window: a cooldown plus the
    // span client timestamps may choose windows from (a key's match is a duplicate at any age).
    this.recentKeys = new LRUCache({
      max: 200_000,
      ttl: Math.max(policy.impressionCooldownMs, policy.clickCooldownMs) + policy.retryWindowMs + policy.maxClockSkewMs,
      ttlAutopurge: false,
    });
  }

  /** Implicit impressions dropped because the queue was full (since start). */
  get droppedImplicitImpressions(): number {
    return this.droppedImplicit;
  }

  /** Implicit impressions that could not be tracked, e.g. during a database outage (since start). */
  get failedImplicitImpressions(): number {
    return this.failedImplicit;
  }

  /** Refused events counted in aggregate rows instead of stored one by one (since start). */
  get aggregatedAuditEvents(): number {
    return this.guards.audit.aggregatedEvents;
  }

  /** Writes the aggregated audit counts gathered so far (also done periodically and at shutdown). */
  flushAuditAggregates(): Promise<void> {
    return this.guards.audit.flush();
  }

  /**
   * Issues a signed tracking session for `client`, or throws `RATE_LIMITED` (with
   * `retryAfterMs`) when its address asked for more than `TRACKING_NEW_SESSIONS_PER_MINUTE`:
   * sessions cost the caller something, so random session ids stop being a way around the
   * per-session limits.
   *
   * A session started with `userId` is bound to that user: only its events carrying that userId
   * count toward the user's figures (uniqueUsers, userAnalytics). One user per session, so forging
   * N users takes N sessions, each within the new-session budget; the session carries a keyed hash
   * of the id, never the id (sessions are visible to the client).
   */
  async startSession(client: ClientInfo, userId?: string | null): Promise<IssuedSession> {
    if (userId != null && (typeof userId !== 'string' || !idPattern.test(userId)))
      throw badUserInput(
        'userId',
        "userId must be the signed-in user's id, 1 to 128 letters, digits or _ . : -; leave it out (or null) for a visitor who is not signed in.",
      );
    const { allowed, retryAfterMs } = await this.guards.newSessionLimiter.take(client.limitKey);
    if (allowed === 0)
      throw rateLimited(
        'Too many new sessions from this address (TRACKING_NEW_SESSIONS_PER_MINUTE); reuse the current one.',
        retryAfterMs,
      );
    return this.guards.sessions.issue(userId);
  }

  /**
   * The budget check that comes before anything else: when the client's
   * address, or every session the events name, has nothing left of its tracking budget this
   * minute, the whole request is refused at once instead of event by event — a flood past its
   * budget costs a look at two counters, not the processing of every event. Its events are
   * accounted for as refused ones are: RATE_LIMITED in the audit aggregates (no rows: a batch
   * refused unseen has nothing to audit but its address, minute, type and size) and the metrics.
   * Null when the request may proceed (its events are then limited one by one as before).
   *
   * Called by the HTTP guard before GraphQL coerces the events (trackingBudgetGuard), and by
   * {@link track} for every other way in (websockets, inline literals).
   */
  async refuseOverBudget(client: ClientInfo, batch: TrackingBatchShape): Promise<BudgetRefusal | null> {
    let total = 0;
    for (const count of batch.counts.values()) total += count;
    if (total === 0) return null;
    let refusal: { scope: string; setting: string; retryAfterMs: number } | undefined;
    const address = await this.beforeDeadline(this.guards.ipLimiter.peek(client.limitKey));
    if (address.allowed === 0)
      refusal = { scope: 'address', setting: 'TRACKING_IP_EVENTS_PER_MINUTE', retryAfterMs: address.retryAfterMs };
    else {
      const sessions = [...batch.sessionIds].filter((id): id is string => typeof id === 'string' && idPattern.test(id));
      if (sessions.length > 0 && sessions.length === batch.sessionIds.size && sessions.length <= MAX_PEEKED_SESSIONS) {
        const left = await this.beforeDeadline(Promise.all(sessions.map((id) => this.guards.sessionLimiter.peek(id))));
        if (left.every((decision) => decision.allowed === 0))
          refusal = {
            scope: sessions.length === 1 ? 'session' : 'sessions',
            setting: 'TRACKING_SESSION_EVENTS_PER_MINUTE',
            retryAfterMs: Math.min(...left.map((decision) => decision.retryAfterMs)),
          };
      }
    }
    if (!refusal) return null;
    const now = this.clock.now();
    const storedIp = this.guards.pseudonyms.address(client.ip, now);
    for (const [type, count] of batch.counts) {
      this.guards.audit.aggregate(storedIp, type, TrackingOutcome.RATE_LIMITED, count);
      if (count > 0)
        this.observer.tracked?.(type, new Array<TrackingOutcome>(count).fill(TrackingOutcome.RATE_LIMITED));
    }
    const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
    return {
      message: `Too many tracking events from this ${refusal.scope} (${refusal.setting}): none of this request's ${total} events was looked at or counted; retry in ${seconds} s.`,
      retryAfterMs: refusal.retryAfterMs,
    };
  }

  /**
   * Tracks a batch of impressions or clicks from one client. Throws `BAD_USER_INPUT` only for an
   * empty or oversized batch, and `RATE_LIMITED` (with `retryAfterMs`) for a batch whose address
   * or session(s) had no budget left before it (see {@link refuseOverBudget}); every other problem
   * is an outcome of its event.
   *
   * @param wholeBatchRefusal - false for implicit impressions: nobody waits for their answer, so
   *   they are limited event by event as before
   */
  async track(
    type: EventType,
    inputs: readonly ImpressionInput[],
    client: ClientInfo,
    wholeBatchRefusal = true,
  ): Promise<TrackingResult> {
    if (inputs.length === 0 || inputs.length > this.policy.maxBatch) {
      throw badUserInput('events', `events must hold 1 to ${this.policy.maxBatch} events; split larger batches.`);
    }
    if (wholeBatchRefusal && !client.trackingBudgetChecked) {
      const refusal = await this.refuseOverBudget(client, {
        counts: new Map([[type, inputs.length]]),
        sessionIds: new Set(inputs.map((input) => input.sessionId)),
      });
      if (refusal) throw rateLimited(refusal.message, refusal.retryAfterMs);
    }
    const now = this.clock.now();
    const candidates: Candidate[] = inputs.map((input, index) => ({ index, input }));
    const open = () => candidates.filter((candidate) => candidate.outcome === undefined);
    const settle = (candidate: Candidate, outcome: TrackingOutcome, reason?: string) => {
      candidate.outcome = outcome;
      candidate.reason = reason;
    };

    // Bots: a property of the request, so of all its events.
    const botReason = !client.userAgent
      ? 'missing user agent'
      : isbot(client.userAgent)
        ? 'bot or crawler user agent'
        : undefined;
    const memo: BatchMemo = { sessions: new Map(), userKeys: new Map() };
    for (const candidate of candidates) {
      if (botReason) settle(candidate, TrackingOutcome.REJECTED_BOT, botReason);
      else this.validate(candidate, now, memo);
    }
    await this.applyRateLimits(open(), client);
    await this.beforeDeadline(this.checkItemsExist(open()));

    // Deduplication: in this batch, then against what this instance counted recently. The
    // unique index on dedupKey decides atomically for everything else (other instances too).
    const cooldown = type === EventType.IMPRESSION ? this.policy.impressionCooldownMs : this.policy.clickCooldownMs;
    const inBatch = new Set<string>();
    for (const candidate of open()) {
      const window = Math.floor(this.dedupTime(candidate.input, now) / cooldown);
      const key = `${type}:${candidate.input.sessionId}:${candidate.itemId!.toHexString()}:${window}`;
      if (inBatch.has(key) || this.recentKeys.has(key)) settle(candidate, TrackingOutcome.DUPLICATE);
      else {
        inBatch.add(key);
        candidate.dedupKey = key;
      }
    }
    if (type === EventType.CLICK) await this.claimImpressions(open(), now);
    for (const candidate of open()) settle(candidate, TrackingOutcome.ACCEPTED);

    // Store counted events and, within the address's audit budget, refused ones (the rest are
    // aggregated). Not duplicates: the counted original is already stored.
    const refused = candidates.filter(
      (candidate) => candidate.outcome !== TrackingOutcome.ACCEPTED && candidate.outcome !== TrackingOutcome.DUPLICATE,
    );
    const storedIp = this.guards.pseudonyms.address(client.ip, now);
    // The audit budget is per address like the other limits (an IPv6 /64 is one), pseudonymised too.
    const budgetKey = client.limitKey === client.ip ? storedIp : this.guards.pseudonyms.address(client.limitKey, now);
    const kept = await this.guards.audit.sample(
      storedIp,
      type,
      refused.map((candidate) => candidate.outcome!),
      budgetKey,
    );
    const audited = new Set(refused.slice(0, kept));
    const stored = candidates.filter(
      (candidate) => candidate.outcome === TrackingOutcome.ACCEPTED || audited.has(candidate),
    );
    const requests: WriteRequest[] = stored.map((candidate) => ({
      event: this.toEvent(type, candidate, { ...client, ip: storedIp }, now),
      category: candidate.category,
    }));
    let results: Awaited<ReturnType<TrackingWriter['write']>>;
    try {
      results = await this.writer.write(requests);
    } catch (error) {
      // Not stored, so not counted: give the claims back (best effort; a claim lost here only
      // makes the rule stricter, never looser).
      await this.releaseClaims(stored.filter((candidate) => candidate.impressionId));
      throw error;
    }
    const uncounted: Candidate[] = [];
    const searchClicks: SearchClick[] = [];
    stored.forEach((candidate, position) => {
      if (results[position] === 'duplicate') {
        // Another request counted this click first; its claim stays spent, this one's is returned.
        if (candidate.impressionId) uncounted.push(candidate);
        settle(candidate, TrackingOutcome.DUPLICATE);
      } else if (candidate.outcome === TrackingOutcome.ACCEPTED) {
        this.recentKeys.set(candidate.dedupKey!, true);
        const event = requests[position]!.event;
        if (type === EventType.CLICK && event.searchId)
          searchClicks.push({
            searchId: event.searchId,
            itemId: candidate.itemId!,
            position: event.position,
            sessionId: event.sessionId,
          });
      }
    });
    // Only counted clicks count for their search: the dedup and click rules apply first.
    if (searchClicks.length > 0) this.guards.searchClicks?.attributeClicks(searchClicks);
    await this.releaseClaims(uncounted);
    this.observer.tracked?.(
      type,
      candidates.map((candidate) => candidate.outcome!),
    );
    // Duplicates are never stored (the counted original is), but their rate belongs in the audit
    // figures (trackingOutcomes): one counter per address, minute and type, no rows.
    this.guards.audit.count(
      storedIp,
      type,
      TrackingOutcome.DUPLICATE,
      candidates.filter((candidate) => candidate.outcome === TrackingOutcome.DUPLICATE).length,
    );
    return this.summarize(candidates);
  }

  /**
   * Records impressions a query implies (search results, an item page) without slowing or
   * failing the query: they go through a bounded queue; when it is full they are dropped, counted
   * and logged. Needs a session (`x-session-id`); without one nothing is recorded.
   */
  recordImpressionsImplicitly(
    client: ClientInfo,
    entries: ReadonlyArray<{ itemId: string; position?: number }>,
    source: string,
  ): void {
    if (!client.sessionId || entries.length === 0) return;
    const inputs = entries
      .slice(0, this.policy.maxBatch)
      .map(
        (entry) =>
          ({ itemId: entry.itemId, sessionId: client.sessionId!, source, position: entry.position }) as ImpressionInput,
      );
    if (this.implicitPending + inputs.length > this.policy.implicitQueueSize) {
      this.droppedImplicit += inputs.length;
      if (this.dropWarning())
        this.logger.warn({ dropped: this.droppedImplicit }, 'implicit impression queue full: dropping impressions');
      return;
    }
    this.implicitPending += inputs.length;
    this.implicitQueue.push({ client, inputs });
    this.startImplicitDrain();
  }

  /** Waits until every queued implicit impression is tracked (shutdown: before the writer closes). */
  async drainImplicitQueue(): Promise<void> {
    while (this.implicitDrain) await this.implicitDrain;
  }

  private startImplicitDrain(): void {
    this.implicitDrain ??= this.drainImplicit().finally(() => {
      this.implicitDrain = undefined;
      // Queued after the loop's last check but before this callback: start again.
      if (this.implicitQueue.length > 0) this.startImplicitDrain();
    });
  }

  private async drainImplicit(): Promise<void> {
    while (this.implicitQueue.length > 0) {
      // Everything waiting at once: the writer stores it in one flush anyway, and each query's
      // impressions keep their own client (bot check, rate limits).
      const waiting = this.implicitQueue.splice(0);
      await Promise.all(
        waiting.map(async ({ client, inputs }) => {
          try {
            await this.track(EventType.IMPRESSION, inputs, client, false);
          } catch (error) {
            // E.g. a database outage: the query that implied them has long been answered.
            this.failedImplicit += inputs.length;
            if (this.failureWarning())
              this.logger.warn({ err: error, failed: this.failedImplicit }, 'implicit impressions not recorded');
          } finally {
            this.implicitPending -= inputs.length;
          }
        }),
      );
    }
  }

  /**
   * The address first (one counter for the whole request), so a flood of fresh session ids from
   * one address is cut before it creates per-session counters; then each session. Within a
   * budget the first events are allowed, in input order. One round trip per distinct key.
   */
  private async applyRateLimits(candidates: readonly Candidate[], client: ClientInfo): Promise<void> {
    if (candidates.length === 0) return;
    const byAddress = await this.beforeDeadline(this.guards.ipLimiter.take(client.limitKey, candidates.length));
    candidates.slice(byAddress.allowed).forEach((candidate) => {
      candidate.outcome = TrackingOutcome.RATE_LIMITED;
      candidate.reason = 'too many events from this address (TRACKING_IP_EVENTS_PER_MINUTE)';
    });
    const bySession = Map.groupBy(candidates.slice(0, byAddress.allowed), (candidate) => candidate.input.sessionId);
    await this.beforeDeadline(
      Promise.all(
        [...bySession].map(async ([sessionId, list]) => {
          const { allowed } = await this.guards.sessionLimiter.take(sessionId, list.length);
          list.slice(allowed).forEach((candidate) => {
            candidate.outcome = TrackingOutcome.RATE_LIMITED;
            candidate.reason = 'too many events from this session (TRACKING_SESSION_EVENTS_PER_MINUTE)';
          });
        }),
      ),
    );
  }

  /** A lookup that hangs (an unresponsive database) fails the request as retryable instead. */
  private beforeDeadline<T>(lookup: Promise<T>): Promise<T> {
    return withDeadline(lookup, this.policy.writeTimeoutMs, () =>
      serviceUnavailable('The database did not answer in time; tracking events were not stored. Retry shortly.'),
    );
  }

  private validate(candidate: Candidate, now: Date, memo: BatchMemo): void {
    const { input } = candidate;
    const invalid = (reason: string) => {
      candidate.outcome = TrackingOutcome.INVALID;
      candidate.reason = reason;
    };
    if (typeof input.sessionId !== 'string' || !idPattern.test(input.sessionId))
      return invalid('sessionId must be 1 to 128 letters, digits or _ . : -');
    const session = (): SessionCheck => {
      let check = memo.sessions.get(input.sessionId);
      if (!check) memo.sessions.set(input.sessionId, (check = this.guards.sessions.check(input.sessionId)));
      return check;
    };
    if (this.policy.requireSignedSessions) {
      const check = session();
      if (!check.valid) return invalid(check.reason);
    }
    if (input.userId != null && !idPattern.test(input.userId))
      return invalid('userId must be 1 to 128 letters, digits or _ . : -');
    if (input.userId != null) candidate.userNotCounted = this.userNotCounted(session(), input.userId, memo);
    if (!/^[0-9a-fA-F]{24}$/.test(input.itemId)) return invalid('itemId is not a valid item id');
    if (
      input.position != null &&
      (!Number.isInteger(input.position) || input.position < 0 || input.position > MAX_POSITION)
    ) {
      return invalid(`position must be from 0 to ${MAX_POSITION}`);
    }
    if (input.searchId != null && !/^[0-9a-fA-F]{24}$/.test(input.searchId))
      return invalid('searchId is not a searchId from auctionItems');
    if ((input.experiment == null) !== (input.variant == null))
      return invalid('experiment and variant go together: send both or neither');
    if (
      input.experiment != null &&
      !(EXPERIMENT_KEY_PATTERN.test(input.experiment) && EXPERIMENT_KEY_PATTERN.test(input.variant!))
    )
      return invalid('experiment and variant must be 1 to 64 letters, digits or _ . : -');
    if (input.timestamp != null) {
      const at = input.timestamp.getTime();
      if (Number.isNaN(at)) return invalid('timestamp is not a valid date-time');
      if (at > now.getTime() + this.policy.maxClockSkewMs) return invalid('timestamp is in the future');
      if (at < now.getTime() - this.policy.retentionMs) return invalid('timestamp is older than the retention period');
    }
    candidate.itemId = new Types.ObjectId(input.itemId);
  }

  /**
   * Whether an event's userId counts as its user, and if not why: a session `startSession` issued
   * vouches for at most one user, the one it was started for (compared by keyed hash), and for
   * none when started without one. A session id it did not issue — accepted only while
   * TRACKING_REQUIRE_SIGNED_SESSIONS is off, where session ids are the client's word too — cannot
   * vouch for anything: its userId counts as sent, as every event's did before sessions were bound.
   */
  private userNotCounted(session: SessionCheck, userId: string, memo: BatchMemo): string | undefined {
    if (!session.valid) return undefined;
    if (session.userKey === null)
      return 'userId not counted as a user: this session was started without one; call startSession(userId) at sign-in';
    let key = memo.userKeys.get(userId);
    if (key === undefined) memo.userKeys.set(userId, (key = this.guards.sessions.userKey(userId)));
    return key === session.userKey
      ? undefined
      : 'userId not counted as a user: this session was started for another user; call startSession(userId) when the user changes';
  }

  /**
   * The instant whose window dedups an event: its client timestamp when that lies within
   * [now - retryWindowMs, now + maxClockSkewMs] (later ones are INVALID already), else the
   * server's receive time. A client stamps an event once and resends the same timestamp, so a
   * retry maps to the first attempt's window whenever the server receives it. A client choosing
   * timestamps gains at most the windows of that span once per session and item (docs/tracking.md
   * "Retries and client timestamps"); rollup hours and click claims keep the receive time.
   */
  private dedupTime(input: ImpressionInput, now: Date): number {
    const at = input.timestamp?.getTime();
    return at !== undefined && at >= now.getTime() - this.policy.retryWindowMs ? at : now.getTime();
  }

  /**
   * Marks events of unknown items INVALID: cached lookups, one query for all cache misses. Each id
   * is read from the cache once, before the query: an entry that expires while the query runs must
   * not turn an item that exists into "no such item".
   */
  private async checkItemsExist(candidates: readonly Candidate[]): Promise<void> {
    const categories = new Map<string, string | null>();
    const misses: string[] = [];
    for (const id of new Set(candidates.map((c) => c.itemId!.toHexString()))) {
      const cached = this.items.get(id);
      if (cached) categories.set(id, cached.category);
      else misses.push(id);
    }
    if (misses.length > 0) {
      const found = await this.catalog.categoriesOf(misses.map((id) => new Types.ObjectId(id)));
      for (const id of misses) {
        const category = found.get(id) ?? null;
        categories.set(id, category);
        if (category !== null) this.items.set(id, { category });
        else this.items.set(id, { category: null }, { ttl: UNKNOWN_ITEM_TTL_MS });
      }
    }
    for (const candidate of candidates) {
      const category = categories.get(candidate.itemId!.toHexString());
      if (category == null) {
        candidate.outcome = TrackingOutcome.INVALID;
        candidate.reason = 'no auction item has this itemId';
      } else candidate.category = category;
    }
  }

  /**
   * Clicks count only by spending a claim of a counted impression of the same item in the same
   * session, received within `clickImpressionWindowMs`; each impression has `clicksPerImpression`
   * claims. Claims are atomic conditional updates in the database, so the rule is exact across
   * instances; the rest are FLAGGED, as a click without any impression always was.
   */
  private async claimImpressions(candidates: readonly Candidate[], now: Date): Promise<void> {
    const since = new Date(now.getTime() - this.policy.clickImpressionWindowMs);
    const attempts = candidates.map(async (candidate) => {
      candidate.impressionId =
        (await this.impressionClaims.claim(
          candidate.input.sessionId,
          candidate.itemId!,
          since,
          this.policy.clicksPerImpression,
        )) ?? undefined;
    });
    const claims = Promise.all(attempts);
    const unclaimed = () => candidates.filter((candidate) => !candidate.impressionId);
    let counted = new Set<string>();
    try {
      await this.beforeDeadline(claims);
      // A click without a claim may be the retry of a counted click that spent it (on another
      // instance, or after this one forgot the key): a DUPLICATE then, not a suspicious click.
      if (unclaimed().length > 0)
        counted = await this.beforeDeadline(
          this.impressionClaims.countedKeys(
            unclaimed().map((candidate) => ({ itemId: candidate.itemId!, dedupKey: candidate.dedupKey! })),
          ),
        );
    } catch (error) {
      // The click is not counted: give back every claim it took, including those that land after
      // the deadline. Waiting for all attempts to settle (not for `claims`, which rejects at the
      // first failure) also keeps a late failure from escaping as an unhandled rejection.
      void Promise.allSettled(attempts).then(() =>
        this.releaseClaims(candidates.filter((candidate) => candidate.impressionId)),
      );
      throw error;
    }
    for (const candidate of unclaimed()) {
      if (counted.has(candidate.dedupKey!)) candidate.outcome = TrackingOutcome.DUPLICATE;
      else {
        candidate.outcome = TrackingOutcome.FLAGGED;
        candidate.reason =
          this.policy.clicksPerImpression === 1
            ? 'click without a prior impression of the item in this session that is not already clicked'
            : `click without a prior impression of the item in this session that has fewer than ${this.policy.clicksPerImpression} clicks`;
      }
    }
  }

  /** Gives back the claims of clicks that were not counted; failures are logged, not thrown. */
  private async releaseClaims(candidates: readonly Candidate[]): Promise<void> {
    await Promise.all(
      candidates.map(async (candidate) => {
        const impressionId = candidate.impressionId!;
        candidate.impressionId = undefined;
        try {
          await this.impressionClaims.release(impressionId, candidate.itemId!);
        } catch (error) {
          this.logger.warn({ err: error }, 'could not release a click claim; that impression supports one click less');
        }
      }),
    );
  }

  private toEvent(type: EventType, candidate: Candidate, client: ClientInfo, now: Date): NewTrackingEvent {
    const { input } = candidate;
    const counted = candidate.outcome === TrackingOutcome.ACCEPTED;
    const _id = new Types.ObjectId();
    return {
      _id,
      type,
      itemId: candidate.itemId ?? null,
      ...(candidate.itemId ? {} : { rawItemId: audit(input.itemId) }),
      // Ids as sent only when they have the accepted shape; a refused one (`alice@example.com`) as
      // the keyed pseudonym that erasure computes from the same value (docs/privacy.md "Pseudonyms").
      sessionId: this.guards.pseudonyms.storedId(String(input.sessionId)),
      ...(input.userId != null ? { userId: this.guards.pseudonyms.storedId(String(input.userId)) } : {}),
      // Stored for erasure, never counted as that user's (uniqueUsers, userAnalytics).
      ...(candidate.userNotCounted ? { userNotCounted: true as const } : {}),
      source: input.source,
      ...(input.position != null && Number.isInteger(input.position) ? { position: input.position } : {}),
      ...(input.searchId != null && /^[0-9a-fA-F]{24}$/.test(input.searchId)
        ? { searchId: new Types.ObjectId(input.searchId) }
        : {}),
      // Only from a valid event: a refused one's values (any length) are not kept.
      ...(input.experiment != null &&
      EXPERIMENT_KEY_PATTERN.test(input.experiment) &&
      EXPERIMENT_KEY_PATTERN.test(input.variant ?? '')
        ? { experiment: input.experiment, variant: input.variant }
        : {}),
      ...(input.timestamp != null && !Number.isNaN(input.timestamp.getTime())
        ? { clientTimestamp: input.timestamp }
        : {}),
      receivedAt: now,
      // Already pseudonymised by the caller (see TrackingGuards.pseudonyms).
      ip: client.ip,
      ...(client.userAgent ? { userAgent: audit(client.userAgent) } : {}),
      outcome: candidate.outcome!,
      ...(candidate.reason ? { reason: candidate.reason } : {}),
      dedupKey: counted ? candidate.dedupKey! : uncountedEventKey(_id),
      ...(counted && type === EventType.IMPRESSION ? { clicksClaimed: 0 } : {}),
      ...(counted && candidate.impressionId ? { impressionId: candidate.impressionId } : {}),
    };
  }

  private summarize(candidates: readonly Candidate[]): TrackingResult {
    const count = (outcome: TrackingOutcome) => candidates.filter((c) => c.outcome === outcome).length;
    const events: TrackedEvent[] = candidates.map((c) => ({
      index: c.index,
      outcome: c.outcome!,
      // An accepted event says so when its userId did not count as a user.
      reason: c.reason ?? (c.outcome === TrackingOutcome.ACCEPTED ? c.userNotCounted : undefined) ?? null,
    }));
    return {
      accepted: count(TrackingOutcome.ACCEPTED),
      duplicates: count(TrackingOutcome.DUPLICATE),
      rateLimited: count(TrackingOutcome.RATE_LIMITED),
      rejectedBots: count(TrackingOutcome.REJECTED_BOT),
      invalid: count(TrackingOutcome.INVALID),
      flagged: count(TrackingOutcome.FLAGGED),
      events,
    };
  }
}
