/**
 * What one subscription has not delivered yet, as the async iterator graphql-ws reads: the newest
 * value per key (a slow consumer holds at most one per key, never a backlog), delivered in the
 * order the keys were first put. Ends when the consumer returns (a client unsubscribing or
 * leaving) or {@link LatestValues.close} is called; `onEnd` runs once either way.
 */
export class LatestValues<K, T> implements AsyncIterableIterator<T> {
  private readonly waiting = new Map<K, T>();
  private wake?: () => void;
  private ended = false;

  constructor(private readonly onEnd: () => void = () => undefined) {}

  /** Whether the stream has ended: nothing put is delivered any more. */
  get closed(): boolean {
    return this.ended;
  }

  /** Makes `value` the one delivered next for `key`, replacing an undelivered one; ignored once closed. */
  put(key: K, value: T): void {
    if (this.ended) return;
    this.waiting.set(key, value);
    this.wake?.();
  }

  /** Ends the stream: a waiting `next()` resolves done, undelivered values are dropped. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting.clear();
    this.onEnd();
    this.wake?.();
  }

  async next(): Promise<IteratorResult<T>> {
    while (!this.ended) {
      const first = this.waiting.entries().next();
      if (!first.done) {
        const [key, value] = first.value;
        this.waiting.delete(key);
        return { value, done: false };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  async throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
