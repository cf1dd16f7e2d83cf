import type { IncomingMessage } from 'node:http';
import type { VerifyClientCallbackAsync, WebSocket, WebSocketServer } from 'ws';

/**
 * Websocket abuse caps that graphql-ws has no hook for, applied to the `ws` server it runs on:
 * who may upgrade (origin, open connections per client address) and how fast one connection may
 * send. Per instance and in process: connections live on one instance, and the per-message
 * decision must be synchronous (it runs before graphql-ws sees the message), which rules out an
 * asynchronous limiter such as rate-limiter-flexible.
 */

/** Close code for a connection that sends faster than allowed: "policy violation" (RFC 6455). */
export const WS_CLOSE_TOO_MANY_MESSAGES = 1008;

/**
 * How long a peer closed for its message rate has to answer the close frame before its socket is
 * cut (instead of `ws`'s 30 s): long enough for the close frame to arrive, so the peer reads 1008
 * and its reason, not an abnormal closure (1006).
 */
const CLOSE_GRACE_MS = 1_000;

/** What {@link guardWebsockets} needs. */
export interface WsGuardOptions {
  /** `WS_MAX_CONNECTIONS_PER_ADDRESS` */
  readonly maxConnectionsPerAddress: number;
  /** `WS_MAX_MESSAGES_PER_SECOND` */
  readonly maxMessagesPerSecond: number;
  /** Allowed browser origins (`CORS_ORIGINS`); `['*']` allows any. */
  readonly origins: readonly string[];
  /**
   * What the per-address cap counts a request's client under: its address derived the same way as
   * on HTTP (TRUST_PROXY), keyed by `addressLimitKey` (an IPv6 client by its /64).
   */
  readonly limitKey: (request: IncomingMessage) => string;
}

/**
 * Whether a websocket upgrade from `origin` may proceed. Browsers always send `Origin` on a
 * websocket handshake and CORS does not apply to websockets, so without this check any website
 * could open a socket with its visitor's network position (cross-site websocket hijacking). No
 * `Origin` is a non-browser client, which could send any header anyway; an origin naming the
 * request's own host is same-origin (a page served behind the same host name).
 */
export function originAllowed(
  origins: readonly string[],
  origin: string | undefined,
  host: string | undefined,
): boolean {
  if (origins.includes('*') || origin === undefined) return true;
  if (origins.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The `verifyClient` of the `ws` server: refuses a foreign origin with HTTP 403 and an address
 * at its connection cap with HTTP 429, before any websocket exists. Then counts connections per
 * address and closes one that sends more than its message rate with
 * {@link WS_CLOSE_TOO_MANY_MESSAGES} and a reason naming the setting: the messages within the rate
 * are handled (a burst's first pings answered), the ones over it are dropped unseen. Call before
 * graphql-ws's `useServer`, so that the guard sits in front of graphql-ws's message listener.
 */
export function guardWebsockets(options: WsGuardOptions): {
  verifyClient: VerifyClientCallbackAsync<IncomingMessage>;
  attach(server: WebSocketServer): void;
} {
  const openPerAddress = new Map<string, number>();
  const addressOf = new WeakMap<IncomingMessage, string>();
  return {
    verifyClient: ({ origin, req }, accept) => {
      if (!originAllowed(options.origins, origin, req.headers.host)) {
        accept(false, 403, 'Origin not allowed: add it to CORS_ORIGINS.');
        return;
      }
      const address = options.limitKey(req);
      if ((openPerAddress.get(address) ?? 0) >= options.maxConnectionsPerAddress) {
        accept(false, 429, 'Too many websockets from this address (WS_MAX_CONNECTIONS_PER_ADDRESS).');
        return;
      }
      addressOf.set(req, address);
      // `ws` completes the upgrade and emits `connection` synchronously after this call, so the
      // count below is current for the next handshake.
      accept(true);
    },
    attach(server) {
      server.on('connection', (socket: WebSocket, req: IncomingMessage) => {
        const address = addressOf.get(req) ?? options.limitKey(req);
        openPerAddress.set(address, (openPerAddress.get(address) ?? 0) + 1);
        socket.once('close', () => {
          const left = (openPerAddress.get(address) ?? 1) - 1;
          if (left > 0) openPerAddress.set(address, left);
          else openPerAddress.delete(address);
        });
        let windowStart = 0;
        let count = 0;
        let closing = false;
        /** Whether a message arriving now is within the rate; the first one over it closes the socket. */
        const admit = (): boolean => {
          if (closing) return false;
          const now = Date.now();
          if (now - windowStart >= 1_000) {
            windowStart = now;
            count = 0;
          }
          if (++count <= options.maxMessagesPerSecond) return true;
          closing = true;
          // On the next turn of the event loop: the messages admitted before this one were handled
          // in this turn, and their immediate answers (a pong comes a microtask later) go out
          // before the close frame instead of being dropped by a socket already closing.
          setImmediate(() => {
            socket.close(
              WS_CLOSE_TOO_MANY_MESSAGES,
              `Too many messages: at most ${options.maxMessagesPerSecond} per second (WS_MAX_MESSAGES_PER_SECOND).`,
            );
            const cut = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
            cut.unref();
            socket.once('close', () => clearTimeout(cut));
          });
          return false;
        };
        // Messages over the rate are dropped before any listener sees them: graphql-ws's listener
        // (registered after this one) must not handle them, and cutting the socket at once, as
        // this guard once did, dropped the close frame (1006) and the answers to the messages
        // within the rate with it.
        const emit = socket.emit.bind(socket);
        socket.emit = ((event: string | symbol, ...args: unknown[]): boolean =>
          event === 'message' && !admit() ? false : emit(event, ...args)) as typeof socket.emit;
      });
    },
  };
}
