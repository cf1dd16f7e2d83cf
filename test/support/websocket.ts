import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * Opens a graphql-ws connection with `connection_init` carrying `authorization` (none when
 * undefined) and the handshake carrying `headers`, and resolves `'connected'` when the server
 * acknowledges it (then closes it) or the close code when it refuses (1006 when the upgrade itself
 * is refused).
 */
export function connectionOutcome(
  app: { wsUrl: string },
  authorization: string | undefined,
  headers: Record<string, string> = {},
): Promise<number | 'connected'> {
  // graphql-ws constructs the socket itself; a subclass is how extra handshake headers get in.
  class WithHeaders extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  return new Promise((resolve) => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WithHeaders,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: authorization === undefined ? {} : { authorization },
      on: {
        connected: () => {
          resolve('connected');
          void client.dispose();
        },
        closed: (event) => resolve((event as { code: number }).code),
      },
    });
  });
}
