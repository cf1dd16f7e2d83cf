/**
 * The dashboard's only way to the server: the public GraphQL API, queries over HTTP POST and
 * subscriptions over graphql-ws, with the API key on both. Documents are codegen-typed.
 */
import { CloseCode, createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './generated/graphql';

/** An error answered by the API, with its stable `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * What the live connection is doing, for the page's status line. `refused`: the server closed it
 * because the key is unknown or revoked; `stopped`: it ended for good (the server refused the
 * protocol or failed), and only a reload starts it again. Neither is retried.
 */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'refused' | 'stopped';

/** Whether graphql-ws ended on the server's refusal of the key (Gavel closes with 4403). */
function isKeyRefusal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === CloseCode.Forbidden;
}

/** A GraphQL client bound to one API key. */
export interface Api {
  /**
   * Runs a query. With `partial`, data with field errors is returned (e.g. a SELLER key's
   * `analytics: null` on other sellers' items); otherwise any error throws.
   */
  query<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    options?: { partial?: boolean },
  ): Promise<TResult>;
  /** Starts a subscription; returns its stop function. Errors end it (after `onError`). */
  subscribe<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    onData: (data: TResult) => void,
    onError: (error: ApiError) => void,
  ): () => void;
  close(): void;
}

interface Reply<T> {
  data?: T | null;
  errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }>;
}

function firstError<T>(reply: Reply<T>, status?: number): ApiError | undefined {
  const error = reply.errors?.[0];
  if (error) return new ApiError(error.message, error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
  if (!reply.data) return new ApiError(`The server answered HTTP ${status ?? '?'} without data.`, 'BAD_RESPONSE');
  return undefined;
}

/** A client for `key` (empty: no key) that reports the websocket's state to `onStatus`. */
export function createApi(key: string, onStatus: (status: LiveStatus) => void): Api {
  const authorization = key ? `Bearer ${key}` : undefined;
  const endpoint = '/graphql';
  let everConnected = false;
  const ws: Client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${endpoint}`,
    connectionParams: authorization ? { authorization } : {},
    lazy: false,
    // The dashboard stays open for hours: keep reconnecting (graphql-ws backs off, with jitter),
    // unless the key was refused (revoked since the page opened): retrying cannot help.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (error) => !isKeyRefusal(error),
    // graphql-ws gave up (a refused key, or a close code it never retries): say so, not "reconnecting".
    onNonLazyError: (error) => onStatus(isKeyRefusal(error) ? 'refused' : 'stopped'),
    on: {
      connecting: () => onStatus(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        onStatus('live');
      },
      closed: () => onStatus(everConnected ? 'reconnecting' : 'connecting'),
    },
  });

  return {
    async query(document, variables, options: { partial?: boolean } = {}) {
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: JSON.stringify({ query: document.toString(), variables }),
        });
      } catch {
        throw new ApiError('The server cannot be reached; check the connection and retry.', 'NETWORK');
      }
      const reply = (await response.json().catch(() => ({}))) as Reply<never>;
      if (options.partial && reply.data) return reply.data;
      const error = firstError(reply, response.status);
      if (error) throw error;
      return reply.data!;
    },
    subscribe(document, variables, onData, onError) {
      return ws.subscribe(
        { query: document.toString(), variables: variables as Record<string, unknown> },
        {
          next: (reply) => {
            const error = firstError(reply as Reply<unknown>);
            if (error) onError(error);
            else onData(reply.data as never);
          },
          error: (error) => {
            const reply = Array.isArray(error) ? { errors: error as Reply<unknown>['errors'] } : undefined;
            onError(
              (reply && firstError(reply)) ??
                new ApiError(error instanceof Error ? error.message : 'The live connection failed.', 'LIVE'),
            );
          },
          complete: () => undefined,
        },
      );
    },
    close: () => void ws.dispose(),
  };
}
