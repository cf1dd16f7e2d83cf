import { GraphQLError } from 'graphql';

/**
 * The stable `extensions.code` values Gavel puts on errors it raises itself. Clients branch on
 * these, so they never change meaning. (Documents that fail to parse or validate carry Apollo's
 * `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`.)
 */
export const ErrorCode = {
  /** The request is wrong; `extensions.field` names the offending argument or input field. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The thing addressed does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** Credentials are missing or invalid. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Credentials are valid but do not allow this. */
  FORBIDDEN: 'FORBIDDEN',
  /** Too many requests; retry later (`extensions.retryAfterMs` when known). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A dependency (the database) is unavailable; safe to retry. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** The HTTP request itself is malformed (e.g. a body that is not JSON). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The HTTP request body is larger than `MAX_BODY_BYTES`. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /**
   * The operation costs more than `GRAPHQL_MAX_COST` (`extensions.cost`, `extensions.maxCost`), or a subscription would
   * take the caller's open subscriptions over their budget (`extensions.cost`, `openCost`, `openSubscriptions`,
   * `budget`, `budgetScope`: LIVE_MAX_OPEN_COST_PER_KEY or _PER_ADDRESS).
   */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** Fields nest deeper than `GRAPHQL_MAX_DEPTH` (`extensions.maxDepth`). */
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  /** More aliased fields than `GRAPHQL_MAX_ALIASES` (`extensions.maxAliases`). */
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  /** More directives than `GRAPHQL_MAX_DIRECTIVES` (`extensions.maxDirectives`). */
  TOO_MANY_DIRECTIVES: 'TOO_MANY_DIRECTIVES',
  /**
   * One analytics `timeSeries` would return more points (range × granularity) than
   * `ANALYTICS_MAX_POINTS` (`extensions.points`, `extensions.maxPoints`): use DAY or a shorter range.
   */
  RANGE_TOO_LARGE: 'RANGE_TOO_LARGE',
  /** The document has more tokens than `GRAPHQL_MAX_TOKENS` (`extensions.maxTokens`); it is not parsed. */
  QUERY_TOO_LARGE: 'QUERY_TOO_LARGE',
  /** A query or mutation over websockets while `WS_ALLOW_QUERIES` is off, or a subscription over HTTP: switch transport. */
  OPERATION_NOT_ALLOWED: 'OPERATION_NOT_ALLOWED',
  /** A bug or an unexpected failure; details are logged, never sent. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

/** One of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A client mistake in one argument or input field.
 *
 * @param field - path of the offending value as the client wrote it, e.g. `input.title`
 * @param message - what is wrong and what to send instead
 */
export function badUserInput(field: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field } });
}

/** The addressed entity does not exist. */
export function notFound(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.NOT_FOUND, field } });
}

/**
 * A dependency is down; the client may retry the same request.
 *
 * @param httpStatus - answer with this HTTP status when raised before execution (503 when the
 *   whole request is refused, so that a load balancer may send it elsewhere)
 * @param cause - the driver error behind it: kept for the operation's log line, never sent
 */
export function serviceUnavailable(message: string, httpStatus?: number, cause?: Error): GraphQLError {
  return new GraphQLError(message, {
    originalError: cause,
    extensions: {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      retryable: true,
      ...(httpStatus ? { http: { status: httpStatus } } : {}),
    },
  });
}

/** Missing or invalid credentials (HTTP 401 when raised before execution). */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
}

/** Too many requests from this client; `retryAfterMs` says when the budget is back. */
export function rateLimited(message: string, retryAfterMs: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.RATE_LIMITED, retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) },
  });
}
