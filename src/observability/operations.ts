import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger';
import type { GavelMetrics } from './metrics';

/** The response header carrying the request id (also accepted from the client). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A client's request id is kept only when it is this short and plain (it goes into every log line). */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

/** The request id to use: the client's `x-request-id` when sane, else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && requestIdPattern.test(value) ? value : randomUUID();
}

/** Root fields whose successful calls are sampled in the request log (`LOG_TRACKING_SAMPLE_RATE`). */
const TRACKING_FIELDS = new Set(['trackImpression', 'trackImpressions', 'trackClick', 'trackClicks']);

/** One GraphQL operation on its way through a transport, filled in as it is identified. */
export class OperationTrace {
  private readonly startedAt = process.hrtime.bigint();
  /** The operation's name from the document (a GraphQL name), if it has one. */
  name: string | undefined;
  /** `query`, `mutation` or `subscription` once the document is parsed. */
  type: string | undefined;
  /** The document's operation passed parsing and validation. */
  resolved = false;
  /** Top-level fields selected (tracking mutations are sampled in the log). */
  rootFields: readonly string[] = [];
  /** The caller's role (`ADMIN`, `ANALYST`, `SELLER`, `ANONYMOUS`) once its key is checked. */
  role: string | undefined;
  /** Hashed client address and session id (never the raw values). */
  clientHash: string | undefined;
  sessionHash: string | undefined;
  /** The GraphQL outcome (`OK` or the first error's code), once the response is built. */
  code: string | undefined;
  /**
   * Why the database was unavailable (`MongoNetworkError: read ECONNRESET`), when that failed the
   * operation: its one log line (a warning) says it, without a stack trace.
   */
  cause: string | undefined;
  /** Set once recorded: a trace is counted and logged exactly once. */
  finished = false;

  constructor(
    readonly transport: 'http' | 'ws',
    readonly requestId: string,
  ) {}

  /** Milliseconds since the trace started. */
  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startedAt) / 1e6;
  }
}

/** What the transports need to count and log operations (built once per app). */
export interface Observability {
  readonly metrics: GavelMetrics;
  readonly recorder: OperationRecorder;
}

/** How the request log behaves. */
export interface OperationLogOptions {
  /** Share of successful tracking mutations that get a log line (0..1). */
  readonly trackingSampleRate: number;
  /** Key of the HMAC that pseudonymises client addresses and session ids in log lines. */
  readonly hashKey: string;
  /** Random source in [0, 1) for sampling (tests pass a fixed one). */
  readonly random?: () => number;
}

/**
 * Ends operations: counts each in the metrics and writes its request log line — one JSON line per
 * GraphQL operation on either transport, with request id, name, type, duration, outcome code,
 * role and pseudonymous client/session hashes, never an address, user or session id in clear.
 * Successful tracking mutations are sampled; failures are always logged.
 */
export class OperationRecorder {
  private readonly random: () => number;

  constructor(
    private readonly metrics: GavelMetrics,
    private readonly logger: Logger,
    private readonly options: OperationLogOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** Starts a trace for an operation arriving now. */
  start(transport: 'http' | 'ws', requestId: string): OperationTrace {
    return new OperationTrace(transport, requestId);
  }

  /** A short keyed hash of an identifier: correlates lines without revealing the value. */
  hash(value: string): string {
    return createHmac('sha256', this.options.hashKey).update(`log-id:${value}`).digest('base64url').slice(0, 16);
  }

  /**
   * Records the end of an operation (idempotent: later calls do nothing).
   *
   * @param code - `OK`, or the first error's `extensions.code`
   * @param status - the HTTP status, when the transport is HTTP
   */
  finish(trace: OperationTrace, code: string, status?: number): void {
    if (trace.finished) return;
    trace.finished = true;
    const durationMs = trace.elapsedMs();
    this.metrics.recordOperation({
      transport: trace.transport,
      type: trace.type ?? 'unknown',
      name: trace.name,
      resolved: trace.resolved,
      code,
      durationSeconds: durationMs / 1000,
    });
    const tracking =
      trace.type === 'mutation' &&
      trace.rootFields.length > 0 &&
      trace.rootFields.every((field) => TRACKING_FIELDS.has(field));
    const sampleRate = tracking && code === 'OK' ? this.options.trackingSampleRate : 1;
    if (sampleRate < 1 && this.random() >= sampleRate) return;
    const line = {
      reqId: trace.requestId,
      transport: trace.transport,
      // The document's name, not the bounded metrics label: the log may show every name.
      operation: trace.name ?? null,
      type: trace.type ?? null,
      durationMs: Math.round(durationMs * 100) / 100,
      code,
      ...(status !== undefined ? { status } : {}),
      ...(trace.role !== undefined ? { role: trace.role } : {}),
      ...(trace.clientHash !== undefined ? { client: trace.clientHash } : {}),
      ...(trace.sessionHash !== undefined ? { session: trace.sessionHash } : {}),
      ...(sampleRate < 1 ? { sampleRate } : {}),
      ...(trace.cause !== undefined ? { cause: trace.cause } : {}),
    };
    if (code === 'INTERNAL_SERVER_ERROR' || code === 'SERVICE_UNAVAILABLE') this.logger.warn(line, 'graphql operation');
    else this.logger.info(line, 'graphql operation');
  }
}
