import { Types } from 'mongoose';
import type { ItemSearch } from '../catalog/search.repository';
import type { CounterIncrement } from '../db/counters';
import { BulkWriteOutcomeUnknownError } from '../db/bulkWrites';
import { startOfDay, type Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import {
  COUNTED_POSITIONS,
  emptySearchDay,
  type SearchDayRecord,
  type SearchEventRecord,
  type SearchPositionDayRecord,
} from './searchEvent.model';
import { filterKeyOf } from './filterKey';
import type { SearchesRepository, SearchOfClick } from './searches.repository';

/** A search's first page as the search service saw it. */
export interface RecordedSearch {
  readonly search: ItemSearch;
  readonly resultCount: number;
  readonly hasMore: boolean;
  readonly latencyMs: number;
  readonly didYouMean: string | null;
  /** The session the client named (`x-session-id`), if any, as sent. */
  readonly sessionId: string | undefined;
  /** The client's address as per-address limits count it (`ClientInfo.limitKey`), if known. */
  readonly address?: string;
}

/** A counted click that names the search it came from. */
export interface SearchClick {
  readonly searchId: Types.ObjectId;
  readonly itemId: Types.ObjectId;
  readonly position: number | undefined;
  /** The click's session as tracking stored it. */
  readonly sessionId: string;
}

/** How the recorder samples and batches. */
export interface SearchRecorderOptions {
  /** `SEARCH_EVENTS_SAMPLE_RATE`: the share of searches recorded, 0 to 1. */
  readonly sampleRate: number;
  /** How often what was recorded is written. */
  readonly flushIntervalMs: number;
  /** Searches waiting at most; beyond, new ones are not recorded (the database is not keeping up). */
  readonly maxPending: number;
  /** The sampling's dice (tests pass their own). */
  readonly random?: () => number;
}

/** Flushes a click waits at most for its search, recorded by another instance that has not written it yet. */
const CLICK_LOOKUPS = 3;

/** Whether a click came from the session that searched (no client can credit another's searches). */
function isOwnClick(search: SearchOfClick, click: SearchClick): boolean {
  return search.sessionId !== undefined && search.sessionId === click.sessionId;
}

/** Adds `increment` to the one already waiting for the same document, if any. */
function merge<T extends { _id: string }>(pending: Map<string, CounterIncrement<T>>, increment: CounterIncrement<T>) {
  const waiting = pending.get(increment._id);
  if (!waiting) {
    pending.set(increment._id, { ...increment, inc: { ...increment.inc } });
    return;
  }
  const inc = waiting.inc as Record<string, number>;
  for (const [path, value] of Object.entries(increment.inc)) inc[path] = (inc[path] ?? 0) + value;
}

/**
 * Records searches and attributes the clicks on their results, off the request path: a search is
 * counted in memory and answered at once (with its `searchId`); every `flushIntervalMs` the events
 * are written in one insert and the day rollups in one increment per query, with the clicks counted
 * since. A click is attributed only to a search of the same session, so that no client can credit
 * another's searches.
 */
export class SearchRecorder {
  private events: SearchEventRecord[] = [];
  private days = new Map<string, CounterIncrement<SearchDayRecord>>();
  private positions = new Map<string, CounterIncrement<SearchPositionDayRecord>>();
  private clicks: Array<SearchClick & { lookups: number }> = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private skipped = 0;

  constructor(
    private readonly repository: SearchesRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: SearchRecorderOptions,
    /** A session id in the form tracking stores it (`Pseudonymizer.storedId`), so that the two compare. */
    private readonly storedSessionId: (sessionId: string) => string,
    /** A client address in the form tracking stores it (`Pseudonymizer.address`). */
    private readonly storedAddress: (address: string, at: Date) => string,
  ) {}

  /** Searches not recorded because too many were waiting (since start). */
  get skippedSearches(): number {
    return this.skipped;
  }

  /**
   * Counts a search with query words (others are browsing, not searching), if the sample takes it.
   * @returns its searchId, or null when it is not recorded
   */
  record(recorded: RecordedSearch): string | null {
    if (recorded.search.words.length === 0) return null;
    if ((this.options.random ?? Math.random)() >= this.options.sampleRate) return null;
    if (this.events.length >= this.options.maxPending) {
      this.skipped++;
      return null;
    }
    const at = this.clock.now();
    const event: SearchEventRecord = {
      _id: new Types.ObjectId(),
      at,
      query: recorded.search.words.join(' '),
      filterKey: filterKeyOf(recorded.search),
      resultCount: recorded.resultCount,
      hasMore: recorded.hasMore,
      latencyMs: Math.round(recorded.latencyMs),
      ...(recorded.didYouMean ? { didYouMean: recorded.didYouMean } : {}),
      ...(recorded.sessionId ? { sessionId: this.storedSessionId(recorded.sessionId) } : {}),
      ...(recorded.address ? { address: this.storedAddress(recorded.address, at) } : {}),
    };
    this.events.push(event);
    const day = startOfDay(at);
    this.addToDay(event, {
      searches: 1,
      zeroResults: recorded.resultCount === 0 ? 1 : 0,
      latencyMsSum: event.latencyMs,
    });
    const counted: Record<string, number> = {
      'totals.searches': 1,
      'totals.zeroResults': recorded.resultCount === 0 ? 1 : 0,
    };
    for (let position = 0; position < Math.min(recorded.resultCount, COUNTED_POSITIONS); position++)
      counted[`shown.${position}`] = 1;
    this.addToPositions(day, counted);
    return event._id.toHexString();
  }

  /** Queues counted clicks that name a search; they are attributed at the next flush. */
  attributeClicks(clicks: readonly SearchClick[]): void {
    for (const click of clicks) this.clicks.push({ ...click, lookups: 0 });
  }

  /** Starts writing every `flushIntervalMs`. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is waiting. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes what is waiting; flushes run one after the other. Never throws (failures are logged). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const events = this.events;
    this.events = [];
    try {
      await this.repository.insertEvents(events);
    } catch (err) {
      // Kept for the next flush (the insert skips the ones that were stored).
      this.events = [...events, ...this.events];
      this.logger.warn({ err, searches: events.length }, 'search events: not stored; retrying with the next flush');
      return;
    }
    await this.attributeWaitingClicks();
    const days = [...this.days.values()];
    const positions = [...this.positions.values()];
    this.days = new Map();
    this.positions = new Map();
    // The rows first, and the day counters (in the positions documents) only once the rows are
    // written: counters that moved promise rows that moved at least as far, which is how a day's
    // lists know they are current (dayLists.isCurrent).
    try {
      await this.repository.incrementDays(days);
    } catch (err) {
      this.keepForNextFlush(err, days, this.days, 'search rollups');
      // Rows that will be written again hold the counters back too; rows that may have landed do not.
      if (!(err instanceof BulkWriteOutcomeUnknownError)) {
        for (const increment of positions) merge(this.positions, increment);
        return;
      }
    }
    try {
      await this.repository.incrementPositions(positions);
    } catch (err) {
      this.keepForNextFlush(err, positions, this.positions, 'search positions');
    }
  }

  /** After a failed write: its increments wait for the next flush, unless some may have landed. */
  private keepForNextFlush<T extends { _id: string }>(
    err: unknown,
    increments: ReadonlyArray<CounterIncrement<T>>,
    pending: Map<string, CounterIncrement<T>>,
    what: string,
  ): void {
    if (err instanceof BulkWriteOutcomeUnknownError) {
      // Some increments may have landed: repeating them could count twice, so they are dropped.
      this.logger.warn({ err }, `${what}: a write failed as a whole; its increments are dropped`);
      return;
    }
    this.logger.warn({ err }, `${what}: not written; retrying with the next flush`);
    for (const increment of increments) merge(pending, increment);
  }

  /**
   * Turns the waiting clicks into rollup increments; a click whose search is not found yet waits.
   * Every clicked search is read (one query) for its session and whether an earlier click already
   * counted it as clicked; the first click marks it (one update) before its day counts it.
   */
  private async attributeWaitingClicks(): Promise<void> {
    const clicks = this.clicks;
    this.clicks = [];
    if (clicks.length === 0) return;
    const ids = [...new Map(clicks.map((click) => [click.searchId.toHexString(), click.searchId])).values()];
    const searches = new Map<string, SearchOfClick>();
    const firstClicked = new Map<string, Types.ObjectId>();
    try {
      for (const search of await this.repository.findSearches(ids)) searches.set(search._id.toHexString(), search);
      for (const click of clicks) {
        const search = searches.get(click.searchId.toHexString());
        if (search && !search.clicked && isOwnClick(search, click))
          firstClicked.set(search._id.toHexString(), search._id);
      }
      // Marked first: a failed increment loses one count, a failed mark would count it again.
      await this.repository.markClicked([...firstClicked.values()]);
    } catch (err) {
      this.clicks = [...clicks, ...this.clicks];
      this.logger.warn({ err }, 'search clicks: searches not read or marked; retrying with the next flush');
      return;
    }
    for (const click of clicks) {
      const search = searches.get(click.searchId.toHexString());
      if (!search) {
        // Recorded by another instance that has not written it yet, or no search at all.
        if (click.lookups + 1 < CLICK_LOOKUPS) this.clicks.push({ ...click, lookups: click.lookups + 1 });
        continue;
      }
      if (!isOwnClick(search, click)) continue;
      const first = firstClicked.delete(search._id.toHexString());
      const position = click.position === undefined ? undefined : Math.min(click.position, COUNTED_POSITIONS);
      this.addToDay(search, {
        clicks: 1,
        ...(first ? { clickedSearches: 1 } : {}),
        ...(position === undefined ? {} : { [`clicksAt.${position}`]: 1 }),
        [`clickedItems.${click.itemId.toHexString()}`]: 1,
      });
      this.addToPositions(startOfDay(search.at), {
        'totals.clicks': 1,
        ...(position === undefined ? {} : { [`clicks.${position}`]: 1 }),
      });
    }
  }

  private addToDay(search: SearchOfClick, inc: Record<string, number>): void {
    const day = startOfDay(search.at);
    const created = emptySearchDay(day, search.query, search.filterKey);
    merge(this.days, { _id: created._id, created, inc });
  }

  private addToPositions(day: Date, inc: Record<string, number>): void {
    if (Object.keys(inc).length === 0) return;
    const _id = day.toISOString().slice(0, 10);
    merge(this.positions, {
      _id,
      created: { _id, day, shown: {}, clicks: {}, totals: { searches: 0, zeroResults: 0, clicks: 0 } },
      inc,
    });
  }
}
