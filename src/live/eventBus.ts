import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../shared/logger';

/** A message handler of {@link EventBus}. */
export type BusHandler = (message: unknown) => void;

/**
 * Publish/subscribe between Gavel instances: tracking on instance A tells live subscribers on
 * instance B that counters changed. Delivery is best effort: a lost message only delays a live
 * update until the next change, and never affects what is stored or counted.
 */
export interface EventBus {
  /** `in-process` or `redis`, for the startup log. */
  readonly kind: 'in-process' | 'redis';
  /** Sends a JSON-serializable message to every subscriber of the channel on every instance. */
  publish(channel: string, message: unknown): void;
  /** Receives the channel's messages until the returned function is called. */
  subscribe(channel: string, handler: BusHandler): () => void;
  /** Whether messages flow right now (always for in-process; Redis: both connections ready), for `/readyz`. */
  connected(): boolean;
  /** Releases connections. */
  close(): Promise<void>;
}

/** The single-instance bus: an EventEmitter. */
export function createInProcessBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    kind: 'in-process',
    connected: () => true,
    publish: (channel, message) => {
      // Asynchronous like Redis, so publishers never run subscriber code inline.
      queueMicrotask(() => emitter.emit(channel, message));
    },
    subscribe: (channel, handler) => {
      emitter.on(channel, handler);
      return () => emitter.off(channel, handler);
    },
    close: async () => {
      emitter.removeAllListeners();
    },
  };
}

/** Longest pause between reconnection attempts to Redis. */
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * The multi-instance bus over Redis pub/sub (one connection publishes, one subscribes). Losing
 * Redis is logged and retried with backoff by ioredis; while it is down, publishes are dropped
 * (not queued: the next change produces a fresh message anyway) and nothing else fails.
 */
export function createRedisBus(url: string, logger: Logger): EventBus {
  const options = {
    lazyConnect: false,
    // Fail publishes at once while disconnected instead of queueing them without bound.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
  };
  const publisher = new Redis(url, options);
  // The subscriber queues its SUBSCRIBE commands until connected, and re-subscribes after a reconnect.
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const log = logger.child({ component: 'event-bus' });
  let lastErrorLog = 0;
  const onError = (role: string) => (error: Error) => {
    // Throttled: a down Redis would otherwise log on every retry.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now();
      log.warn({ err: error, role }, 'Redis unavailable: live updates across instances are degraded; retrying');
    }
  };
  publisher.on('error', onError('publisher'));
  subscriber.on('error', onError('subscriber'));
  subscriber.on('ready', () => log.info('Redis event bus connected'));
  subscriber.on('message', (channel: string, raw: string) => {
    try {
      local.emit(channel, JSON.parse(raw));
    } catch (error) {
      log.warn({ err: error, channel }, 'ignored a malformed event bus message');
    }
  });
  const counts = new Map<string, number>();

  return {
    kind: 'redis',
    connected: () => publisher.status === 'ready' && subscriber.status === 'ready',
    publish: (channel, message) => {
      publisher.publish(channel, JSON.stringify(message)).catch(onError('publisher'));
    },
    subscribe: (channel, handler) => {
      local.on(channel, handler);
      const count = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, count);
      if (count === 1) subscriber.subscribe(channel).catch(onError('subscriber'));
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        local.off(channel, handler);
        const remaining = (counts.get(channel) ?? 1) - 1;
        if (remaining === 0) {
          counts.delete(channel);
          subscriber.unsubscribe(channel).catch(onError('subscriber'));
        } else {
          counts.set(channel, remaining);
        }
      };
    },
    close: async () => {
      local.removeAllListeners();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
