/**
 * Cheap refusals on the GraphQL HTTP path, before Apollo: a request rate per client address
 * (before the body is read) and the document length (before it is lexed or hashed). Measured in
 * `bench:abuse` (bench/README.md): a hostile body's cost grows with its length — JSON.parse, the
 * SHA-256 Apollo takes of every query, the lexer up to the token limit, and the line/column that
 * graphql-js computes for a syntax error by scanning the text — so the length is capped before
 * any of them, and one address cannot send more than its share of requests at all.
 */
import type { RequestHandler, Response } from 'express';
import { Kind, parse, type GraphQLError, type OperationDefinitionNode, type ValueNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { ClientInfo } from '../graphql/context';
import type { GavelMetrics } from '../observability/metrics';
import { traceOf } from '../observability/graphqlHooks';
import { ErrorCode } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { RateLimiter } from '../tracking/rateLimiter';
import type { BudgetRefusal, TrackingBatchShape } from '../tracking/tracking.service';
import { EventType } from '../tracking/trackingEvent.model';
import type { RequestPolicy } from './limits';

/** Addresses remembered for "already logged this minute"; past it the memory starts over. */
const MAX_LOGGED_ADDRESSES = 10_000;

/** Sends one error in GraphQL's response shape, as the transport error handler does. */
function sendError(res: Response, status: number, message: string, extensions: Record<string, unknown>): void {
  res.status(status).json({ errors: [{ message, extensions }] });
}

/**
 * Refuses a client address's requests past `HTTP_REQUESTS_PER_MINUTE` with HTTP 429, `Retry-After`
 * and `RATE_LIMITED`, before the body is read or parsed. Mounted after CORS, so a browser can read
 * the refusal and preflights (answered by CORS) are not counted; websocket upgrades never pass
 * here (they have their own caps in wsGuard.ts). A refusal is counted in
 * `gavel_graphql_refused_total` but logged once per address per minute, not per request: a flood
 * must not become a log flood.
 *
 * @param limiter - per-address counter (shared through Redis when set); undefined = no limit
 * @param limitKey - what the limit counts an address under (`addressLimitKey`: an IPv6 /64, say)
 */
export function httpRateLimit(
  limiter: RateLimiter | undefined,
  perMinute: number,
  metrics: GavelMetrics,
  logger: Logger,
  limitKey: (address: string) => string,
): RequestHandler {
  const loggedUntil = new Map<string, number>();
  return (req, res, next) => {
    if (!limiter || (req.method !== 'GET' && req.method !== 'POST')) return next();
    const address = limitKey(req.ip ?? 'unknown');
    limiter.take(address).then(
      ({ allowed, retryAfterMs }) => {
        if (allowed > 0) return next();
        metrics.recordOperation({
          transport: 'http',
          type: 'unknown',
          name: undefined,
          resolved: false,
          code: ErrorCode.RATE_LIMITED,
          durationSeconds: 0,
        });
        const now = Date.now();
        if ((loggedUntil.get(address) ?? 0) <= now) {
          if (loggedUntil.size >= MAX_LOGGED_ADDRESSES) loggedUntil.clear();
          loggedUntil.set(address, now + retryAfterMs);
          logger.warn(
            { address, retryAfterMs },
            `HTTP_REQUESTS_PER_MINUTE (${perMinute}) reached by one address; refusing it with 429 for the rest of the minute`,
          );
        }
        const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
        res.setHeader('Retry-After', String(seconds));
        sendError(
          res,
          429,
          `More than ${perMinute} requests per minute from this address (HTTP_REQUESTS_PER_MINUTE); retry in ${seconds} s.`,
          { code: ErrorCode.RATE_LIMITED, retryAfterMs: Math.ceil(retryAfterMs) },
        );
      },
      // The limiter falls back to memory while Redis is down; anything else must not refuse service.
      (err: unknown) => {
        logger.warn({ err }, 'HTTP rate limit check failed; request let through');
        next();
      },
    );
  };
}

/**
 * Refuses a document longer than `GRAPHQL_MAX_QUERY_CHARS` with HTTP 400 and `QUERY_TOO_LARGE`
 * before Apollo hashes, lexes or parses it (the same check the websocket path makes in
 * `policy.parse`). Mounted after the JSON body parser.
 */
export function queryLengthLimit(policy: Pick<RequestPolicy, 'queryTooLong'>): RequestHandler {
  return (req, res, next) => {
    const body = req.body as { query?: unknown } | undefined;
    const query = req.method === 'GET' ? req.query.query : body?.query;
    const refusal: GraphQLError | undefined = typeof query === 'string' ? policy.queryTooLong(query) : undefined;
    if (!refusal) return next();
    const trace = traceOf(res);
    if (trace) trace.code = ErrorCode.QUERY_TOO_LARGE;
    // `http` is Apollo's status hint, not for clients (as in formatError).
    const extensions: Record<string, unknown> = { ...refusal.extensions };
    delete extensions.http;
    sendError(res, 400, refusal.message, extensions);
  };
}

/** The tracking mutations: what type of event each reports, and through which argument. */
const TRACKING_FIELDS: Readonly<Record<string, { type: EventType; argument: string }>> = {
  trackImpressions: { type: EventType.IMPRESSION, argument: 'events' },
  trackClicks: { type: EventType.CLICK, argument: 'events' },
  trackImpression: { type: EventType.IMPRESSION, argument: 'event' },
  trackClick: { type: EventType.CLICK, argument: 'event' },
};
/** Tracking documents are short (their events travel as variables); longer ones are not looked at here. */
const MAX_TRACKING_DOCUMENT_CHARS = 2_000;
/** Tokens the guard's own parse reads at most (a tracking document has a few dozen). */
const MAX_TRACKING_DOCUMENT_TOKENS = 500;

/** One tracking field of a document: its event type and where its events are (a variable or a literal). */
interface TrackingField {
  readonly type: EventType;
  readonly value: ValueNode;
}

/**
 * The tracking fields of `query`'s selected operation, or null when it is not an operation made of
 * tracking mutations only (then the guard leaves it to GraphQL). Fields under directives, fragments
 * at the root or anything else: null as well, the service's own check covers them.
 */
function trackingFieldsOf(query: string, operationName: unknown): TrackingField[] | null {
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query, { noLocation: true, maxTokens: MAX_TRACKING_DOCUMENT_TOKENS }).definitions.filter(
      (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
    );
  } catch {
    return null;
  }
  const operation =
    typeof operationName === 'string'
      ? operations.find((candidate) => candidate.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
  if (!operation || operation.operation !== 'mutation' || operation.directives?.length) return null;
  const fields: TrackingField[] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length) return null;
    const known = TRACKING_FIELDS[selection.name.value];
    const argument = selection.arguments?.find((candidate) => candidate.name.value === known?.argument);
    if (!known || !argument) return null;
    fields.push({ type: known.type, value: argument.value });
  }
  return fields;
}

/** The events of one field as the request gives them (variables or literal), or null when malformed. */
function eventsOf(value: ValueNode, variables: Record<string, unknown>): Array<{ sessionId: unknown }> | null {
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    // GraphQL takes a single value for a list of one.
    const list = Array.isArray(given) ? (given as unknown[]) : [given];
    return list.every((event) => typeof event === 'object' && event !== null && !Array.isArray(event))
      ? (list as Array<{ sessionId: unknown }>)
      : null;
  }
  const literals = value.kind === Kind.LIST ? value.values : [value];
  const events: Array<{ sessionId: unknown }> = [];
  for (const literal of literals) {
    if (literal.kind !== Kind.OBJECT) return null;
    const session = literal.fields.find((field) => field.name.value === 'sessionId')?.value;
    // A session given as a variable inside a literal: unknown here (only the address is looked at).
    events.push({ sessionId: session?.kind === Kind.STRING ? session.value : undefined });
  }
  return events;
}

/**
 * Refuses a tracking request whose address or session(s) are over their tracking budget before
 * GraphQL parses, validates and coerces its events (coercing 500 input objects, twice — the cost
 * analysis and the execution — is most of what such a request would cost; see bench:abuse's
 * tracking flood). A cheap look: a document of tracking mutations only (parsed here, short
 * ones only, cached), its events counted in the raw variables, and the budgets peeked at by the
 * service (`TrackingService.refuseOverBudget`, which also accounts for the refused events).
 * Refused: HTTP 429 with `Retry-After` and GraphQL's error shape, `RATE_LIMITED` with
 * `retryAfterMs`; the same answer the service gives on the other paths (websockets). Anything the
 * guard cannot read cheaply goes on to GraphQL, where the service makes the same check first.
 * Mounted after the JSON body parser and the query length limit.
 */
export function trackingBudgetGuard(
  tracking: { refuseOverBudget(client: ClientInfo, batch: TrackingBatchShape): Promise<BudgetRefusal | null> },
  maxBatch: number,
  limitKey: (address: string) => string,
  logger: Logger,
): RequestHandler {
  const documents = new LRUCache<string, { fields: TrackingField[] | null }>({ max: 256 });
  return (req, res, next) => {
    const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
    const query = req.method === 'POST' ? body?.query : undefined;
    if (typeof query !== 'string' || query.length > MAX_TRACKING_DOCUMENT_CHARS || !query.includes('track'))
      return next();
    const cacheKey = `${typeof body!.operationName === 'string' ? body!.operationName : ''}\u0000${query}`;
    let cached = documents.get(cacheKey);
    if (!cached) documents.set(cacheKey, (cached = { fields: trackingFieldsOf(query, body!.operationName) }));
    if (!cached.fields) return next();
    const variables =
      typeof body!.variables === 'object' && body!.variables !== null
        ? (body!.variables as Record<string, unknown>)
        : {};
    const counts = new Map<EventType, number>();
    const sessionIds = new Set<unknown>();
    for (const field of cached.fields) {
      const events = eventsOf(field.value, variables);
      // Empty, oversized or malformed: GraphQL and the service answer those (BAD_USER_INPUT).
      if (!events || events.length === 0 || events.length > maxBatch) return next();
      counts.set(field.type, (counts.get(field.type) ?? 0) + events.length);
      for (const event of events) sessionIds.add(event.sessionId);
    }
    const ip = req.ip ?? 'unknown';
    const client: ClientInfo = {
      ip,
      limitKey: limitKey(ip),
      userAgent: req.get('user-agent'),
      sessionId: undefined,
    };
    tracking.refuseOverBudget(client, { counts, sessionIds }).then(
      (refusal) => {
        if (!refusal) {
          res.locals.trackingBudgetChecked = true;
          return next();
        }
        const trace = traceOf(res);
        if (trace) trace.code = ErrorCode.RATE_LIMITED;
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))));
        sendError(res, 429, refusal.message, {
          code: ErrorCode.RATE_LIMITED,
          retryAfterMs: Math.max(0, Math.ceil(refusal.retryAfterMs)),
        });
      },
      // The budget could not be read (a database or Redis failure): the request goes on, where the
      // service meets the same failure and answers it as such.
      (err: unknown) => {
        logger.debug({ err }, 'tracking budget check failed before GraphQL; request passed on');
        next();
      },
    );
  };
}
