import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * Opens a graphql-ws connection with `connection_init` carrying `authorization`, and resolves
 * `'connected'` when the server acknowledges it (then closes it) or the close code when it refuses.
 */
export function connectionOutcome(app: { wsUrl: string }, authorization: string): Promise<number | 'connected'> {
  return new Promise((resolve) => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: { authorization },
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
