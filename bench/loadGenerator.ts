/**
 * The load generator's side of a benchmark: the settings that let many load clients share one
 * address, the operator's own settings passed on to the measured server, and every refusal a load
 * client meets turned into an error that names the cap (a benchmark must never measure a server
 * that quietly refuses most of its load).
 */
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { settingNames } from '../src/config';

/**
 * Server settings for a benchmark whose load clients stand for many users but share one address
 * (and, for some, one session): every per-address, per-session and per-key cap that refuses
 * requests, events or websockets lifted, so the benchmark measures the server, not its abuse
 * brakes (`bench:abuse` measures those). `test/bench/loadGenerator.test.ts` fails when a cap is
 * added to the configuration and not here.
 */
export const LOAD_GENERATOR_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  HTTP_REQUESTS_PER_MINUTE: '0',
  SUGGESTIONS_PER_MINUTE: '0',
  // The session limit's configured maximum is 10,000,000/min.
  TRACKING_SESSION_EVENTS_PER_MINUTE: '10000000',
  TRACKING_IP_EVENTS_PER_MINUTE: '100000000',
  TRACKING_NEW_SESSIONS_PER_MINUTE: '1000000',
  WS_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  WS_MAX_MESSAGES_PER_SECOND: '1000000',
  LIVE_MAX_OPEN_COST_PER_KEY: '1000000000',
  LIVE_MAX_OPEN_COST_PER_ADDRESS: '1000000000',
});

/**
 * Settings a benchmark decides itself: where its servers run (some start several), on which
 * database with which data, and their log (read for readiness).
 */
const BENCH_OWNED = new Set([
  'MONGODB_URI',
  'MONGODB_DB',
  'GAVEL_MONGO_ENGINE',
  'GAVEL_DATA_DIR',
  'GAVEL_SEED_DEMO',
  'GAVEL_INSTANCE_ID',
  'HOST',
  'PORT',
  'METRICS_PORT',
  'LOG_LEVEL',
  'NODE_ENV',
]);

/**
 * The Gavel settings of the environment the benchmark runs in (`LIVE_INTERVAL_MS=500 npm run
 * bench:live`), other than those a benchmark decides itself: they reach the measured server, so an
 * operator measures their own configuration. A cap set this way that the load meets stops the
 * benchmark with a {@link CapReached} naming it.
 */
export function callerSettings(): Record<string, string> {
  return Object.fromEntries(
    settingNames()
      .filter((name) => !BENCH_OWNED.has(name) && process.env[name] !== undefined)
      .map((name) => [name, process.env[name]!]),
  );
}

/**
 * The environment of a benchmark's server: fresh secrets (so `NODE_ENV=production` starts), the
 * load clients' lifted caps, the operator's settings ({@link callerSettings}), then what this
 * benchmark measures (`env`), in that order of precedence.
 */
export function benchServerSettings(env: Record<string, string> = {}): Record<string, string> {
  return {
    CURSOR_SECRET: randomBytes(32).toString('hex'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
    PRIVACY_SECRET: randomBytes(32).toString('hex'),
    ...LOAD_GENERATOR_LIMITS,
    ...callerSettings(),
    ...env,
  };
}

/** A load client was refused by a cap: the benchmark stops instead of measuring a throttled server. */
export class CapReached extends Error {
  /**
   * @param setting - the setting the refusal names, if it names one
   * @param detail - what the server answered
   */
  constructor(
    readonly setting: string | undefined,
    detail: string,
  ) {
    super(
      `a load client was refused by ${setting ?? 'a cap that names no setting'}: ${detail} — lift it for the ` +
        'load clients (LOAD_GENERATOR_LIMITS in bench/loadGenerator.ts) or leave it unset when you run the benchmark',
    );
    this.name = 'CapReached';
  }
}

/** The refusal `detail` describes, naming the Gavel setting it mentions (the longest name, if several), or `fallback`. */
export function capReached(detail: string, fallback?: string): CapReached {
  const named = settingNames()
    .filter((name) => new RegExp(`\\b${name}\\b`).test(detail))
    .sort((a, b) => b.length - a.length)[0];
  return new CapReached(named ?? fallback, detail);
}

/** A GraphQL answer as a load client reads it. */
export interface LoadAnswer {
  readonly status: number;
  readonly errors?: ReadonlyArray<{ message?: string; extensions?: { code?: string } }>;
}

/** Throws {@link CapReached} when `answer` is a refusal by a rate cap (HTTP 429 or `RATE_LIMITED`). */
export function throwIfRefused(answer: LoadAnswer): void {
  const refusal = answer.errors?.find((error) => error.extensions?.code === 'RATE_LIMITED');
  if (refusal || answer.status === 429)
    throw capReached(refusal?.message ?? answer.errors?.[0]?.message ?? `HTTP ${answer.status}`);
}

/** Throws {@link CapReached} when a tracking answer rate-limited an event (`outcome` RATE_LIMITED, `reason` naming the cap). */
export function throwIfEventsLimited(events: ReadonlyArray<{ outcome: string; reason?: string | null }>): void {
  const limited = events.find((event) => event.outcome === 'RATE_LIMITED');
  if (limited) throw capReached(`an event was RATE_LIMITED: ${limited.reason ?? 'no reason given'}`);
}

/** One graphql-ws connection holding subscriptions, as {@link openSubscriber} opened it. */
export interface Subscriber {
  readonly client: Client;
  /** Rejects if the server refuses (with {@link CapReached}) or closes the connection or a subscription later. */
  readonly refused: Promise<never>;
}

/** A subscription to open, and what to do with each result's data. */
export interface LoadSubscription {
  readonly query: string;
  readonly onData: (data: unknown) => void;
}

/**
 * Opens a graphql-ws connection (the official client) and `subscriptions` on it; resolves once each
 * has its first result. A refusal — the upgrade answered 429 (`WS_MAX_CONNECTIONS_PER_ADDRESS`, the
 * only cap refusing there), the socket closed by the server (1008 and graphql-ws's 44xx codes carry
 * a reason), or a subscription error — rejects with {@link CapReached}; any other failure (the
 * server unreachable or gone: 1006) with an Error. Before every first result through the returned
 * promise (the client disposed), after them through {@link Subscriber.refused}.
 */
export function openSubscriber(url: string, subscriptions: readonly LoadSubscription[]): Promise<Subscriber> {
  let refuse!: (error: Error) => void;
  const refused = new Promise<never>((_resolve, reject) => (refuse = reject));
  refused.catch(() => undefined); // observed through the returned promise until every first result
  let disposing = false;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    // Reported through `refused` instead of graphql-ws's default (console.error of the raw event).
    onNonLazyError: () => undefined,
    on: {
      error: (error) => {
        // `ws` reports a refused upgrade as an ErrorEvent ("Unexpected server response: 429").
        const text = (error as { message?: string }).message ?? String(error);
        refuse(
          /\b429\b/.test(text)
            ? capReached(text, 'WS_MAX_CONNECTIONS_PER_ADDRESS')
            : new Error(`websocket connection failed: ${text}`),
        );
      },
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        if (disposing || code === 1000) return;
        const text = `websocket closed by the server: ${code} ${reason}`;
        // 1008 (policy) and graphql-ws's 44xx are refusals; anything else (1006: the server went away) is a failure.
        refuse(code === 1008 || (code >= 4400 && code < 4500) ? capReached(text) : new Error(text));
      },
    },
  });
  const dispose = client.dispose.bind(client);
  client.dispose = () => {
    disposing = true;
    return dispose();
  };
  const firsts = subscriptions.map(
    ({ query, onData }) =>
      new Promise<void>((resolve) =>
        client.subscribe(
          { query },
          {
            next: (result) => {
              if (result.errors) refuse(capReached(result.errors.map((error) => error.message).join('; ')));
              else {
                onData(result.data);
                resolve();
              }
            },
            error: (error) => refuse(capReached(`subscription refused: ${describe(error)}`)),
            complete: () => undefined,
          },
        ),
      ),
  );
  return Promise.race([Promise.all(firsts), refused]).then(
    () => ({ client, refused }),
    async (error: unknown) => {
      await client.dispose();
      throw error;
    },
  );
}

/** What a graphql-ws sink's `error` received, as text: GraphQL errors, an Error, or a close event. */
function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((item: { message?: string }) => item.message).join('; ');
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string };
  return close.code !== undefined ? `closed ${close.code} ${close.reason ?? ''}` : String(error);
}
