import type { AnalyticsOverview } from '../analytics/analytics.types';
import { LatestValues } from './latestValues';
import type { EffectiveTimeRange } from '../analytics/timeRange';
import type { Clock } from '../shared/clock';
import { badUserInput } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { EventBus } from './eventBus';
import type { ItemAnalyticsUpdate } from './live.types';

/** Bus channel on which tracking announces the items whose counters changed. */
export const COUNTERS_CHANGED_CHANNEL = 'gavel:counters-changed';

/** Message on {@link COUNTERS_CHANGED_CHANNEL}. */
export interface CountersChanged {
  readonly itemIds: readonly string[];
}

/** Counters of one item over a range. */
export interface ItemCounters {
  readonly impressions: number;
  readonly clicks: number;
}

/** Where live figures come from (the analytics rollups); one batched read per call. */
export interface LiveFiguresSource {
  /** Counters of these items over the range; items without events may be absent (zero). */
  itemCounters(itemIds: readonly string[], range: EffectiveTimeRange): Promise<Map<string, ItemCounters>>;
  /** Marketplace totals over the range. */
  overview(range: EffectiveTimeRange): Promise<AnalyticsOverview>;
}

interface OverviewSubscription {
  readonly resolveRange: RangeResolver;
  range: EffectiveTimeRange;
  lastQueued?: string;
  /** Only the latest overview waits for a slow consumer. */
  readonly stream: LatestValues<'overview', AnalyticsOverview>;
}

/** Tunables of {@link LiveService}. */
export interface LiveOptions {
  /** Coalescing interval: an item's figures are computed and pushed at most once per interval. */
  readonly intervalMs: number;
  readonly maxItemsPerSubscription: number;
}

/** Resolves a subscription's range now (relative ranges move with time). */
export type RangeResolver = (now: Date) => EffectiveTimeRange;

interface ItemSubscription {
  readonly itemIds: readonly string[];
  readonly resolveRange: RangeResolver;
  range: EffectiveTimeRange;
  /** Figures last queued per item, to push only changes. */
  readonly lastQueued: Map<string, string>;
  /** Latest unsent update per item: a slow consumer holds at most one per item, never a backlog. */
  readonly stream: LatestValues<string, ItemAnalyticsUpdate>;
}

/**
 * The slot of an event of this service's streams for the multiplexer: one per item of an item
 * subscription (a newer update of the item replaces an undelivered one), one for an overview.
 */
export function liveEventSlot(event: unknown): string {
  const itemId = (event as Partial<ItemAnalyticsUpdate> | null)?.itemId;
  return typeof itemId === 'string' ? `item:${itemId}` : 'overview';
}

const rangeKey = (range: EffectiveTimeRange) => `${range.from.getTime()}-${range.to.getTime()}`;

/**
 * Live item figures over graphql-ws. Tracking (on any instance) announces changed items on the
 * event bus; each interval, the figures of the changed items that someone watches are read once
 * per distinct range — however many streams watch them — and fanned out to the streams whose
 * figures changed (the multiplexing Hasura uses for live queries). A stream here is one distinct
 * subscription (src/live/multiplexer.ts shares it between identical subscribers), so the
 * per-connection limit is the multiplexer's, not this service's.
 */
export class LiveService {
  private readonly subscriptions = new Set<ItemSubscription>();
  private readonly overviews = new Set<OverviewSubscription>();
  private anyChange = false;
  private readonly watchers = new Map<string, Set<ItemSubscription>>();
  private dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private unsubscribeBus?: () => void;

  constructor(
    private readonly bus: EventBus,
    private readonly source: LiveFiguresSource,
    private readonly clock: Clock,
    private readonly options: LiveOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts listening to the bus and the coalescing timer. */
  start(): void {
    this.unsubscribeBus = this.bus.subscribe(COUNTERS_CHANGED_CHANNEL, (message) => this.onCountersChanged(message));
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and the bus listener, and ends every subscription. */
  stop(): void {
    clearInterval(this.timer);
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
    for (const subscription of [...this.subscriptions, ...this.overviews]) subscription.stream.close();
  }

  /** Announces changed counters to every instance (called by tracking after a write). */
  publishCountersChanged(itemIds: readonly string[]): void {
    if (itemIds.length > 0) this.bus.publish(COUNTERS_CHANGED_CHANNEL, { itemIds } satisfies CountersChanged);
  }

  /**
   * Streams open (item and overview), for tests and metrics: nothing may remain after all clients
   * leave. Identical subscribers share one stream (see src/live/multiplexer.ts).
   */
  stats(): { subscriptions: number; watchedItems: number } {
    return {
      subscriptions: this.subscriptions.size + this.overviews.size,
      watchedItems: this.watchers.size,
    };
  }

  /**
   * The distinct ids of an item subscription. Throws `BAD_USER_INPUT` for an empty or oversized
   * list (the connection itself stays open).
   */
  checkItems(itemIds: readonly string[]): string[] {
    const unique = [...new Set(itemIds)];
    if (unique.length === 0) throw badUserInput('itemIds', 'itemIds must name at least one item.');
    if (unique.length > this.options.maxItemsPerSubscription) {
      throw badUserInput(
        'itemIds',
        `itemIds may name at most ${this.options.maxItemsPerSubscription} items per subscription.`,
      );
    }
    return unique;
  }

  /**
   * Subscribes to the figures of `itemIds`. The first message carries the current figures of
   * every item; later ones come only for items whose figures changed, at most once per interval.
   * Throws as {@link checkItems}.
   */
  watchItems(itemIds: readonly string[], resolveRange: RangeResolver): AsyncIterableIterator<ItemAnalyticsUpdate> {
    const unique = this.checkItems(itemIds);
    const subscription: ItemSubscription = {
      itemIds: unique,
      resolveRange,
      range: resolveRange(this.clock.now()),
      lastQueued: new Map(),
      stream: new LatestValues(() => this.release(subscription)),
    };
    this.subscriptions.add(subscription);
    for (const itemId of unique) {
      const set = this.watchers.get(itemId) ?? new Set();
      set.add(subscription);
      this.watchers.set(itemId, set);
    }
    this.refresh([subscription], unique, true).catch((error: unknown) => {
      // The next round retries: items never queued count as changed there.
      this.logger.warn({ err: error }, 'initial live figures failed; retrying next interval');
    });
    return subscription.stream;
  }

  /**
   * Subscribes to the marketplace overview: sent at once, then after counters change (at most
   * once per interval), computed once per distinct range for all its subscribers.
   */
  watchOverview(resolveRange: RangeResolver): AsyncIterableIterator<AnalyticsOverview> {
    const subscription: OverviewSubscription = {
      resolveRange,
      range: resolveRange(this.clock.now()),
      stream: new LatestValues(() => this.overviews.delete(subscription)),
    };
    this.overviews.add(subscription);
    this.refreshOverviews([subscription], true).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'initial live overview failed; retrying next interval');
    });
    return subscription.stream;
  }

  private async refreshOverviews(subscriptions: readonly OverviewSubscription[], initial: boolean): Promise<void> {
    const byRange = new Map<string, OverviewSubscription[]>();
    for (const subscription of subscriptions)
      byRange.set(rangeKey(subscription.range), [...(byRange.get(rangeKey(subscription.range)) ?? []), subscription]);
    for (const group of byRange.values()) {
      const overview = await this.source.overview(group[0]!.range);
      const signature = JSON.stringify(overview);
      for (const subscription of group) {
        if (subscription.stream.closed || (!initial && subscription.lastQueued === signature)) continue;
        subscription.lastQueued = signature;
        subscription.stream.put('overview', overview);
      }
    }
  }

  /** What an item subscription's stream does as it ends. */
  private release(subscription: ItemSubscription): void {
    this.subscriptions.delete(subscription);
    for (const itemId of subscription.itemIds) {
      const set = this.watchers.get(itemId);
      set?.delete(subscription);
      if (set?.size === 0) this.watchers.delete(itemId);
    }
  }

  private onCountersChanged(message: unknown): void {
    const itemIds = (message as Partial<CountersChanged> | null)?.itemIds;
    if (!Array.isArray(itemIds)) return;
    this.anyChange = true;
    for (const itemId of itemIds) {
      if (typeof itemId === 'string' && this.watchers.has(itemId)) this.dirty.add(itemId);
    }
  }

  /** One coalescing round: recompute what changed, once per (item, range), and fan out. */
  private async tick(): Promise<void> {
    if (this.ticking) return; // A slow round delays the next; rounds never pile up.
    this.ticking = true;
    try {
      const now = this.clock.now();
      const dirty = this.dirty;
      this.dirty = new Set();
      const work: ItemSubscription[] = [];
      for (const subscription of this.subscriptions) {
        const range = subscription.resolveRange(now);
        // A rolling range that moved to a new hour changes every figure, events or not.
        const moved = rangeKey(range) !== rangeKey(subscription.range);
        subscription.range = range;
        const unsent = subscription.lastQueued.size < subscription.itemIds.length;
        if (moved || unsent || subscription.itemIds.some((itemId) => dirty.has(itemId))) work.push(subscription);
      }
      if (work.length > 0) await this.refresh(work, [...dirty], false);
      const changed = this.anyChange;
      this.anyChange = false;
      const overviews = [...this.overviews].filter((subscription) => {
        const range = subscription.resolveRange(now);
        const moved = rangeKey(range) !== rangeKey(subscription.range);
        subscription.range = range;
        return changed || moved || subscription.lastQueued === undefined;
      });
      if (overviews.length > 0) await this.refreshOverviews(overviews, false);
    } catch (error) {
      this.logger.warn({ err: error }, 'live figures round failed; retrying next interval');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Reads the figures the given subscriptions need — one read per distinct range — and queues
   * changed figures (or all of them, for a subscription's first message).
   */
  private async refresh(
    subscriptions: readonly ItemSubscription[],
    changedItems: readonly string[],
    initial: boolean,
  ): Promise<void> {
    const changed = new Set(changedItems);
    const byRange = new Map<
      string,
      { range: EffectiveTimeRange; itemIds: Set<string>; subscriptions: ItemSubscription[] }
    >();
    for (const subscription of subscriptions) {
      const key = rangeKey(subscription.range);
      const group = byRange.get(key) ?? { range: subscription.range, itemIds: new Set<string>(), subscriptions: [] };
      group.subscriptions.push(subscription);
      for (const itemId of subscription.itemIds) {
        if (initial || changed.has(itemId) || !subscription.lastQueued.has(itemId)) group.itemIds.add(itemId);
      }
      byRange.set(key, group);
    }
    const at = this.clock.now();
    for (const group of byRange.values()) {
      const ids = [...group.itemIds];
      const counters =
        ids.length > 0 ? await this.source.itemCounters(ids, group.range) : new Map<string, ItemCounters>();
      for (const subscription of group.subscriptions) {
        if (subscription.stream.closed) continue;
        for (const itemId of subscription.itemIds) {
          if (!group.itemIds.has(itemId)) continue;
          const { impressions, clicks } = counters.get(itemId) ?? { impressions: 0, clicks: 0 };
          const signature = `${rangeKey(group.range)}:${impressions}:${clicks}`;
          // Also on a first message: a round that ran while it was being read may have sent these
          // very figures already (a subscriber would see them twice).
          if (subscription.lastQueued.get(itemId) === signature) continue;
          subscription.lastQueued.set(itemId, signature);
          subscription.stream.put(itemId, {
            itemId,
            impressions,
            clicks,
            ctr: impressions > 0 ? clicks / impressions : 0,
            at,
          });
        }
      }
    }
  }
}
