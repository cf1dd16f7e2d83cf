import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RateLimiter } from './rateLimiter';
import type { AuditAggregate } from './tracking.repository';
import type { EventType, TrackingOutcome } from './trackingEvent.model';
import { BulkWriteOutcomeUnknownError } from '../db/bulkWrites';

const MINUTE_MS = 60_000;
/** Aggregates waiting at most; beyond, the oldest are written at once (memory stays bounded). */
const MAX_PENDING = 10_000;

/**
 * Keeps refused events auditable without a flood becoming a write flood: per client address and
 * minute the first `TRACKING_AUDIT_ROWS_PER_MINUTE` refused events are stored row by row (shared
 * through Redis like the rate limits); the rest only add to one counter per (address, minute,
 * type, outcome), written as one upsert each per flush (`tracking_audit_aggregates`).
 */
export class AuditAggregator {
  private pending = new Map<string, AuditAggregate>();
  private aggregatedTotal = 0;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly rowBudget: RateLimiter | undefined,
    private readonly store: (rows: readonly AuditAggregate[]) => Promise<void>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Refused events aggregated instead of stored (since start): the metric of the sampling. */
  get aggregatedEvents(): number {
    return this.aggregatedTotal;
  }

  /**
   * How many of `refused` (events refused for one address in one request) to store as rows; the
   * rest are counted here by outcome. `refused` is in input order: the first ones are kept.
   *
   * @param ip - the stored (pseudonymised) address, which the aggregates are counted under
   * @param budgetKey - what the row budget is counted under: the (pseudonymised) limit key of the
   *   address, an IPv6 client's /64 say; the address itself by default
   */
  async sample(ip: string, type: EventType, refused: readonly TrackingOutcome[], budgetKey = ip): Promise<number> {
    if (refused.length === 0) return 0;
    const keep = this.rowBudget ? (await this.rowBudget.take(budgetKey, refused.length)).allowed : 0;
    const minute = new Date(Math.floor(this.clock.now().getTime() / MINUTE_MS) * MINUTE_MS);
    for (const outcome of refused.slice(keep)) this.add(ip, minute, type, outcome, 1);
    this.aggregatedTotal += Math.max(0, refused.length - keep);
    return keep;
  }

  /**
   * Adds `count` refused events of a batch refused as a whole (over its budget before any of its
   * events was looked at) to the aggregates, without rows: they count as aggregated.
   */
  aggregate(ip: string, type: EventType, outcome: TrackingOutcome, count: number): void {
    if (count <= 0) return;
    this.count(ip, type, outcome, count);
    this.aggregatedTotal += count;
  }

  /** Adds `count` events of one outcome to the aggregates without storing any row (duplicates). */
  count(ip: string, type: EventType, outcome: TrackingOutcome, count: number): void {
    if (count <= 0) return;
    this.add(ip, new Date(Math.floor(this.clock.now().getTime() / MINUTE_MS) * MINUTE_MS), type, outcome, count);
  }

  private add(ip: string, minute: Date, type: EventType, outcome: TrackingOutcome, count: number): void {
    const key = `${ip}|${minute.getTime()}|${type}|${outcome}`;
    const entry = this.pending.get(key) ?? { ip, minute, type, outcome, count: 0 };
    entry.count += count;
    this.pending.set(key, entry);
    if (this.pending.size > MAX_PENDING) void this.flush();
  }

  /** Writes the counters gathered so far (one upsert per key); errors are logged, counts kept. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const rows = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.store(rows);
      } catch (error) {
        if (error instanceof BulkWriteOutcomeUnknownError) {
          // Part of them may be stored: sending them again could count those twice. Dropped, and
          // said: these are counts of refused events, and the loss is bounded by one flush.
          this.logger.warn(
            { err: error, rows: rows.length, events: rows.reduce((sum, row) => sum + row.count, 0) },
            'aggregated audit counts may be partly stored after a conflict; not repeated',
          );
          return;
        }
        // Nothing stored: put them back, the next flush tries again.
        for (const row of rows) {
          const key = `${row.ip}|${row.minute.getTime()}|${row.type}|${row.outcome}`;
          const entry = this.pending.get(key);
          if (entry) entry.count += row.count;
          else this.pending.set(key, row);
        }
        this.logger.warn({ err: error }, 'could not store aggregated audit counts; retrying on the next flush');
      }
    });
    return this.flushing;
  }
}
