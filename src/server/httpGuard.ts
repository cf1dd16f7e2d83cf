/**
 * Cheap refusals on the GraphQL HTTP path, before Apollo: a request rate per client address
 * (before the body is read) and the document length (before it is lexed or hashed). Measured in
 * `bench:abuse` (bench/README.md): a hostile body's cost grows with its length — JSON.parse, the
 * SHA-256 Apollo takes of every query, the lexer up to the token limit, and the line/column that
 * graphql-js computes for a syntax error by scanning the text — so the length is capped before
 * any of them, and one address cannot send more than its share of requests at all.
 */
import type { RequestHandler, Response } from 'express';
import type { GraphQLError } from 'graphql';
import type { GavelMetrics } from '../observability/metrics';
import { traceOf } from '../observability/graphqlHooks';
import { ErrorCode } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { RateLimiter } from '../tracking/rateLimiter';
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
