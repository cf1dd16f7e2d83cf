import { LatestValues } from './latestValues';

/** How a service's live reads (its subscriptions, through {@link pollChanges}) run. */
export interface LiveReads {
  /** How often an open subscription reads again: no more often than what it reads changes. */
  readonly intervalMs: number;
  /** Logs a read that failed (tried again next interval). */
  readonly onError: (error: unknown) => void;
}

/**
 * A stream of `read()`'s answers: the first at once, then one each `intervalMs` whose answer
 * differs from the last one sent (compared as JSON). For figures nothing announces on the event
 * bus, such as search analytics. A read that fails is logged by `onError` and tried again next
 * interval; a slow consumer holds at most the latest answer. Ends when the consumer returns (a
 * client unsubscribing or leaving), clearing its timer at once.
 */
export function pollChanges<T>(
  read: () => Promise<T>,
  intervalMs: number,
  onError: (error: unknown) => void,
): AsyncIterableIterator<T> {
  let timer: NodeJS.Timeout | undefined;
  let lastSent: string | undefined;
  const stream = new LatestValues<'latest', T>(() => clearTimeout(timer));
  const poll = async (): Promise<void> => {
    try {
      const value = await read();
      const signature = JSON.stringify(value);
      if (signature !== lastSent) {
        lastSent = signature;
        stream.put('latest', value);
      }
    } catch (error) {
      onError(error);
    }
    if (!stream.closed) timer = setTimeout(() => void poll(), intervalMs);
  };
  void poll();
  return stream;
}
