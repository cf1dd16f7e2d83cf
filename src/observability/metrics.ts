import type { RetentionDataType } from '../retention/retention.repository';
import type { RetentionMetrics } from '../retention/retention.service';
import type { EngineHealth } from '../db/engines/supervisor';
import type { CatalogImportObserver, ImportLineStatus } from '../catalog/catalogImport.service';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode } from '../shared/errors';

/** What bounds the `operation` label (see config `metrics`). */
export interface MetricsOptions {
  /** Names that always get their own label value (`METRICS_OPERATION_NAMES`). */
  readonly operationNames: readonly string[];
  /** How many further distinct names get one, first come (`METRICS_MAX_OPERATION_NAMES`). */
  readonly maxOperationNames: number;
}

/** Live figures read at scrape time from the parts that own them (no copy kept in sync). */
export interface MetricSources {
  /** Events waiting for the tracking writer. */
  writerBacklog?(): number;
  /** Implicit impressions dropped since start because their queue was full. */
  implicitDropped?(): number;
  /** Implicit impressions that could not be stored since start (e.g. database outage). */
  implicitFailed?(): number;
  /** Open websocket connections. */
  wsConnections?(): number;
  /** Distinct subscriptions running, each shared by its identical subscribers (src/live/multiplexer.ts). */
  liveStreams?(): number;
  /** Seconds since the funnels' checkpoint on this instance's last round (how far behind they are). */
  funnelLagSeconds?(): number;
}

/** One finished GraphQL operation, as the metrics see it. */
export interface OperationSample {
  readonly transport: 'http' | 'ws';
  /** `query`, `mutation`, `subscription`, or `unknown` when no operation could be identified. */
  readonly type: string;
  /** The operation's own name (from the document), if any. */
  readonly name: string | undefined;
  /** Whether the document named an operation that passed parsing and validation. */
  readonly resolved: boolean;
  /** `OK` or the first error's `extensions.code`. */
  readonly code: string;
  readonly durationSeconds: number;
}

/** Operation label values that are not names. */
export const ANONYMOUS_OPERATION = 'anonymous';
export const OTHER_OPERATION = 'other';

/** Codes the policy refuses an operation with before execution (or a client hits a rate limit with). */
const LIMIT_CODES = new Set<string>([
  ErrorCode.QUERY_TOO_LARGE,
  ErrorCode.QUERY_TOO_DEEP,
  ErrorCode.TOO_MANY_ALIASES,
  ErrorCode.TOO_MANY_DIRECTIVES,
  ErrorCode.QUERY_TOO_COMPLEX,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.OPERATION_NOT_ALLOWED,
  ErrorCode.RATE_LIMITED,
]);

/**
 * Every code an operation can end with (the error formatter lets no other through); anything else
 * is labelled `OTHER`, so a bug can never grow the label set.
 */
const KNOWN_CODES = new Set<string>([
  'OK',
  'ABORTED',
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);

/** Driver command names worth their own label; the rest are `other`. */
const DB_COMMANDS = new Set([
  'find',
  'getMore',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'aggregate',
  'count',
  'distinct',
  'createIndexes',
  'listIndexes',
  'listCollections',
  'create',
  'drop',
  'killCursors',
  'ping',
  'hello',
  'endSessions',
]);

/** Largest operation name kept as a label value (GraphQL names are unbounded). */
const MAX_NAME_LENGTH = 64;

/**
 * Bounds the `operation` label: pinned names, then the first `max` distinct names seen, then
 * `other`. Only names of operations that passed validation enter the budget, so a document the
 * schema refuses cannot spend it.
 */
class OperationLabels {
  private readonly seen = new Set<string>();

  constructor(
    private readonly pinned: ReadonlySet<string>,
    private readonly max: number,
  ) {}

  label(name: string | undefined, resolved: boolean): string {
    if (name === undefined || name === '') return ANONYMOUS_OPERATION;
    if (name.length > MAX_NAME_LENGTH) return OTHER_OPERATION;
    if (this.pinned.has(name) || this.seen.has(name)) return name;
    if (!resolved || this.seen.size >= this.max) return OTHER_OPERATION;
    this.seen.add(name);
    return name;
  }
}

/**
 * Gavel's Prometheus metrics, in a registry of their own (not prom-client's global one: tests run
 * several apps in one process, and each app's figures must be its own). Services report through
 * the small `record…` methods or the observer objects their constructors take; figures that a
 * part already keeps (backlog, open sockets) are read at scrape time through {@link MetricSources}.
 * Other parts (e.g. an engine supervisor) register their own metrics in {@link registry}.
 */
export class GavelMetrics {
  readonly registry = new Registry();
  private readonly labels: OperationLabels;
  private sources: MetricSources = {};

  private readonly operations: Counter<'transport' | 'type' | 'operation' | 'code'>;
  private readonly operationSeconds: Histogram<'transport' | 'type' | 'operation'>;
  private readonly refused: Counter<'code'>;
  private readonly trackedEvents: Counter<'type' | 'outcome'>;
  private readonly flushEvents: Histogram;
  private readonly flushSeconds: Histogram<'result'>;
  private readonly writeTimeouts: Counter;
  private readonly backlogRefusals: Counter;
  private readonly recoveryRuns: Counter<'result'>;
  private readonly rebuiltBuckets: Counter;
  private readonly subscriptions: Gauge;
  private readonly pushes: Counter;
  private readonly liveExecutions: Counter;
  private readonly dbCommandSeconds: Histogram<'command' | 'result'>;

  constructor(options: MetricsOptions) {
    this.labels = new OperationLabels(new Set(options.operationNames), options.maxOperationNames);
    const registers = [this.registry];
    // Process metrics (CPU, memory, handles, GC) and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });

    this.operations = new Counter({
      name: 'gavel_graphql_operations_total',
      help: 'GraphQL operations by transport, type, operation name (bounded) and outcome code (OK or the first error code).',
      labelNames: ['transport', 'type', 'operation', 'code'],
      registers,
    });
    this.operationSeconds = new Histogram({
      name: 'gavel_graphql_operation_duration_seconds',
      help: 'GraphQL operation latency: HTTP request to response; websockets subscribe to result (subscriptions: until started).',
      labelNames: ['transport', 'type', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.refused = new Counter({
      name: 'gavel_graphql_refused_total',
      help: 'Operations refused by a limit (size, depth, aliases, directives, cost, body size, websocket queries, rate), by code.',
      labelNames: ['code'],
      registers,
    });
    this.trackedEvents = new Counter({
      name: 'gavel_tracking_events_total',
      help: 'Tracked events by type and outcome: impressions (explicit and implicit) and clicks, and conversions by kind (ITEM_VIEW, WATCH, BID, PURCHASE).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.flushEvents = new Histogram({
      name: 'gavel_tracking_flush_events',
      help: 'Events per tracking writer flush (group-commit batch size).',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    });
    this.flushSeconds = new Histogram({
      name: 'gavel_tracking_flush_duration_seconds',
      help: 'Tracking writer flush latency (journal, insert, rollup increments), by result.',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.writeTimeouts = new Counter({
      name: 'gavel_tracking_write_timeouts_total',
      help: 'Tracking writes not confirmed within TRACKING_WRITE_TIMEOUT_MS (answered SERVICE_UNAVAILABLE).',
      registers,
    });
    this.backlogRefusals = new Counter({
      name: 'gavel_tracking_backlog_refusals_total',
      help: 'Tracking writes refused at once because the backlog was full (TRACKING_MAX_BACKLOG).',
      registers,
    });
    const sources = () => this.sources;
    new Gauge({
      name: 'gavel_tracking_writer_backlog',
      help: 'Events waiting for the tracking writer.',
      registers,
      collect() {
        this.set(sources().writerBacklog?.() ?? 0);
      },
    });
    monotonicCounter(
      'gavel_tracking_implicit_dropped_total',
      'Implicit impressions dropped because their queue was full (TRACKING_IMPLICIT_QUEUE_SIZE).',
      registers,
      () => sources().implicitDropped?.() ?? 0,
    );
    monotonicCounter(
      'gavel_tracking_implicit_failed_total',
      'Implicit impressions that could not be stored (e.g. a database outage).',
      registers,
      () => sources().implicitFailed?.() ?? 0,
    );
    this.recoveryRuns = new Counter({
      name: 'gavel_rollup_recovery_runs_total',
      help: 'Maintenance runs of the rollup recovery: idle (nothing to rebuild), rebuilt, failed.',
      labelNames: ['result'],
      registers,
    });
    this.rebuiltBuckets = new Counter({
      name: 'gavel_rollup_recovery_buckets_total',
      help: 'Rollup (item, hour) buckets rebuilt from stored events by the recovery.',
      registers,
    });
    new Gauge({
      name: 'gavel_funnel_lag_seconds',
      help: 'How far behind the funnels are: seconds since the checkpoint of the last funnel build round this instance ran (FUNNEL_SETTLE_MS plus up to FUNNEL_REFRESH_MS when healthy; 0 before its first).',
      registers,
      collect() {
        this.set(sources().funnelLagSeconds?.() ?? 0);
      },
    });
    new Gauge({
      name: 'gavel_live_connections',
      help: 'Open websocket connections.',
      registers,
      collect() {
        this.set(sources().wsConnections?.() ?? 0);
      },
    });
    this.subscriptions = new Gauge({
      name: 'gavel_live_subscriptions',
      help: 'Running GraphQL subscriptions.',
      registers,
    });
    this.pushes = new Counter({
      name: 'gavel_live_pushes_total',
      help: 'Messages pushed to subscribers.',
      registers,
    });
    new Gauge({
      name: 'gavel_live_streams',
      help: 'Distinct subscriptions running (same document, variables, role and seller), each executed once per event for all its subscribers.',
      registers,
      collect() {
        this.set(sources().liveStreams?.() ?? 0);
      },
    });
    this.liveExecutions = new Counter({
      name: 'gavel_live_executions_total',
      help: "Executions of a subscription's selection set: one per event per distinct subscription, however many subscribers share it.",
      registers,
    });
    this.dbCommandSeconds = new Histogram({
      name: 'gavel_db_command_duration_seconds',
      help: 'Database command round trips (driver command monitoring), by command and result.',
      labelNames: ['command', 'result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /**
   * Exposes a supervised embedded engine's state: `gavel_engine_up` (1/0) and
   * `gavel_engine_restarts_total` (restarts since Gavel started), both read at scrape time.
   */
  observeEngine(health: EngineHealth): void {
    new Gauge({
      name: 'gavel_engine_up',
      help: 'Whether the supervised embedded database engine is running (1) or being restarted (0).',
      registers: [this.registry],
      collect() {
        this.set(health.up ? 1 : 0);
      },
    });
    new Counter({
      name: 'gavel_engine_restarts_total',
      help: 'Restarts of the supervised embedded database engine since Gavel started.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(health.restarts);
      },
    });
  }

  /**
   * Counters the retention job reports to: documents purged and archive writes that failed (then
   * nothing was deleted), by data type (a fixed set).
   */
  readonly retention: RetentionMetrics = (() => {
    const purged = new Counter({
      name: 'gavel_retention_purged_total',
      help: 'Documents deleted by the retention purge, by data type.',
      labelNames: ['type'],
      registers: [this.registry],
    });
    const archiveFailures = new Counter({
      name: 'gavel_retention_archive_failures_total',
      help: 'Archive writes that failed (the batch was kept, not deleted), by data type.',
      labelNames: ['type'],
      registers: [this.registry],
    });
    return {
      purged: (type: RetentionDataType, count: number) => purged.inc({ type }, count),
      archiveFailed: (type: RetentionDataType) => archiveFailures.inc({ type }),
    };
  })();

  /**
   * The catalog import's progress: lines answered by status (`gavel_catalog_import_lines_total`)
   * and the imports running now (`gavel_catalog_imports_running`).
   */
  readonly catalogImport: CatalogImportObserver = (() => {
    const lines = new Counter({
      name: 'gavel_catalog_import_lines_total',
      help: 'Lines of catalog imports answered, by status (CREATED, EXISTING, INVALID).',
      labelNames: ['status'],
      registers: [this.registry],
    });
    const running = new Gauge({
      name: 'gavel_catalog_imports_running',
      help: 'Catalog imports in progress on this instance.',
      registers: [this.registry],
    });
    return {
      started: () => running.inc(),
      lines: (status: ImportLineStatus, count: number) => lines.inc({ status }, count),
      ended: () => running.dec(),
    };
  })();

  /** Adds scrape-time sources (each part registers what it owns). */
  observe(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The `operation` label value a name gets (bounded; see {@link OperationLabels}). */
  operationLabel(name: string | undefined, resolved: boolean): string {
    return this.labels.label(name, resolved);
  }

  /** Counts one finished GraphQL operation and its latency. */
  recordOperation(sample: OperationSample): void {
    const type = OPERATION_TYPES.has(sample.type) ? sample.type : 'unknown';
    const operation = this.operationLabel(sample.name, sample.resolved);
    const code = KNOWN_CODES.has(sample.code) ? sample.code : 'OTHER';
    this.operations.inc({ transport: sample.transport, type, operation, code });
    this.operationSeconds.observe({ transport: sample.transport, type, operation }, sample.durationSeconds);
    if (LIMIT_CODES.has(code)) this.refused.inc({ code });
  }

  /** Counts the outcomes of one tracking call (labels: the model's enums, so bounded). */
  recordTracked(type: string, outcomes: readonly string[]): void {
    const counts = new Map<string, number>();
    for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    for (const [outcome, count] of counts) this.trackedEvents.inc({ type, outcome }, count);
  }

  /** One tracking writer flush: its size, how long it took, whether it stored the batch. */
  recordFlush(events: number, durationSeconds: number, failed: boolean): void {
    this.flushEvents.observe(events);
    this.flushSeconds.observe({ result: failed ? 'failed' : 'ok' }, durationSeconds);
  }

  /** A tracking write that was not confirmed in time. */
  recordWriteTimeout(): void {
    this.writeTimeouts.inc();
  }

  /** A tracking write refused because the backlog was full. */
  recordBacklogRefusal(): void {
    this.backlogRefusals.inc();
  }

  /** One maintenance run of the rollup recovery. */
  recordRecoveryRun(rebuiltBuckets: number, failed: boolean): void {
    this.recoveryRuns.inc({ result: failed ? 'failed' : rebuiltBuckets > 0 ? 'rebuilt' : 'idle' });
    if (rebuiltBuckets > 0) this.rebuiltBuckets.inc(rebuiltBuckets);
  }

  /** A subscription started (+1) or ended (-1). */
  recordSubscription(delta: 1 | -1): void {
    this.subscriptions.inc(delta);
  }

  /** A message pushed to a subscriber. */
  recordPush(): void {
    this.pushes.inc();
  }

  /** One execution of a shared subscription's selection set for an event. */
  recordLiveExecution(): void {
    this.liveExecutions.inc();
  }

  /** One database command round trip (from the driver's `commandSucceeded`/`commandFailed`). */
  recordDbCommand(commandName: string, durationMs: number, failed: boolean): void {
    this.dbCommandSeconds.observe(
      { command: DB_COMMANDS.has(commandName) ? commandName : 'other', result: failed ? 'failed' : 'ok' },
      durationMs / 1000,
    );
  }

  /** The scrape: Prometheus text exposition format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A counter that follows a running total some part keeps (read at scrape time). */
function monotonicCounter(name: string, help: string, registers: Registry[], read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const value = read();
      if (value > last) this.inc(value - last);
      last = value;
    },
  });
}

/** Constant-time comparison of a presented token with the configured one. */
function tokenMatches(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * The `/metrics` endpoint. With a token configured, only `Authorization: Bearer <token>` gets the
 * figures (else 401 with a `WWW-Authenticate` challenge), so the endpoint may share the public port.
 */
export function metricsEndpoint(metrics: GavelMetrics, token: string | undefined): RequestHandler {
  return async (req, res) => {
    if (token !== undefined) {
      const match = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '');
      if (!match || !tokenMatches(match[1]!, token)) {
        res
          .status(401)
          .set('www-authenticate', 'Bearer realm="metrics"')
          .type('text/plain')
          .send('Send Authorization: Bearer <METRICS_TOKEN>.\n');
        return;
      }
    }
    res.set('content-type', metrics.registry.contentType).send(await metrics.scrape());
  };
}
