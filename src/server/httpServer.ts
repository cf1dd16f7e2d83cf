import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler } from 'express';
import proxyAddr from 'proxy-addr';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GavelConfig } from '../config';
import { describeUnavailable, isDatabaseUnavailable, type Database } from '../db/database';
import type { ClientInfo, GavelContext, GavelServices } from '../graphql/context';
import { ErrorCode, serviceUnavailable, unauthenticated } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { metricsEndpoint } from '../observability/metrics';
import {
  describeCaller,
  noteUnavailableCause,
  operationTracePlugin,
  requestIds,
  traceGraphqlRequests,
  traceOf,
  WsOperationTracker,
} from '../observability/graphqlHooks';
import { REQUEST_ID_HEADER, type Observability } from '../observability/operations';
import { createErrorFormatter } from './formatError';
import { createRequestPolicy, prepareOperation } from './limits';
import { guardWebsockets } from './wsGuard';
import { mountWebAssets } from './webAssets';
import { CATALOG_IMPORT_PATH, catalogImportRoute } from '../catalog/catalogImport.route';
import { httpRateLimit, queryLengthLimit, trackingBudgetGuard } from './httpGuard';
import { addressLimitKey } from '../shared/addressKey';
import type { RateLimiter } from '../tracking/rateLimiter';
import type { Viewer } from '../auth/viewer';
import { liveEventSlot } from '../live/live.service';
import { SubscriptionMultiplexer } from '../live/multiplexer';
import { SubscriptionBudget, type BudgetReservation } from './subscriptionBudget';
import { SharedPayloads } from './sharedPayloads';

/** The path serving GraphQL over HTTP and over websockets. */
export const GRAPHQL_PATH = '/graphql';

/** Response header (HTTP responses and websocket upgrades) carrying `GAVEL_INSTANCE_ID` when `EXPOSE_INSTANCE_HEADER` is on. */
export const INSTANCE_HEADER = 'x-gavel-instance';

/** Everything the HTTP layer needs from the composition root. */
export interface HttpServerOptions {
  readonly config: GavelConfig;
  readonly schema: GraphQLSchema;
  readonly services: GavelServices;
  readonly database: Database;
  readonly logger: Logger;
  /**
   * Further dependencies `/readyz` requires besides the database, by name (e.g. `redis` when
   * `REDIS_URL` is set): each answers whether it is usable right now.
   */
  readonly readinessChecks?: Readonly<Record<string, () => boolean>>;
  /** Metrics and the request log (`/metrics`, one line per operation). */
  readonly observability: Observability;
  /** Counts GraphQL HTTP requests per client address (`HTTP_REQUESTS_PER_MINUTE`); none = unlimited. */
  readonly requestLimiter?: RateLimiter;
}

/** A listening Gavel HTTP + websocket server. */
export interface GavelHttpServer {
  /** `http://host:port/graphql` */
  readonly url: string;
  /** `ws://host:port/graphql` */
  readonly wsUrl: string;
  readonly port: number;
  /** `http://host:port/metrics` of the `METRICS_PORT` listener; undefined without one. */
  readonly metricsUrl: string | undefined;
  /** Websocket subscriptions held (for tests and metrics): nothing may remain after all clients leave. */
  readonly subscriptions: { stats(): SubscriptionStats };
  /**
   * Graceful stop: `/readyz` turns 503 at once; after `SHUTDOWN_DRAIN_MS` refuses new connections and requests, lets in-flight HTTP requests finish,
   * closes websockets with 1001 (going away). Idempotent.
   */
  stop(): Promise<void>;
}

/** What the websocket subscriptions hold right now. */
export interface SubscriptionStats {
  /** Distinct subscriptions running (each computed once per event for all its subscribers). */
  readonly streams: number;
  /** Subscribers attached to them. */
  readonly subscribers: number;
  /** Connections holding at least one. */
  readonly connections: number;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What a client is told when the database cannot be reached (HTTP 503; websockets close 1013). */
const DATABASE_UNAVAILABLE = 'The database is unavailable; retry the request shortly.';

/**
 * RFC 6455 "Try Again Later": a websocket whose key cannot be checked at `connection_init` because
 * the database is unavailable (the official graphql-ws client retries it with its backoff).
 */
const WS_CLOSE_TRY_AGAIN_LATER = 1013;

/** The reason a websocket is closed with 4403 (Forbidden) for its key, at `connection_init` or later. */
const WS_KEY_REFUSED = 'Forbidden: the API key is unknown, malformed or revoked.';

/** Session ids are client-chosen; anything outside this shape is ignored rather than stored. */
const sessionIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

function sessionIdFrom(value: unknown): string | undefined {
  return typeof value === 'string' && sessionIdPattern.test(value) ? value : undefined;
}

/** Starts the HTTP server (GraphQL, health probes) and the graphql-ws server on one port. */
export async function startHttpServer(options: HttpServerOptions): Promise<GavelHttpServer> {
  const { config, schema, services, database, logger } = options;
  const { metrics, recorder } = options.observability;
  const app = express();
  app.disable('x-powered-by');
  // No ETags: GraphQL answers are never cached (no-store), and hashing every answer cost time.
  app.set('etag', false);
  // Behind a load balancer the client address is in X-Forwarded-For; trust it only when told to.
  app.set('trust proxy', config.trustProxy);
  const httpServer = createServer(app);
  const { auth } = services;
  const production = config.nodeEnv === 'production';
  // One policy and one formatter for both transports (docs/security.md "Query limits").
  const policy = createRequestPolicy(
    schema,
    { ...config.limits, analyticsMaxRangeHours: config.analyticsMaxRangeDays * 24 },
    { introspection: config.introspection, production },
  );
  const formatError = createErrorFormatter(logger, production, policy);
  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatError(error.toJSON(), error));
  let stopping = false;
  // Every per-address limit counts a client under this key (an IPv6 client by its /64).
  const limitKeyOf = (address: string): string => addressLimitKey(address, config.ipv6LimitPrefix);

  app.use((_req, res, next) => {
    // Every answer is exactly the type it says (JSON, JavaScript, text): a browser must never
    // sniff one into something else, such as a GraphQL error echoing input rendered as HTML.
    res.setHeader('x-content-type-options', 'nosniff');
    // Names the process that answered, so an operator (and the topology test) can tell which
    // instance behind the balancer served a request; off by default, as it tells anyone the host
    // name and process id.
    if (config.exposeInstanceHeader) res.setHeader(INSTANCE_HEADER, config.instanceId);
    next();
  });
  app.use(requestIds());
  // Metrics tell anyone the traffic, the error rates and the operation names: on the public port
  // only behind METRICS_TOKEN in production, never beside a METRICS_PORT listener (docs/operations.md
  // "Metrics").
  const scrape = metricsEndpoint(metrics, config.metrics.token);
  const metricsOnPublicPort = config.metrics.port === undefined && (!production || config.metrics.token !== undefined);
  app.get('/metrics', (req, res, next) => {
    if (metricsOnPublicPort) return scrape(req, res, next);
    res.status(404).type('text/plain').send('Not found.\n');
  });

  mountWebAssets(app, config.webAssetsDir);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Liveness: the process runs and serves HTTP; never depends on the database (a restart would not help).
  // Readiness: the database (a supervised engine up and answering a ping) and every other required
  // dependency; `checks` says which is down.
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'up' | 'down'> = { database: (await database.ping()) ? 'up' : 'down' };
    for (const [name, check] of Object.entries(options.readinessChecks ?? {})) checks[name] = check() ? 'up' : 'down';
    const down = Object.keys(checks).filter((name) => checks[name] === 'down');
    const status = stopping ? 'stopping' : down.length === 0 ? 'ready' : `${down.join(', ')} unreachable`;
    res.status(status === 'ready' ? 200 : 503).json({ status, checks });
  });

  // The catalog import (ADMIN, NDJSON): counted by the same per-address request limit as GraphQL.
  app.post(
    CATALOG_IMPORT_PATH,
    httpRateLimit(options.requestLimiter, config.httpRequestsPerMinute, metrics, logger, limitKeyOf),
    catalogImportRoute(services.catalogImport, auth, logger),
  );

  // The websocket client address as Express derives `req.ip`: the same TRUST_PROXY hops.
  const clientAddress = (request: IncomingMessage): string =>
    proxyAddr(request, app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1]);
  const wsGuard = guardWebsockets({
    ...config.ws,
    origins: config.corsOrigins,
    limitKey: (request) => limitKeyOf(clientAddress(request)),
  });
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: config.maxBodyBytes,
    verifyClient: wsGuard.verifyClient,
  });
  // Before useServer: the guard sees each message before graphql-ws does.
  wsGuard.attach(wsServer);
  const wsOperations = new WsOperationTracker(recorder, metrics, (query) => policy.parse(query));
  // The connection's request id goes back in the 101 answer, as on HTTP.
  wsServer.on('headers', (headers, request) =>
    headers.push(`${REQUEST_ID_HEADER}: ${wsOperations.connectionRequestId(request)}`),
  );
  metrics.observe({ wsConnections: () => wsServer.clients.size });
  if (config.exposeInstanceHeader)
    wsServer.on('headers', (headers) => headers.push(`${INSTANCE_HEADER}: ${config.instanceId}`));
  // One id per websocket, for per-connection subscription limits.
  const connectionIds = new WeakMap<object, string>();
  const connectionIdOf = (socket: object): string => {
    let id = connectionIds.get(socket);
    if (!id) connectionIds.set(socket, (id = randomUUID()));
    return id;
  };
  // Who each subscriber's context belongs to, to check its key again before each delivery.
  const subscribers = new WeakMap<GavelContext, { authorization: unknown; socket: WebSocket }>();
  // Concurrent checks of one key (every subscriber of a shared stream at once) share one lookup.
  const keyChecks = new Map<string, Promise<Viewer>>();
  const currentViewer = (authorization: unknown): Promise<Viewer> => {
    if (typeof authorization !== 'string') return auth.viewerFor(authorization);
    let check = keyChecks.get(authorization);
    if (!check) {
      check = auth.viewerFor(authorization).finally(() => keyChecks.delete(authorization));
      keyChecks.set(authorization, check);
    }
    return check;
  };
  // Identical subscriptions (document, variables, role and seller) share one stream and one
  // execution per event; the checks stay per subscriber (src/live/multiplexer.ts).
  const multiplexer = new SubscriptionMultiplexer<GavelContext>({
    maxSubscriptionsPerConnection: config.live.maxSubscriptionsPerConnection,
    visibility: ({ viewer }) => JSON.stringify([viewer.role, viewer.sellerId ?? null]),
    connectionOf: ({ client }) => client.connectionId,
    eventContext: (first) => ({
      ...first,
      logger,
      trace: undefined,
      loaders: { analytics: services.analytics.createLoaders(), funnels: services.funnels.createLoaders() },
    }),
    // A key revoked since the subscription started receives nothing more (within the key cache
    // TTL): its connection is closed with 4403, as a reconnection with it would be.
    mayReceive: async (context) => {
      const subscriber = subscribers.get(context);
      if (!subscriber) return true;
      const viewer = await currentViewer(subscriber.authorization);
      if (!viewer.invalidToken && viewer.role === context.viewer.role && viewer.sellerId === context.viewer.sellerId)
        return true;
      subscriber.socket.close(CloseCode.Forbidden, WS_KEY_REFUSED);
      return false;
    },
    slotOf: liveEventSlot,
    onExecuted: () => metrics.recordLiveExecution(),
    logger,
  });
  metrics.observe({ liveStreams: () => multiplexer.stats().streams });
  // A shared result reaches every subscriber as the same object: its errors are formatted (and
  // logged) once, and it is serialized once (src/server/sharedPayloads.ts).
  const formattedResults = new WeakMap<ExecutionResult, FormattedExecutionResult | undefined>();
  const payloads = new SharedPayloads();
  // Open subscriptions hold their cost against their key and address (LIVE_MAX_OPEN_COST_PER_*):
  // taken in onSubscribe, given back when the subscriber ends (the multiplexer's onEnd), and in
  // any case when its socket closes.
  const budget = new SubscriptionBudget(config.live);
  const releases = new WeakMap<object, () => void>();
  const heldBy = new WeakMap<object, Set<BudgetReservation>>();
  // The viewer each operation's `subscribe` was checked as, until its context is built.
  const checkedViewers = new WeakMap<object, Map<string, Awaited<ReturnType<typeof auth.viewerFor>>>>();
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      subscribe: (args) => multiplexer.subscribe(args, () => releases.get(args)?.()),
      // A wrong, unknown or revoked key refuses the connection (close 4403); no key connects
      // anonymously, like HTTP.
      onConnect: async (ctx) => {
        try {
          if (!(await auth.viewerFor(ctx.connectionParams?.authorization)).invalidToken) return true;
          ctx.extra.socket.close(CloseCode.Forbidden, WS_KEY_REFUSED);
          return false;
        } catch (error) {
          // The key cannot be checked now: "try again later", the websocket's 503, logged once.
          const cause = describeUnavailable(error);
          if (cause === undefined) throw error;
          logger.warn({ cause }, 'websocket connection refused: the database is unavailable');
          ctx.extra.socket.close(WS_CLOSE_TRY_AGAIN_LATER, DATABASE_UNAVAILABLE);
          return false;
        }
      },
      // The same parse limit, validation rules, introspection setting and cost limit as HTTP;
      // queries and mutations only when WS_ALLOW_QUERIES is on. Refusals go out through onError.
      onSubscribe: async (ctx, id, payload) => {
        wsOperations.subscribed(ctx, id, payload);
        try {
          // The caller's role picks its cost limit, as on HTTP (a cache hit after onConnect, normally).
          const viewer = await auth.viewerFor(ctx.connectionParams?.authorization);
          if (viewer.invalidToken) {
            // The connection's key was revoked since connection_init: the socket is closed as a
            // new connection with that key would be (4403), not kept open as an anonymous one.
            ctx.extra.socket.close(CloseCode.Forbidden, WS_KEY_REFUSED);
            return [unauthenticated('The API key is unknown, malformed or revoked.')];
          }
          const prepared = prepareOperation(schema, policy, payload, config.wsAllowQueries, viewer.role);
          if (Array.isArray(prepared)) return prepared;
          wsOperations.prepared(ctx, id, prepared);
          const { type, cost, ...operation } = prepared;
          const args = { schema, ...operation };
          if (type === 'subscription') {
            // Refused here, before anything runs, when the caller's open subscriptions would cost
            // more than its budget; held until the subscription ends.
            const reservation = budget.reserve(
              {
                keyId: viewer.keyId === 'open' ? undefined : viewer.keyId,
                address: limitKeyOf(clientAddress(ctx.extra.request)),
              },
              cost,
            );
            if (reservation instanceof GraphQLError) return [reservation];
            let held = heldBy.get(ctx);
            if (!held) heldBy.set(ctx, (held = new Set()));
            held.add(reservation);
            releases.set(args, () => {
              held.delete(reservation);
              reservation.release();
            });
          }
          checkedViewers.set(ctx, (checkedViewers.get(ctx) ?? new Map()).set(id, viewer));
          return args;
        } catch (error) {
          // A bug here must fail this operation (logged, INTERNAL_SERVER_ERROR), not close the
          // socket and every other subscription on it.
          const cause = error instanceof Error ? error : new Error(String(error));
          return [new GraphQLError(cause.message, { originalError: cause })];
        }
      },
      // Every error leaves through the HTTP formatter: a code on each, nothing internal.
      onNext: (ctx, id, _payload, _args, result) => {
        let formatted = formattedResults.get(result);
        if (!formattedResults.has(result)) {
          formatted = result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined;
          formattedResults.set(result, formatted);
        }
        wsOperations.next(ctx, id, formatted?.errors);
        // What graphql-ws would send (the result, or it with formatted errors), serialized once.
        return payloads.standIn(ctx.extra.socket, result, formatted ?? result) as FormattedExecutionResult;
      },
      onError: (ctx, id, _payload, errors) => {
        noteUnavailableCause(wsOperations.trace(ctx, id), errors);
        const formatted = formatErrors(errors);
        wsOperations.error(ctx, id, formatted);
        return formatted;
      },
      onOperation: (ctx, id, _payload, _args, result) => {
        wsOperations.executed(ctx, id, result);
        return undefined;
      },
      onComplete: (ctx, id) => wsOperations.completed(ctx, id),
      onClose: (ctx) => {
        for (const reservation of heldBy.get(ctx) ?? []) reservation.release();
        heldBy.delete(ctx);
      },
      // The key is checked again per operation (a cache hit, normally), so a key revoked after the
      // connection opened stops authorising new subscriptions within the cache TTL.
      context: async (ctx, id): Promise<GavelContext> => {
        // As `subscribe` was checked: a second lookup could only fail (the database gone meanwhile)
        // where graphql-ws would close the whole socket with the driver's message.
        const checked = checkedViewers.get(ctx)?.get(id);
        checkedViewers.get(ctx)?.delete(id);
        const viewer = checked ?? (await auth.viewerFor(ctx.connectionParams?.authorization));
        const ip = clientAddress(ctx.extra.request);
        const client: ClientInfo = {
          ip,
          limitKey: limitKeyOf(ip),
          userAgent: header(ctx.extra.request, 'user-agent'),
          sessionId: sessionIdFrom(ctx.connectionParams?.sessionId),
          connectionId: connectionIdOf(ctx.extra.socket),
        };
        const trace = wsOperations.trace(ctx, id);
        describeCaller(recorder, trace, client, viewer);
        const context: GavelContext = {
          services,
          logger: trace ? logger.child({ reqId: trace.requestId }) : logger,
          viewer,
          loaders: { analytics: services.analytics.createLoaders(), funnels: services.funnels.createLoaders() },
          client,
          trace,
        };
        subscribers.set(context, { authorization: ctx.connectionParams?.authorization, socket: ctx.extra.socket });
        return context;
      },
    },
    wsServer,
    // Pings every interval; a peer that does not answer is terminated and its subscriptions end.
    config.live.keepAliveMs,
  );

  // ws closes a socket that breaks the protocol (an oversized or malformed frame) itself, with
  // 1009 or 1002; graphql-ws's own handler would print that client mistake with a stack trace on
  // stderr, once per hostile frame. Replace it by a log line that says what happened.
  wsServer.on('connection', (socket) => {
    payloads.attach(socket);
    socket.removeAllListeners('error');
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code?.startsWith('WS_ERR_')) {
        logger.debug({ code: err.code }, `websocket refused a frame: ${err.message}`);
        return;
      }
      logger.warn({ err }, 'websocket error');
      socket.close(1011, 'Internal server error');
    });
  });

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
            async didResolveOperation({ document, request, operationName, operation, contextValue }) {
              // A subscription needs a stream: over HTTP it would resolve to null, an internal error.
              if (operation?.operation === 'subscription')
                throw new GraphQLError(
                  'Subscriptions run over websockets (graphql-ws) on the same path; send queries and mutations over HTTP.',
                  { extensions: { code: ErrorCode.OPERATION_NOT_ALLOWED, http: { status: 400 } } },
                );
              policy.assertCost({ document, variables: request.variables, operationName }, contextValue.viewer.role);
            },
            // The database was unavailable (SERVICE_UNAVAILABLE, retryable): 503, so that a load
            // balancer, or a client that reads only the status, retries too.
            async willSendResponse({ response }) {
              // No answer is for a shared cache (a CDN in front would otherwise keep GET answers,
              // which depend on the caller's key and session): Apollo's cache-control plugin said so
              // before it was turned off below.
              response.http.headers.set('cache-control', 'no-store');
              const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
              if (errors?.some((error) => error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE))
                response.http.status = 503;
            },
          };
        },
      },
      operationTracePlugin(),
      // Gavel sets no cache hints (every answer is `no-store`, above); Apollo's default cache-control
      // plugin would still wrap every field resolver to compute them (a tenth of a search page's cost).
      ApolloServerPluginCacheControlDisabled(),
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
    // CORS first: preflights end there (uncounted) and a browser can read a 429.
    cors(corsOptions),
    httpRateLimit(options.requestLimiter, config.httpRequestsPerMinute, metrics, logger, limitKeyOf),
    traceGraphqlRequests(recorder),
    express.json({ limit: config.maxBodyBytes }),
    queryLengthLimit(policy),
    trackingBudgetGuard(services.tracking, config.tracking.maxBatch, limitKeyOf, logger),
    expressMiddleware(apollo, {
      context: async ({ req, res }): Promise<GavelContext> => {
        const trace = traceOf(res);
        // Fail fast (503, retryable) while the embedded engine is restarting, before any lookup waits on it.
        database.assertAvailable();
        const ip = req.ip ?? 'unknown';
        const client: ClientInfo = {
          ip,
          limitKey: limitKeyOf(ip),
          userAgent: req.get('user-agent'),
          sessionId: sessionIdFrom(req.get('x-session-id')),
          ...(res.locals.trackingBudgetChecked === true ? { trackingBudgetChecked: true } : {}),
        };
        const viewer = await auth.viewerFor(req.get('authorization')).catch((error: unknown) => {
          // Apollo would answer a failed context 500 INTERNAL_SERVER_ERROR, with the driver's message.
          if (!isDatabaseUnavailable(error)) throw error;
          noteUnavailableCause(trace, [error]);
          throw serviceUnavailable(DATABASE_UNAVAILABLE, 503);
        });
        if (viewer.invalidToken)
          throw unauthenticated('The API key is unknown, malformed or revoked; send `Authorization: Bearer <key>`.');
        describeCaller(recorder, trace, client, viewer);
        return {
          services,
          logger: trace ? logger.child({ reqId: trace.requestId }) : logger,
          client,
          viewer,
          loaders: { analytics: services.analytics.createLoaders(), funnels: services.funnels.createLoaders() },
          trace,
        };
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

  const { port } = await listen(httpServer, config.port, config.host);
  const host = urlHost(config.host);
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics.port !== undefined) {
    try {
      metricsServer = createServer(metricsApp(scrape));
      const { port: metricsPort } = await listen(metricsServer, config.metrics.port, config.metrics.host);
      metricsUrl = `http://${urlHost(config.metrics.host)}:${metricsPort}/metrics`;
      logger.info(`metrics at ${metricsUrl} (METRICS_PORT); the public port answers 404 for /metrics`);
    } catch (error) {
      await apollo.stop();
      throw error;
    }
  } else if (!metricsOnPublicPort) {
    logger.info('metrics: not served (production without METRICS_TOKEN or METRICS_PORT)');
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    wsUrl: `ws://${host}:${port}${GRAPHQL_PATH}`,
    port,
    metricsUrl,
    subscriptions: { stats: () => multiplexer.stats() },
    stop: () => {
      stopping = true;
      stopped ??= (async () => {
        // Readiness already answers 503; keep serving while a readiness-polling balancer notices.
        if (config.shutdownDrainMs > 0) {
          logger.info(`draining: /readyz is 503, serving ${config.shutdownDrainMs} ms more before closing`);
          await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
        }
        await apollo.stop();
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      })();
      return stopped;
    },
  };
}

/** Listens on `port` (0 = a free one) of `host`; resolves with the address bound. */
async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** The host of a URL to a server bound to `host` (a wildcard bind is reached on localhost). */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The `METRICS_PORT` listener: `/metrics` (with `METRICS_TOKEN` when set) and nothing else. */
function metricsApp(scrape: ReturnType<typeof metricsEndpoint>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  });
  app.get('/metrics', scrape);
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found.\n');
  });
  return app;
}
