import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A `ws` socket class whose handshakes carry `headers` (graphql-ws constructs the socket itself). */
export function socketWithHeaders(
  headers: Record<string, string>,
): new (url: string, protocols?: string | string[]) => WebSocket {
  return class WithHeaders extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

/** A GraphQL result as received over graphql-ws (an operation refused before execution: `errors` only). */
export interface WebsocketResult<TData> {
  readonly data?: TData | null;
  readonly errors?: ReadonlyArray<{ message: string; path?: unknown; extensions?: Record<string, unknown> }>;
}

/**
 * Runs one operation over a fresh graphql-ws connection (the official client) and resolves its
 * result; queries and mutations need `WS_ALLOW_QUERIES` on the server.
 */
export async function executeOverWebsocket<TData, TVariables>(
  app: { wsUrl: string },
  document: TypedDocumentNode<TData, TVariables>,
  variables?: TVariables,
  options: { headers?: Record<string, string>; connectionParams?: Record<string, unknown> } = {},
): Promise<WebsocketResult<TData>> {
  const client = createClient({
    url: app.wsUrl,
    webSocketImpl: socketWithHeaders(options.headers ?? {}),
    retryAttempts: 0,
    connectionParams: options.connectionParams ?? {},
  });
  try {
    return await new Promise<WebsocketResult<TData>>((resolve, reject) => {
      let result: WebsocketResult<TData> = {};
      client.subscribe<TData>(
        { query: print(document), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (value) => (result = value as WebsocketResult<TData>),
          error: (error) =>
            Array.isArray(error) ? resolve({ errors: error as WebsocketResult<TData>['errors'] }) : reject(error),
          complete: () => resolve(result),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

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
  return new Promise((resolve) => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: socketWithHeaders(headers),
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
