import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isDatabaseUnavailable } from '../db/database';
import { ErrorCode } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { RequestPolicy } from './limits';

/** Codes that Gavel or Apollo set deliberately; their messages are written for clients. */
const clientFacingCodes = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const gavelCodes = new Set<string>(Object.values(ErrorCode));

/** "Did you mean …?" hints name fields and values of the schema; production keeps them to itself. */
const suggestion = / ?Did you mean(.+?)\?$/;

function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Gives a request-level error the code it should carry before the generic rules run:
 * - a Gavel limit rule's code survives Apollo wrapping it as `GRAPHQL_VALIDATION_FAILED`;
 * - a parse failure caused by the token limit is `QUERY_TOO_LARGE`, not a syntax error;
 * - an error Apollo raises with a 4xx status but no code (a persisted-query hash that does not
 *   match its query, an unsupported persisted-query version) is the client's `BAD_REQUEST`.
 */
function recode(
  formatted: GraphQLFormattedError,
  error: unknown,
  policy: Pick<RequestPolicy, 'tokenLimitError'> | undefined,
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const inner = error instanceof GraphQLError ? error.originalError : undefined;
  if (code === 'GRAPHQL_VALIDATION_FAILED' && inner instanceof GraphQLError) {
    const innerCode = inner.extensions.code;
    if (typeof innerCode === 'string' && gavelCodes.has(innerCode))
      return { ...formatted, extensions: { ...formatted.extensions, ...inner.extensions } };
  }
  if (code === 'GRAPHQL_PARSE_FAILED' && error instanceof GraphQLError) {
    const tooLarge = policy?.tokenLimitError(error.source?.body);
    if (tooLarge) return { message: tooLarge.message, extensions: tooLarge.extensions };
  }
  const status = httpStatusOf(error);
  const rawCode = error instanceof GraphQLError ? error.extensions.code : undefined;
  if (rawCode === undefined && status !== undefined && status >= 400 && status < 500)
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_REQUEST } };
  return formatted;
}

/**
 * Builds the one error formatter of both transports (Apollo's `formatError` over HTTP, and the
 * graphql-ws hooks over websockets): errors with a client-facing code pass through; a database
 * failure (any network-level driver error, see `isDatabaseUnavailable`) becomes a retryable
 * `SERVICE_UNAVAILABLE` (HTTP 503, see httpServer.ts); anything else is a bug, logged with its
 * stack and sent as a bare `INTERNAL_SERVER_ERROR` (with the message only outside production).
 * In production, "Did you mean …?" suggestions are removed from every message.
 *
 * @param policy - recognises documents refused by the token limit (see limits.ts)
 */
export function createErrorFormatter(
  logger: Logger,
  production: boolean,
  policy?: Pick<RequestPolicy, 'tokenLimitError'>,
) {
  return (received: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const formatted = recode(received, error, policy);
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && clientFacingCodes.has(code)) {
      // `http` is Apollo's status hint (graphql-ws would send it verbatim); stack traces never leave.
      const extensions = { ...formatted.extensions };
      delete extensions.http;
      delete extensions.stacktrace;
      return {
        ...formatted,
        message: production ? formatted.message.replace(suggestion, '') : formatted.message,
        extensions,
      };
    }
    const original = unwrapResolverError(error);
    if (isDatabaseUnavailable(original)) {
      // Not logged here: the operation's one log line, a warning, names the cause (see
      // noteUnavailableCause); an outage is not a bug, and one line per failing field would flood.
      return {
        message: 'The database is unavailable; retry the request shortly.',
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryable: true },
      };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error');
    return {
      message: production ? 'Internal server error.' : formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
