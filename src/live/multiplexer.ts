import {
  createSourceEventStream,
  execute,
  GraphQLError,
  print,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { badUserInput } from '../shared/errors';
import type { Logger } from '../shared/logger';

/**
 * Subscriptions computed once per distinct document (Hasura's multiplexing, one level above the
 * figures LiveService already reads once per range): subscribers that send the same document with
 * the same variables and see the same data (role and seller) share one event stream and one
 * execution of its selection set per event — nested resolvers, their database reads and the
 * result objects. Everything about a subscriber stays its own: the policy (onSubscribe), the
 * subscribe resolver's checks (run for every subscriber, see {@link openOnIterate}), the
 * per-connection limit, what it has not received yet, and its end.
 */

/**
 * The stream a subscribe resolver returns: opened when iterated, not when returned. A resolver
 * checks its caller and arguments first and returns this; the multiplexer runs every subscriber's
 * resolver (so every check) but iterates the stream of the first subscriber of a distinct
 * subscription only. graphql-js's own `subscribe` iterates at once, so nothing changes without
 * the multiplexer.
 */
export function openOnIterate<T>(open: () => AsyncIterator<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: open };
}

/** What {@link SubscriptionMultiplexer} needs to know about the context of a subscriber. */
export interface MultiplexerOptions<TContext> {
  /** `LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION`: subscriptions one websocket may hold. */
  readonly maxSubscriptionsPerConnection: number;
  /** What the subscriber may see (its role and seller): only subscribers with equal values share. */
  visibility(context: TContext): string;
  /** The websocket of the subscriber (undefined over HTTP, where subscriptions are refused). */
  connectionOf(context: TContext): string | undefined;
  /**
   * The context of one execution of a shared event: the first subscriber's, with fresh
   * per-request state (DataLoaders cache for one execution, never across events).
   */
  eventContext(first: TContext): TContext;
  /**
   * Checked before each delivery: false ends this subscriber only (its key was revoked, say; the
   * callback tells the client). Concurrent calls for the same key should share one lookup.
   */
  mayReceive?(context: TContext): Promise<boolean>;
  /**
   * The slot of a source event: an undelivered result waiting for a slow subscriber is replaced
   * by a newer one of the same slot (one per item of an item subscription, one for an overview),
   * so a slow consumer holds a bounded set of results and never blocks the others.
   */
  slotOf(event: unknown): string;
  /** Called once per shared execution (metrics). */
  onExecuted?(): void;
  readonly logger: Logger;
}

/** One distinct subscription: its stream, its subscribers and the latest result per slot. */
interface Shared<TContext> {
  readonly key: string;
  readonly args: ExecutionArgs;
  readonly first: TContext;
  readonly iterator: AsyncIterator<unknown>;
  readonly subscribers: Set<Subscriber<TContext>>;
  /** The latest result per slot: what a subscriber that joins later receives first. */
  readonly latest: Map<string, ExecutionResult>;
  closed: boolean;
  ended: boolean;
  failure?: unknown;
}

interface Subscriber<TContext> {
  readonly context: TContext;
  readonly connection: string;
  readonly shared: Shared<TContext>;
  /** Results not delivered yet, one per slot. */
  readonly pending: Map<string, ExecutionResult>;
  readonly onEnd: () => void;
  wake?: () => void;
  closed: boolean;
}

/** Stable JSON: object keys sorted, so `{a, b}` and `{b, a}` variables are one subscription. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    return `{${Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const done = (): IteratorResult<ExecutionResult> => ({ value: undefined, done: true });

/**
 * Runs subscriptions for graphql-ws's `subscribe` option. Per subscriber: the per-connection
 * limit, then graphql-js's `createSourceEventStream` with the subscriber's own context (argument
 * coercion, `@Authorized`, the resolver's checks). A subscriber whose key (normalized document,
 * operation name, canonical variables, visibility) is already running attaches to it and receives
 * its latest results at once; otherwise its stream is opened and executed once per event for all
 * who attach. The stream is closed when its last subscriber leaves.
 */
export class SubscriptionMultiplexer<TContext> {
  private readonly shared = new Map<string, Shared<TContext>>();
  private readonly perConnection = new Map<string, number>();

  constructor(private readonly options: MultiplexerOptions<TContext>) {}

  /** Distinct subscriptions running, subscribers attached, and connections holding any. */
  stats(): { streams: number; subscribers: number; connections: number } {
    let subscribers = 0;
    for (const count of this.perConnection.values()) subscribers += count;
    return { streams: this.shared.size, subscribers, connections: this.perConnection.size };
  }

  /**
   * graphql-ws's `subscribe`: a result stream for this subscriber, or a result with the errors
   * that refused it. Never throws (graphql-ws would close the whole socket).
   *
   * @param onEnd - called once when this subscriber ends, refused or not (releases what onSubscribe reserved)
   */
  async subscribe(
    args: ExecutionArgs,
    onEnd: () => void = () => undefined,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as TContext;
    const connection = this.options.connectionOf(context);
    if (connection === undefined) {
      onEnd();
      return {
        errors: [badUserInput('subscription', 'Subscriptions are served over websockets (graphql-ws) at /graphql.')],
      };
    }
    const held = this.perConnection.get(connection) ?? 0;
    if (held >= this.options.maxSubscriptionsPerConnection) {
      onEnd();
      return {
        errors: [
          badUserInput(
            'subscription',
            `A connection may hold at most ${this.options.maxSubscriptionsPerConnection} subscriptions; end one first.`,
          ),
        ],
      };
    }
    // Taken before the resolver's checks, which may wait on the database: a burst of subscribe
    // messages cannot all pass the limit while waiting.
    this.perConnection.set(connection, held + 1);
    let source: AsyncIterable<unknown> | ExecutionResult;
    try {
      source = await createSourceEventStream(args);
    } catch (error) {
      source = {
        errors: [
          error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error as Error }),
        ],
      };
    }
    if (!(Symbol.asyncIterator in source)) {
      this.freeSlot(connection);
      onEnd();
      return source;
    }
    const key = [
      this.options.visibility(context),
      args.operationName ?? '',
      canonicalJson(args.variableValues ?? {}),
      print(args.document),
    ].join('\n');
    let shared = this.shared.get(key);
    if (shared) {
      // Its checks passed; the stream itself is not needed. A resolver that returned an open
      // iterator (not openOnIterate) is closed here.
      const iterator = source as Partial<AsyncIterator<unknown>>;
      if (typeof iterator.return === 'function') void Promise.resolve(iterator.return()).catch(() => undefined);
    } else {
      let iterator: AsyncIterator<unknown>;
      try {
        iterator = source[Symbol.asyncIterator]();
      } catch (error) {
        this.freeSlot(connection);
        onEnd();
        return {
          errors: [
            error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error as Error }),
          ],
        };
      }
      shared = {
        key,
        args,
        first: context,
        iterator,
        subscribers: new Set(),
        latest: new Map(),
        closed: false,
        ended: false,
      };
      this.shared.set(key, shared);
      void this.pump(shared);
    }
    const subscriber: Subscriber<TContext> = {
      context,
      connection,
      shared,
      pending: new Map(shared.latest),
      onEnd,
      closed: false,
    };
    shared.subscribers.add(subscriber);
    return this.iterate(subscriber);
  }

  /** Pulls the stream and executes each event once for every subscriber of `shared`. */
  private async pump(shared: Shared<TContext>): Promise<void> {
    try {
      for (;;) {
        const step = await shared.iterator.next();
        if (step.done || shared.closed) break;
        const result = await execute({
          ...shared.args,
          rootValue: step.value,
          contextValue: this.options.eventContext(shared.first),
        });
        this.options.onExecuted?.();
        if (shared.closed) break;
        const slot = this.options.slotOf(step.value);
        shared.latest.set(slot, result);
        for (const subscriber of shared.subscribers) {
          subscriber.pending.set(slot, result);
          subscriber.wake?.();
        }
      }
    } catch (error) {
      shared.failure = error;
      this.options.logger.warn({ err: error }, 'live subscription stream failed');
    } finally {
      shared.ended = true;
      if (this.shared.get(shared.key) === shared) this.shared.delete(shared.key);
      for (const subscriber of shared.subscribers) subscriber.wake?.();
    }
  }

  private iterate(subscriber: Subscriber<TContext>): AsyncIterableIterator<ExecutionResult> {
    const { shared } = subscriber;
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        while (!subscriber.closed) {
          const next = subscriber.pending.entries().next();
          if (!next.done) {
            const [slot, result] = next.value;
            subscriber.pending.delete(slot);
            if (!(await this.mayReceive(subscriber))) {
              this.detach(subscriber);
              return done();
            }
            return subscriber.closed ? done() : { value: result, done: false };
          }
          if (shared.ended) {
            this.detach(subscriber);
            if (shared.failure !== undefined) throw shared.failure;
            return done();
          }
          await new Promise<void>((resolve) => (subscriber.wake = resolve));
        }
        return done();
      },
      return: async () => {
        this.detach(subscriber);
        return done();
      },
      throw: async () => {
        this.detach(subscriber);
        return done();
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private async mayReceive(subscriber: Subscriber<TContext>): Promise<boolean> {
    if (!this.options.mayReceive) return true;
    try {
      return await this.options.mayReceive(subscriber.context);
    } catch (error) {
      // The key could not be checked (the database is down): keep delivering; the next one checks again.
      this.options.logger.debug({ err: error }, 'live subscriber check failed; delivering');
      return true;
    }
  }

  /** Ends one subscriber; the last one to leave closes the stream. */
  private detach(subscriber: Subscriber<TContext>): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    subscriber.pending.clear();
    const { shared } = subscriber;
    shared.subscribers.delete(subscriber);
    this.freeSlot(subscriber.connection);
    subscriber.onEnd();
    subscriber.wake?.();
    if (shared.subscribers.size === 0 && !shared.closed) {
      shared.closed = true;
      if (this.shared.get(shared.key) === shared) this.shared.delete(shared.key);
      void Promise.resolve(shared.iterator.return?.()).catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'closing a live subscription stream failed');
      });
    }
  }

  private freeSlot(connection: string): void {
    const held = (this.perConnection.get(connection) ?? 1) - 1;
    if (held <= 0) this.perConnection.delete(connection);
    else this.perConnection.set(connection, held);
  }
}
