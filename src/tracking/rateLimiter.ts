import { LRUCache } from 'lru-cache';
import type { Clock } from '../shared/clock';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets keyed by session or client address: `perMinute` tokens refill evenly over a
 * minute and a burst of up to `perMinute` may be spent at once. Buckets live in an LRU of bounded
 * size, so a flood of distinct keys cannot grow memory (an evicted key simply starts full again).
 * Limits are per instance; behind N instances a client gets up to N times the limit.
 */
export class TokenBucketLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    maxKeys = 100_000,
  ) {
    this.buckets = new LRUCache({ max: maxKeys });
  }

  /** Spends one token of `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.clock.now().getTime();
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, updatedAt: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + ((now - bucket.updatedAt) * this.perMinute) / 60_000);
    bucket.updatedAt = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return allowed;
  }
}
