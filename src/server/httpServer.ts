import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GavelConfig } from '../config';
import type { Database } from '../db/database';
import type { ClientInfo, GavelContext, GavelServices } from '../graphql/context';
import { ErrorCode, unauthenticated } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { createErrorFormatter } from './formatError';
import { createRequestPolicy, prepareOperation } from './limits';
import { mountWebAssets } from '../web/webAssets';

/** The path serving GraphQL over HTTP and over websockets. */
export const GRAPHQL_PATH = '/graphql';

/** Everything the HTTP layer needs from the composition root. */
export interface HttpServerOptions {
  readonly config: GavelConfig;
  readonly schema: GraphQLSchema;
  readonly services: GavelServices;
  readonly database: Database;
  readonly logger: Logger;
}

/** A listening Gavel HTTP + websocket server. */
export interface GavelHttpServer {
  /** `http://host:port/graphql` */
  readonly url: string;
  /** `ws://host:port/graphql` */
  readonly wsUrl: string;
  readonly port: number;
  /**
   * Graceful stop: refuses new connections and requests, lets in-flight HTTP requests finish,
   * closes websockets with 1001 (going away). Idempotent.
   */
  stop(): Promise<void>;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Session ids are client-chosen; anything outside this shape is ignored rather than stored. */
const sessionIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

function sessionIdFrom(value: unknown): string | undefined {
  return typeof value === 'string' && sessionIdPattern.test(value) ? value : undefined;
}

/** Starts the HTTP server (GraphQL, health probes) and the graphql-ws server on one port. */
export async function startHttpServer(options: HttpServerOptions): Promise<GavelHttpServer> {
  const { config, schema, services, database, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  // Behind a load balancer the client address is in X-Forwarded-For; trust it only when told to.
  app.set('trust proxy', config.trustProxy);
  const httpServer = createServer(app);
  const { auth } = services;
  const production = config.nodeEnv === 'production';
  // One policy and one formatter for both transports (GUIDE "Security by default").
  const policy = createRequestPolicy(
    schema,
    { ...config.limits, analyticsMaxRangeHours: config.analyticsMaxRangeDays * 24 },
    { introspection: config.introspection, production },
  );
  const formatError = createErrorFormatter(logger, production, policy);
  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatError(error.toJSON(), error));
  let stopping = false;

  mountWebAssets(app, config.webAssetsDir);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const databaseUp = !stopping && (await database.ping());
    res
      .status(databaseUp ? 200 : 503)
      .json({ status: databaseUp ? 'ready' : stopping ? 'stopping' : 'database unreachable' });
  });

  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: config.maxBodyBytes });
  // One id per websocket, for per-connection subscription limits.
  const connectionIds = new WeakMap<object, string>();
  const connectionIdOf = (socket: object): string => {
    let id = connectionIds.get(socket);
    if (!id) connectionIds.set(socket, (id = randomUUID()));
    return id;
  };
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      // A wrong, unknown or revoked key refuses the connection (close 4403); no key connects
      // anonymously, like HTTP.
      onConnect: async (ctx) => !(await auth.viewerFor(ctx.connectionParams?.authorization)).invalidToken,
      // The same parse limit, validation rules, introspection setting and cost limit as HTTP;
      // queries and mutations only when WS_ALLOW_QUERIES is on. Refusals go out through onError.
      onSubscribe: (_ctx, _id, payload) => {
        try {
          const prepared = prepareOperation(schema, policy, payload, config.wsAllowQueries);
          return Array.isArray(prepared) ? prepared : { schema, ...prepared };
        } catch (error) {
          // A bug here must fail this operation (logged, INTERNAL_SERVER_ERROR), not close the
          // socket and every other subscription on it.
          const cause = error instanceof Error ? error : new Error(String(error));
          return [new GraphQLError(cause.message, { originalError: cause })];
        }
      },
      // Every error leaves through the HTTP formatter: a code on each, nothing internal.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
      // The key is checked again per operation (a cache hit, normally), so a key revoked after the
      // connection opened stops authorising new subscriptions within the cache TTL.
      context: async (ctx): Promise<GavelContext> => ({
        services,
        logger,
        viewer: await auth.viewerFor(ctx.connectionParams?.authorization),
        loaders: { analytics: services.analytics.createLoaders() },
        client: {
          ip: ctx.extra.request.socket.remoteAddress ?? 'unknown',
          userAgent: header(ctx.extra.request, 'user-agent'),
          sessionId: sessionIdFrom(ctx.connectionParams?.sessionId),
          connectionId: connectionIdOf(ctx.extra.socket),
        },
      }),
    },
    wsServer,
    // Pings every interval; a peer that does not answer is terminated and its subscriptions end.
    config.live.keepAliveMs,
  );

  const apollo = new ApolloServer<GavelContext>({
    schema,
    // Introspection is refused by the policy's own rule (shared with websockets), not Apollo's.
    introspection: true,
    validationRules: [...policy.validationRules],
    parseOptions: policy.parseOptions,
    hideSchemaDetailsFromClientErrors: production,
    includeStacktraceInErrorResponses: false,
    // The process entry point owns signal handling and the shutdown order.
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      {
        // Cost needs the variables, so it is checked once the operation is resolved, before execution.
        async requestDidStart() {
          return {
            async didResolveOperation({ document, request, operationName }) {
              policy.assertCost({ document, variables: request.variables, operationName });
            },
          };
        },
      },
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const corsOptions = config.corsOrigins.includes('*') ? {} : { origin: [...config.corsOrigins] };
  app.use(
    GRAPHQL_PATH,
    cors(corsOptions),
    express.json({ limit: config.maxBodyBytes }),
    expressMiddleware(apollo, {
      context: async ({ req }): Promise<GavelContext> => {
        const client: ClientInfo = {
          ip: req.ip ?? 'unknown',
          userAgent: req.get('user-agent'),
          sessionId: sessionIdFrom(req.get('x-session-id')),
        };
        const viewer = await auth.viewerFor(req.get('authorization'));
        if (viewer.invalidToken)
          throw unauthenticated('The API key is unknown, malformed or revoked; send `Authorization: Bearer <key>`.');
        return { services, logger, client, viewer, loaders: { analytics: services.analytics.createLoaders() } };
      },
    }),
  );

  // Transport-level failures (body not JSON, body too large) answer in GraphQL's error shape.
  const transportErrors: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, next) => {
    if (res.headersSent) return next(error);
    const tooLarge = error.type === 'entity.too.large';
    const status = tooLarge ? 413 : (error.status ?? 500);
    const code = tooLarge
      ? ErrorCode.PAYLOAD_TOO_LARGE
      : status < 500
        ? ErrorCode.BAD_REQUEST
        : ErrorCode.INTERNAL_SERVER_ERROR;
    const message = tooLarge
      ? `Request body exceeds ${config.maxBodyBytes} bytes; send smaller batches.`
      : status < 500
        ? 'Request body must be valid JSON: {"query": "...", "variables": {...}}.'
        : 'Internal server error.';
    if (status >= 500) logger.error({ err: error }, 'transport error');
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
  app.use(transportErrors);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    wsUrl: `ws://${host}:${port}${GRAPHQL_PATH}`,
    port,
    stop: () => {
      stopping = true;
      stopped ??= apollo.stop();
      return stopped;
    },
  };
}
