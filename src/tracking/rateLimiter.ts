import { Redis as IORedis, type Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';

/** Length of a rate-limit window: limits are "per minute". */
const WINDOW_MS = 60_000;
/**
 * How long a window's counter is kept (real time). Longer than the window, so that a counter is
 * never dropped while its minute is current, even when the injected clock and the store's drift.
 */
const COUNTER_TTL_SECONDS = 2 * (WINDOW_MS / 1000);

/** What {@link RateLimiter.take} allowed. */
export interface RateDecision {
  /** How many of the requested points were allowed: always the first ones. */
  readonly allowed: number;
  /** Milliseconds until the current window ends and the key's budget is full again. */
  readonly retryAfterMs: number;
}

/**
 * A fixed-window limit of `perMinute` points per key per UTC minute of the injected clock, on
 * `rate-limiter-flexible`: shared by every instance through Redis when one is given, in process
 * otherwise. The window comes from the injected clock (it is part of the key), so tests control
 * time without sleeping and every instance agrees on the window whatever its own clock says.
 */
export class RateLimiter {
  private readonly limiter: RateLimiterAbstract;

  /**
   * @param name - key prefix, one per limit (e.g. `track-ip`): limits never share counters
   * @param perMinute - points per key per minute
   * @param redis - a client with `enableOfflineQueue: false`; without it the limit is per instance
   */
  constructor(
    name: string,
    private readonly perMinute: number,
    private readonly clock: Clock,
    redis?: Redis,
  ) {
    const options = { keyPrefix: `gavel:rl:${name}`, points: perMinute, duration: COUNTER_TTL_SECONDS };
    this.limiter = redis
      ? new RateLimiterRedis({
          ...options,
          storeClient: redis,
          // While Redis is unreachable each instance limits on its own instead of failing requests
          // or letting everything through; exactness returns with Redis.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(options),
        })
      : new RateLimiterMemory(options);
  }

  /**
   * Spends `count` points of `key` (one round trip to Redis when shared). When fewer are left, the
   * first ones are allowed and the rest refused; refused points still count, so a client that
   * keeps pushing stays refused for the rest of the minute.
   */
  async take(key: string, count = 1): Promise<RateDecision> {
    const now = this.clock.now().getTime();
    const window = Math.floor(now / WINDOW_MS);
    const retryAfterMs = (window + 1) * WINDOW_MS - now;
    let consumed: number;
    try {
      consumed = (await this.limiter.consume(`${key}:${window}`, count)).consumedPoints;
    } catch (rejection) {
      // A RateLimiterRes is "over the limit"; anything else (no insurance) is a real failure.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      consumed = rejection.consumedPoints;
    }
    const before = consumed - count;
    const allowed = Math.max(0, Math.min(count, this.perMinute - before));
    return { allowed, retryAfterMs };
  }

  /**
   * What `key` has left this minute, without spending anything (one round trip to Redis when
   * shared): a cheap look before a batch is processed at all.
   */
  async peek(key: string): Promise<RateDecision> {
    const now = this.clock.now().getTime();
    const window = Math.floor(now / WINDOW_MS);
    const retryAfterMs = (window + 1) * WINDOW_MS - now;
    const state = await this.limiter.get(`${key}:${window}`);
    return { allowed: Math.max(0, this.perMinute - (state?.consumedPoints ?? 0)), retryAfterMs };
  }
}

/** Longest startup waits for Redis before limiting in process (the insurance) until it connects. */
const REDIS_READY_WAIT_MS = 3_000;

/**
 * The Redis connection of the shared rate limits. Commands fail at once while disconnected (no
 * offline queue), which sends them to the in-memory insurance limiter instead of stalling
 * tracking; ioredis reconnects with backoff. Resolves once connected, or after a short wait.
 */
export async function connectRateLimitRedis(url: string, logger: Logger): Promise<Redis> {
  const client = new IORedis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 5_000),
  });
  let lastWarning = 0;
  client.on('error', (error: Error) => {
    // Throttled: a down Redis would otherwise log on every retry.
    if (Date.now() - lastWarning > 10_000) {
      lastWarning = Date.now();
      logger.warn({ err: error }, 'Redis unavailable: rate limits are per instance until it is back');
    }
  });
  if (client.status !== 'ready') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REDIS_READY_WAIT_MS);
      timer.unref();
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return client;
}
