/**
 * Gavel's configuration: every knob is an environment variable, parsed and validated once at
 * startup into a typed, frozen object. A bad value stops startup with a message naming the
 * variable and what it expects, so a typo never turns into a silently wrong default.
 */

import { hostname } from 'node:os';
import path from 'node:path';
import { repoRoot } from './shared/repoRoot';
import { createHmac } from 'node:crypto';

/** Which MongoDB engine backs the server. See docs/engines.md. */
export type MongoEngineChoice = 'auto' | 'memory-server' | 'java' | 'uri';

/** `MONGODB_SHARDING`: whether Gavel shards its large collections (see docs/scaling.md). */
export type ShardingMode = 'on' | 'off' | 'auto';

/** pino log levels accepted by `LOG_LEVEL`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated configuration of one Gavel process. */
export interface GavelConfig {
  /** `NODE_ENV`; `production` hides internal error details from clients. */
  readonly nodeEnv: 'development' | 'production' | 'test';
  /** `HOST`: interface the HTTP server binds. */
  readonly host: string;
  /** `PORT`: HTTP and websocket port; 0 picks a free one (tests). */
  readonly port: number;
  /** `LOG_LEVEL` */
  readonly logLevel: LogLevel;
  /** `MONGODB_URI`: an external MongoDB; when set, no embedded engine is started. */
  readonly mongodbUri: string | undefined;
  /** `MONGODB_DB`: database name used on the server. */
  readonly mongodbDb: string;
  /** `GAVEL_MONGO_ENGINE` */
  readonly mongoEngine: MongoEngineChoice;
  /**
   * `MONGODB_SHARDING`: `on` shards the tracking events and item-day rollups on their item
   * (`shardCollection`, see docs/scaling.md) and refuses to start where the engine cannot; `auto`
   * does so when the server is a shard router (`mongos`, or a gateway that says it is one); `off`
   * (the default) leaves collections as they are. Unique indexes are checked against the shard
   * key at every start, whatever this says.
   */
  readonly mongodbSharding: ShardingMode;
  /** `GAVEL_DATA_DIR`: where an embedded engine keeps its files between restarts. */
  readonly dataDir: string;
  /** `WEB_ASSETS_DIR`: the built browser assets (tracker, /demo, /dashboard); `npm run build` writes them. */
  readonly webAssetsDir: string;
  /** `GAVEL_SEED_DEMO`: fill an empty catalog with the deterministic demo data at startup. */
  readonly seedDemo: boolean;
  /** `GAVEL_DEMO_ITEMS`: how many demo items the seed creates. */
  readonly demoItemCount: number;
  /** `SHUTDOWN_TIMEOUT_MS`: upper bound on a graceful shutdown before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /**
   * `SHUTDOWN_DRAIN_MS`: on SIGTERM, `/readyz` answers 503 for this long while requests are still
   * served, so a balancer that polls readiness stops routing here before the listener closes.
   */
  readonly shutdownDrainMs: number;
  /**
   * `GAVEL_INSTANCE_ID` (default host:pid): names this process in `x-gavel-instance` and holds the purge lease, so it
   * must be unique among running instances and stable across restarts of one (a restart takes its stale lease over).
   */
  readonly instanceId: string;
  /**
   * `EXPOSE_INSTANCE_HEADER`: send `x-gavel-instance` on every response and websocket upgrade. Off by
   * default: it tells any client the host name and process id behind the balancer.
   */
  readonly exposeInstanceHeader: boolean;
  /**
   * `CORS_ORIGINS` (deprecated alias `CORS_ORIGIN`): browser origins allowed cross-origin on HTTP
   * and on the websocket upgrade; `['*']` for any, empty for none (the production default).
   */
  readonly corsOrigins: readonly string[];
  /** `MAX_BODY_BYTES`: largest accepted HTTP request body. */
  readonly maxBodyBytes: number;
  /**
   * `HTTP_REQUESTS_PER_MINUTE`: GraphQL HTTP requests per client address per minute, checked before
   * the body is read (shared through Redis when `REDIS_URL` is set); 0 = no limit.
   */
  readonly httpRequestsPerMinute: number;
  /**
   * `SUGGESTIONS_PER_MINUTE`: `searchSuggestions` calls per client address per minute, on HTTP and
   * websockets alike (shared through Redis when `REDIS_URL` is set); 0 = no limit.
   */
  readonly suggestionsPerMinute: number;
  /** Past successful queries offered as suggestions; see docs/search.md. */
  readonly pastQueries: {
    /**
     * `SUGGESTIONS_QUERY_MIN_SEARCHERS`: searchers (distinct sessions from as many distinct client
     * addresses a day) that must have searched a query and clicked a
     * result before it is suggested to anyone (typed text can name a person; a query many buyers
     * typed names none).
     */
    readonly minSearchers: number;
    /** `SUGGESTIONS_QUERY_REFRESH_MS`: how often the past successful queries are rebuilt from the recorded searches. */
    readonly refreshMs: number;
  };
  /** Search events (search analytics); see docs/search.md. */
  readonly searchEvents: {
    /** `SEARCH_EVENTS_SAMPLE_RATE`: the share (0..1) of searches with query words that are recorded. */
    readonly sampleRate: number;
    /** `SEARCH_EVENTS_FLUSH_MS`: how often recorded searches and their counters are written. */
    readonly flushIntervalMs: number;
    /** `SEARCH_EVENTS_MAX_PENDING`: searches waiting to be written at most; beyond, new ones are not recorded. */
    readonly maxPending: number;
    /**
     * `SEARCH_ANALYTICS_REFRESH_MS`: how old today's leading queries may be before a
     * `searchAnalytics` read lists them again from today's rows (earlier days are listed once).
     */
    readonly listsMaxAgeMs: number;
  };
  /** `TRUST_PROXY`: hops of reverse proxies whose X-Forwarded-For is trusted (0 = none). */
  readonly trustProxy: number;
  /**
   * `IPV6_LIMIT_PREFIX`: per-address limits count an IPv6 client by this many leading bits of its
   * address (one /64 is one subscriber's network); IPv4 clients by their whole address.
   */
  readonly ipv6LimitPrefix: number;
  /**
   * `CURSOR_SECRET`: encrypts and authenticates pagination cursors, so they reveal nothing and
   * forged ones are rejected. Set the same value on every instance behind a load balancer (cursors
   * cross instances).
   */
  readonly cursorSecret: string;
  /**
   * `CURSOR_SECRET_PREVIOUS`: the secret before a rotation; cursors it encrypted are still accepted
   * (new ones use `CURSOR_SECRET`), so clients paging during the rotation are not cut off.
   */
  readonly cursorSecretPrevious: string | undefined;
  /**
   * `AUTH_TOKENS`: comma-separated legacy tokens (16+ characters each), each accepted as an ADMIN
   * key besides the API keys stored in the database (`npm run keys`). Kept for development and
   * migration; prefer database keys, which carry roles and can be revoked.
   */
  readonly authTokens: readonly string[];
  /**
   * `AUTH_MODE`: `keys` (keys checked; anonymous callers get public operations only) or `open`
   * (every caller is ADMIN; development only, refused in production). Default: `keys` in
   * production or when `AUTH_TOKENS` is set, `open` otherwise.
   */
  readonly authMode: 'keys' | 'open';
  /** `AUTH_KEY_CACHE_TTL_MS`: how long a key lookup is reused; revocation takes effect within it. */
  readonly authKeyCacheTtlMs: number;
  /** `RETENTION_DAYS`: how long counted raw tracking events are kept; older ones are purged (archived first with `ARCHIVE_DIR`). */
  readonly retentionDays: number;
  /** Retention of the other kinds of tracking data, and archival before deletion (see docs/privacy.md). */
  readonly retention: {
    /** `RETENTION_AUDIT_DAYS`: raw audit rows (rejected, rate-limited, flagged events) and aggregated audit counts. */
    readonly auditDays: number;
    /** `RETENTION_ROLLUP_DAYS`: item-day rollups and their unique-visitor sketches. */
    readonly rollupDays: number;
    /** `RETENTION_JOURNAL_DAYS`: rollup journal entries still open this long are dropped (recovered ones go at once). */
    readonly journalDays: number;
    /** `PURGE_BATCH_SIZE`: documents one purge step reads, archives and deletes at most. */
    readonly purgeBatchSize: number;
    /** `ARCHIVE_DIR`: expired raw events are archived here before deletion; unset = deleted without archive. */
    readonly archiveDir: string | undefined;
    /** `PRIVACY_SECRET`: keys the daily HMAC stored instead of client addresses, and the pseudonyms of user ids in logs and erasure records (required in production; elsewhere derived from `SESSION_SECRET` by default). */
    readonly privacySecret: string;
  };
  /** `ANALYTICS_MAX_RANGE_DAYS`: longest time range one analytics query may cover. */
  readonly analyticsMaxRangeDays: number;
  /** `ANALYTICS_CTR_MIN_IMPRESSIONS`: items below this are left out of CTR rankings. */
  readonly ctrMinImpressions: number;
  /** `POPULARITY_WINDOW_HOURS`: search's POPULARITY order counts impressions over this window. */
  readonly popularityWindowHours: number;
  /** `POPULARITY_REFRESH_MS`: how often item popularity is recomputed from the rollups. */
  readonly popularityRefreshMs: number;
  /** Tracking rules and group commit (`TRACKING_*`). */
  readonly tracking: {
    /** `TRACKING_IMPRESSION_COOLDOWN_MS`: one counted impression per (session, item) per window. */
    readonly impressionCooldownMs: number;
    /** `TRACKING_CLICK_COOLDOWN_MS`: one counted click per (session, item) per window. */
    readonly clickCooldownMs: number;
    /** `TRACKING_CLICK_IMPRESSION_WINDOW_MS`: a click needs an impression this recent. */
    readonly clickImpressionWindowMs: number;
    /** `TRACKING_CLICKS_PER_IMPRESSION`: counted clicks one counted impression supports. */
    readonly clicksPerImpression: number;
    /** `SESSION_SECRET`: signs tracking sessions issued by `startSession` (required in production). */
    readonly sessionSecret: string;
    /** `TRACKING_REQUIRE_SIGNED_SESSIONS`: events whose session `startSession` did not issue are INVALID. */
    readonly requireSignedSessions: boolean;
    /** `TRACKING_SESSION_TTL_MS`: an issued session is valid this long. */
    readonly sessionTtlMs: number;
    /** `TRACKING_NEW_SESSIONS_PER_MINUTE`: `startSession` calls per client address per minute. */
    readonly newSessionsPerMinute: number;
    /** `TRACKING_AUDIT_ROWS_PER_MINUTE`: refused events stored row by row per address per minute; the rest aggregated. */
    readonly auditRowsPerMinute: number;
    /** `TRACKING_SESSION_EVENTS_PER_MINUTE`: events per session per minute (shared through Redis when set). */
    readonly sessionEventsPerMinute: number;
    /** `TRACKING_IP_EVENTS_PER_MINUTE`: events per client address per minute (shared through Redis when set). */
    readonly ipEventsPerMinute: number;
    /** `TRACKING_MAX_CLOCK_SKEW_MS`: client timestamps further in the future are INVALID. */
    readonly maxClockSkewMs: number;
    /** `TRACKING_RETRY_WINDOW_MS`: client timestamps this recent pick the dedup window (retries are DUPLICATE). */
    readonly retryWindowMs: number;
    /** `TRACKING_MAX_BATCH`: most events per mutation. */
    readonly maxBatch: number;
    /** `TRACKING_FLUSH_INTERVAL_MS`: group-commit wait. */
    readonly flushIntervalMs: number;
    /** `TRACKING_FLUSH_MAX_EVENTS`: group-commit batch size. */
    readonly flushMaxEvents: number;
    /** `TRACKING_FLUSH_CONCURRENCY`: group-commit flushes in flight at once. */
    readonly flushConcurrency: number;
    /** `TRACKING_WRITE_TIMEOUT_MS`: a mutation whose events are not stored by then fails SERVICE_UNAVAILABLE. */
    readonly writeTimeoutMs: number;
    /** `TRACKING_MAX_BACKLOG`: events waiting for the writer at most; beyond, SERVICE_UNAVAILABLE at once. */
    readonly maxBacklog: number;
    /**
     * `TRACKING_ROLLUP_RECOVERY_GRACE_MS`: recovery rebuilds an hour's counters this long after it
     * closed; flushes stop incrementing an hour half this long after it closed. At least a minute, so
     * that a slow increment or a small clock skew between instances cannot land after a rebuild.
     */
    readonly rollupRecoveryGraceMs: number;
    /**
     * `TRACKING_SKETCH_INTERVAL_MS`: least time between two writes of the counted events' unique
     * sketches per instance; under a steady load uniqueSessions and uniqueUsers lag by up to this
     * much. 0 = every flush writes its own before it answers.
     */
    readonly sketchIntervalMs: number;
    /** `TRACKING_IMPLICIT_QUEUE_SIZE`: implicit impressions waiting at most; beyond, dropped. */
    readonly implicitQueueSize: number;
    /** `MAINTENANCE_INTERVAL_MS`: rollup recovery and retention purge period. */
    readonly maintenanceIntervalMs: number;
  };
  /** Conversions reported by the marketplace backend (`CONVERSION_*`). */
  readonly conversions: {
    /** `CONVERSION_ATTRIBUTION_WINDOW_DAYS`: how far before a conversion its touches are looked for. */
    readonly attributionWindowDays: number;
    /** `CONVERSION_MAX_DELAY_DAYS`: a conversion that happened longer ago is INVALID. */
    readonly maxDelayDays: number;
  };
  /** Funnels (`FUNNEL_*`). */
  readonly funnels: {
    /** `FUNNEL_REFRESH_MS`: how often the funnels take in new events. */
    readonly refreshMs: number;
    /** `FUNNEL_SETTLE_MS`: events received this recently wait for the next round (they may still be being stored). */
    readonly settleMs: number;
  };
  /** Live subscriptions (`LIVE_*`, `REDIS_URL`, `WS_KEEPALIVE_MS`). */
  readonly live: {
    /** `REDIS_URL`: fan-out between instances; unset = in-process (single instance). */
    readonly redisUrl: string | undefined;
    /** `LIVE_INTERVAL_MS`: coalescing interval. */
    readonly intervalMs: number;
    /** `LIVE_MAX_ITEMS_PER_SUBSCRIPTION` */
    readonly maxItemsPerSubscription: number;
    /** `LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION` */
    readonly maxSubscriptionsPerConnection: number;
    /** `LIVE_MAX_OPEN_COST_PER_KEY`: cost points of the subscriptions one API key may hold open at once. */
    readonly maxOpenCostPerKey: number;
    /** `LIVE_MAX_OPEN_COST_PER_ADDRESS`: the same per client address (`addressLimitKey`). */
    readonly maxOpenCostPerAddress: number;
    /** `WS_KEEPALIVE_MS`: ping period; a peer that misses a pong is dropped. */
    readonly keepAliveMs: number;
  };
  /** `GRAPHQL_INTROSPECTION`: allow schema introspection (defaults to on outside production). */
  readonly introspection: boolean;
  /** Shape and cost limits every operation passes before execution, on HTTP and websockets alike. */
  readonly limits: {
    /** `GRAPHQL_MAX_COST`: most cost points per operation of an anonymous caller (see docs/security.md "Query limits"). */
    readonly maxCost: number;
    /**
     * `GRAPHQL_MAX_COST_<ROLE>`: most cost points per operation of a caller with a key of that role;
     * never below `maxCost` unless set explicitly.
     */
    readonly maxCostByRole: Readonly<Record<'ADMIN' | 'ANALYST' | 'SELLER' | 'INGEST', number>>;
    /** `GRAPHQL_MAX_DEPTH`: deepest field nesting. */
    readonly maxDepth: number;
    /** `GRAPHQL_MAX_ALIASES`: most aliased fields per operation. */
    readonly maxAliases: number;
    /** `GRAPHQL_MAX_DIRECTIVES`: most directives per operation. */
    readonly maxDirectives: number;
    /** `GRAPHQL_MAX_TOKENS`: most lexical tokens per document. */
    readonly maxTokens: number;
    /** `GRAPHQL_MAX_QUERY_CHARS`: longest document text, refused before it is lexed. */
    readonly maxQueryChars: number;
    /** `GRAPHQL_COST_TOTAL_COUNT`: cost of `totalCount`. */
    readonly totalCountCost: number;
    /** `GRAPHQL_COST_FACETS`: cost of `facets`. */
    readonly facetsCost: number;
    /** `GRAPHQL_COST_ANALYTICS_POINT`: cost of each analytics time-series point. */
    readonly analyticsPointCost: number;
    /** `ANALYTICS_MAX_POINTS`: most points one `timeSeries` field may return (range × granularity). */
    readonly analyticsMaxPoints: number;
  };
  /**
   * `WS_ALLOW_QUERIES`: also run queries and mutations over websockets. Off by default: websockets
   * carry subscriptions only, so one-shot operations keep HTTP's caching, CSRF and body limits.
   */
  readonly wsAllowQueries: boolean;
  /** Websocket abuse caps, enforced per instance (docs/security.md "Websocket caps"). */
  readonly ws: {
    /** `WS_MAX_CONNECTIONS_PER_ADDRESS`: open websockets per client address; more are refused at upgrade (HTTP 429). */
    readonly maxConnectionsPerAddress: number;
    /** `WS_MAX_MESSAGES_PER_SECOND`: messages one websocket may send per second; more close it (1008). */
    readonly maxMessagesPerSecond: number;
  };
  /** Prometheus metrics at `/metrics` (`METRICS_*`; see docs/operations.md "Metrics"). */
  readonly metrics: {
    /**
     * `METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>` (else 401).
     * In production without it (and without `METRICS_PORT`), the public port answers 404 for `/metrics`.
     */
    readonly token: string | undefined;
    /**
     * `METRICS_PORT`: serve `/metrics` on a listener of its own (0 picks a free one) instead of the
     * public port, which then answers 404 for it; unset = on the public port.
     */
    readonly port: number | undefined;
    /** `METRICS_HOST`: interface the `METRICS_PORT` listener binds (default loopback). */
    readonly host: string;
    /** `METRICS_OPERATION_NAMES`: operation names always given their own label value (comma separated). */
    readonly operationNames: readonly string[];
    /** `METRICS_MAX_OPERATION_NAMES`: further distinct names labelled as first seen; the rest are `other`. */
    readonly maxOperationNames: number;
    /** `METRICS_DB_COMMANDS`: time every database command through the driver's command monitoring (costly; off by default). */
    readonly dbCommands: boolean;
  };
  /**
   * `LOG_TRACKING_SAMPLE_RATE`: share (0..1) of successful tracking mutations given a request log
   * line; failures are always logged. Metrics count every operation whatever the rate.
   */
  readonly logTrackingSampleRate: number;
}

/** Thrown when an environment variable holds a value Gavel cannot use. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    received: string,
  ) {
    super(`Invalid ${variable}=${JSON.stringify(received)}: expected ${expected}.`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `one of ${allowed.join(', ')}`, value);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, value);
  }
  return parsed;
}

function fraction(env: Env, name: string, fallback: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || parsed > 1) throw new ConfigError(name, 'a number from 0 to 1', value);
  return parsed;
}

/** GraphQL operation names (`METRICS_OPERATION_NAMES`): each must be a GraphQL name. */
function operationNames(env: Env): readonly string[] {
  const names = (read(env, 'METRICS_OPERATION_NAMES') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const bad = names.find((name) => !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name));
  if (bad !== undefined)
    throw new ConfigError(
      'METRICS_OPERATION_NAMES',
      'comma-separated GraphQL operation names (up to 64 characters)',
      bad,
    );
  return Object.freeze(names);
}

function metricsTokenOf(env: Env): string | undefined {
  const value = read(env, 'METRICS_TOKEN');
  if (value !== undefined && (value.length < 16 || /\s/.test(value)))
    throw new ConfigError('METRICS_TOKEN', 'a token of at least 16 characters, no spaces', `${value.slice(0, 4)}…`);
  return value;
}

/** `METRICS_PORT`: unset, 0 (a free port) or a port other than `PORT`. */
function metricsPort(env: Env, port: number): number | undefined {
  if (read(env, 'METRICS_PORT') === undefined) return undefined;
  const value = integer(env, 'METRICS_PORT', 0, 0, 65535);
  if (value !== 0 && value === port)
    throw new ConfigError('METRICS_PORT', `a port other than PORT (${port})`, String(value));
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
  throw new ConfigError(name, 'true or false', value);
}

function mongoUri(env: Env): string | undefined {
  const value = read(env, 'MONGODB_URI');
  if (value !== undefined && !/^mongodb(\+srv)?:\/\/.+/.test(value)) {
    throw new ConfigError('MONGODB_URI', 'a mongodb:// or mongodb+srv:// connection string', value);
  }
  return value;
}

/** Development default; production must set its own (anyone can read this one). */
const DEVELOPMENT_CURSOR_SECRET = 'gavel-development-cursor-secret';

/** Development default of `SESSION_SECRET`; production must set its own. */
const DEVELOPMENT_SESSION_SECRET = 'gavel-development-session-secret';

/** `PRIVACY_SECRET` as derived from a session secret when unset (outside production). */
function derivedPrivacySecret(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('gavel-privacy-secret').digest('base64url');
}

/** Secrets anyone can read in this file: never accepted in production, under any name. */
const PUBLIC_SECRETS: ReadonlySet<string> = new Set([
  DEVELOPMENT_CURSOR_SECRET,
  DEVELOPMENT_SESSION_SECRET,
  derivedPrivacySecret(DEVELOPMENT_SESSION_SECRET),
]);

/** Shortest secret accepted in production, in bytes: the size of the keys derived from it. */
const PRODUCTION_SECRET_BYTES = 32;

/** How to make a production secret, for the messages that ask for one. */
const SECRET_HINT = `a random string of at least ${PRODUCTION_SECRET_BYTES} bytes in production (openssl rand -hex 32)`;

/** Says what was wrong with a secret without printing it. */
function hidden(value: string): string {
  return `<${Buffer.byteLength(value)} bytes, not shown>`;
}

/**
 * A secret when set: at least 16 characters; in production at least 32 bytes and never one of the
 * public development values.
 */
function optionalSecret(env: Env, name: string, nodeEnv: GavelConfig['nodeEnv']): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  if (nodeEnv === 'production') {
    if (PUBLIC_SECRETS.has(value))
      throw new ConfigError(name, `${SECRET_HINT}, not the public development default`, value);
    if (Buffer.byteLength(value) < PRODUCTION_SECRET_BYTES) throw new ConfigError(name, SECRET_HINT, hidden(value));
  }
  if (value.length < 16) throw new ConfigError(name, 'at least 16 characters', hidden(value));
  return value;
}

/** A secret (see {@link optionalSecret}): required in production, `developmentDefault` elsewhere. */
function secret(env: Env, name: string, nodeEnv: GavelConfig['nodeEnv'], developmentDefault: string): string {
  const value = optionalSecret(env, name, nodeEnv);
  if (value !== undefined) return value;
  if (nodeEnv === 'production') throw new ConfigError(name, SECRET_HINT, '');
  return developmentDefault;
}

/** The secrets (and the metrics token), each read and checked once. */
interface Secrets {
  readonly cursor: string;
  readonly cursorPrevious: string | undefined;
  readonly session: string;
  readonly privacy: string;
  readonly metricsToken: string | undefined;
}

/**
 * Reads the secrets. In production each must be set explicitly (`PRIVACY_SECRET` too: a key
 * derived from `SESSION_SECRET` would fall with it) and differ from the others, so that one
 * leaked value (a metrics token in a scrape config, say) exposes one purpose only.
 */
function secrets(env: Env, nodeEnv: GavelConfig['nodeEnv']): Secrets {
  const cursor = secret(env, 'CURSOR_SECRET', nodeEnv, DEVELOPMENT_CURSOR_SECRET);
  const cursorPrevious = optionalSecret(env, 'CURSOR_SECRET_PREVIOUS', nodeEnv);
  const session = secret(env, 'SESSION_SECRET', nodeEnv, DEVELOPMENT_SESSION_SECRET);
  const privacy = secret(env, 'PRIVACY_SECRET', nodeEnv, derivedPrivacySecret(session));
  const metricsToken = metricsTokenOf(env);
  if (nodeEnv === 'production') {
    const named: Array<[string, string | undefined]> = [
      ['CURSOR_SECRET', cursor],
      ['CURSOR_SECRET_PREVIOUS', cursorPrevious],
      ['SESSION_SECRET', session],
      ['PRIVACY_SECRET', privacy],
      ['METRICS_TOKEN', metricsToken],
    ];
    for (const [index, [name, value]] of named.entries()) {
      const same = named.slice(0, index).find(([, earlier]) => value !== undefined && earlier === value);
      if (same)
        throw new ConfigError(name, `a value of its own in production, not the value of ${same[0]}`, hidden(value!));
    }
  }
  return { cursor, cursorPrevious, session, privacy, metricsToken };
}

/** Goes out in a response header: a short token, never free text. */
function instanceId(env: Env): string {
  const value = read(env, 'GAVEL_INSTANCE_ID') ?? `${hostname()}:${process.pid}`;
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(value))
    throw new ConfigError('GAVEL_INSTANCE_ID', 'up to 100 letters, digits, _ . : or -', value);
  return value;
}

function redisUrl(env: Env): string | undefined {
  const value = read(env, 'REDIS_URL');
  if (value !== undefined && !/^rediss?:\/\/.+/.test(value))
    throw new ConfigError('REDIS_URL', 'a redis:// or rediss:// URL', value);
  return value;
}

function authTokens(env: Env): readonly string[] {
  const tokens = (read(env, 'AUTH_TOKENS') ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
  const weak = tokens.find((token) => token.length < 16 || /\s/.test(token));
  if (weak !== undefined)
    throw new ConfigError(
      'AUTH_TOKENS',
      'comma-separated tokens of at least 16 characters, no spaces',
      `${weak.slice(0, 4)}…`,
    );
  return Object.freeze(tokens);
}

function authMode(env: Env, nodeEnv: string): 'keys' | 'open' {
  // Open by default only where it always was (development without AUTH_TOKENS); never in production.
  const fallback = nodeEnv === 'production' || read(env, 'AUTH_TOKENS') ? 'keys' : 'open';
  const mode = oneOf<'keys' | 'open'>(env, 'AUTH_MODE', ['keys', 'open'], fallback);
  if (mode === 'open' && nodeEnv === 'production')
    throw new ConfigError('AUTH_MODE', '`keys` in production (open mode makes every caller ADMIN)', mode);
  return mode;
}

/**
 * `CORS_ORIGINS` (or the deprecated `CORS_ORIGIN`): `*` or comma-separated origins
 * (`scheme://host[:port]`, as browsers send them). Unset: `*` in development and tests, none in
 * production, so a public deployment never grants every website its visitors' access by default.
 */
function corsOrigins(env: Env, nodeEnv: GavelConfig['nodeEnv']): readonly string[] {
  const name = read(env, 'CORS_ORIGINS') !== undefined ? 'CORS_ORIGINS' : 'CORS_ORIGIN';
  const value = read(env, name);
  if (value === undefined) return Object.freeze(nodeEnv === 'production' ? [] : ['*']);
  const origins = value
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.includes('*')) return Object.freeze(['*']);
  const invalid = origins.find((origin) => {
    try {
      return new URL(origin).origin !== origin;
    } catch {
      return true;
    }
  });
  if (invalid !== undefined)
    throw new ConfigError(name, '* or comma-separated origins such as https://app.example.com (no path)', invalid);
  return Object.freeze(origins);
}

/**
 * Parses and validates the environment into a {@link GavelConfig}.
 *
 * @param env - the variables to read; defaults to `process.env`
 * @throws {@link ConfigError} naming the first variable with an unusable value
 */
export function loadConfig(env: Env = process.env): GavelConfig {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const mongodbUri = mongoUri(env);
  const mongoEngine = oneOf<MongoEngineChoice>(
    env,
    'GAVEL_MONGO_ENGINE',
    ['auto', 'memory-server', 'java', 'uri'],
    mongodbUri ? 'uri' : 'auto',
  );
  if (mongoEngine === 'uri' && !mongodbUri) {
    throw new ConfigError('MONGODB_URI', 'a connection string when GAVEL_MONGO_ENGINE=uri', '');
  }
  const mongodbDb = read(env, 'MONGODB_DB') ?? 'gavel';
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongodbDb)) {
    throw new ConfigError('MONGODB_DB', 'a database name of letters, digits, _ or - (max 63)', mongodbDb);
  }
  const keys = secrets(env, nodeEnv);
  const port = integer(env, 'PORT', 4000, 0, 65535);
  const maxCost = integer(env, 'GRAPHQL_MAX_COST', 5_000, 1, 100_000_000);
  return Object.freeze({
    nodeEnv,
    host: read(env, 'HOST') ?? '0.0.0.0',
    port,
    logLevel: oneOf<LogLevel>(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      nodeEnv === 'test' ? 'silent' : 'info',
    ),
    mongodbUri,
    mongodbDb,
    mongoEngine,
    mongodbSharding: oneOf<ShardingMode>(env, 'MONGODB_SHARDING', ['on', 'off', 'auto'], 'off'),
    dataDir: read(env, 'GAVEL_DATA_DIR') ?? './data',
    webAssetsDir: read(env, 'WEB_ASSETS_DIR') ?? path.join(repoRoot(), 'dist', 'public'),
    // Demo data is for trying Gavel out: never by default in production or tests.
    seedDemo: boolean(env, 'GAVEL_SEED_DEMO', nodeEnv === 'development'),
    demoItemCount: integer(env, 'GAVEL_DEMO_ITEMS', 3000, 0, 1_000_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    shutdownDrainMs: integer(env, 'SHUTDOWN_DRAIN_MS', 0, 0, 300_000),
    instanceId: instanceId(env),
    exposeInstanceHeader: boolean(env, 'EXPOSE_INSTANCE_HEADER', false),
    corsOrigins: corsOrigins(env, nodeEnv),
    // A full tracking batch (TRACKING_MAX_BATCH events with signed sessions) is about 100 KiB; a
    // larger body is refused before it is read, so a hostile one never costs a JSON.parse.
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 262_144, 1024, 104_857_600),
    // Generous for a browser app behind NAT (many users, one address); a flood from one address
    // costs one counter increment per request past it.
    httpRequestsPerMinute: integer(env, 'HTTP_REQUESTS_PER_MINUTE', 1_200, 0, 100_000_000),
    // One call per keystroke: 10 a second from one address is fast typing by several buyers.
    suggestionsPerMinute: integer(env, 'SUGGESTIONS_PER_MINUTE', 600, 0, 100_000_000),
    pastQueries: {
      minSearchers: integer(env, 'SUGGESTIONS_QUERY_MIN_SEARCHERS', 5, 2, 1_000_000),
      refreshMs: integer(env, 'SUGGESTIONS_QUERY_REFRESH_MS', 300_000, 1_000, 86_400_000),
    },
    searchEvents: {
      sampleRate: fraction(env, 'SEARCH_EVENTS_SAMPLE_RATE', 1),
      flushIntervalMs: integer(env, 'SEARCH_EVENTS_FLUSH_MS', 1_000, 10, 60_000),
      maxPending: integer(env, 'SEARCH_EVENTS_MAX_PENDING', 50_000, 100, 10_000_000),
      listsMaxAgeMs: integer(env, 'SEARCH_ANALYTICS_REFRESH_MS', 10_000, 0, 3_600_000),
    },
    cursorSecret: keys.cursor,
    cursorSecretPrevious: keys.cursorPrevious,
    authTokens: authTokens(env),
    authMode: authMode(env, nodeEnv),
    authKeyCacheTtlMs: integer(env, 'AUTH_KEY_CACHE_TTL_MS', 30_000, 0, 3_600_000),
    retentionDays: integer(env, 'RETENTION_DAYS', 90, 1, 3650),
    analyticsMaxRangeDays: integer(env, 'ANALYTICS_MAX_RANGE_DAYS', 90, 1, 3650),
    ctrMinImpressions: integer(env, 'ANALYTICS_CTR_MIN_IMPRESSIONS', 20, 0, 1_000_000),
    popularityWindowHours: integer(env, 'POPULARITY_WINDOW_HOURS', 24, 1, 24 * 90),
    popularityRefreshMs: integer(env, 'POPULARITY_REFRESH_MS', 60_000, 1_000, 86_400_000),
    tracking: Object.freeze({
      impressionCooldownMs: integer(env, 'TRACKING_IMPRESSION_COOLDOWN_MS', 30_000, 1_000, 86_400_000),
      clickCooldownMs: integer(env, 'TRACKING_CLICK_COOLDOWN_MS', 5_000, 1_000, 86_400_000),
      clickImpressionWindowMs: integer(env, 'TRACKING_CLICK_IMPRESSION_WINDOW_MS', 1_800_000, 1_000, 86_400_000),
      clicksPerImpression: integer(env, 'TRACKING_CLICKS_PER_IMPRESSION', 1, 1, 1_000),
      sessionSecret: keys.session,
      // Off in development and tests, so a hand-written session id still works there.
      requireSignedSessions: boolean(env, 'TRACKING_REQUIRE_SIGNED_SESSIONS', nodeEnv === 'production'),
      sessionTtlMs: integer(env, 'TRACKING_SESSION_TTL_MS', 86_400_000, 60_000, 31 * 86_400_000),
      newSessionsPerMinute: integer(env, 'TRACKING_NEW_SESSIONS_PER_MINUTE', 60, 1, 1_000_000),
      auditRowsPerMinute: integer(env, 'TRACKING_AUDIT_ROWS_PER_MINUTE', 100, 0, 1_000_000),
      sessionEventsPerMinute: integer(env, 'TRACKING_SESSION_EVENTS_PER_MINUTE', 600, 1, 10_000_000),
      ipEventsPerMinute: integer(env, 'TRACKING_IP_EVENTS_PER_MINUTE', 6_000, 1, 100_000_000),
      maxClockSkewMs: integer(env, 'TRACKING_MAX_CLOCK_SKEW_MS', 300_000, 0, 86_400_000),
      retryWindowMs: integer(env, 'TRACKING_RETRY_WINDOW_MS', 300_000, 0, 86_400_000),
      maxBatch: integer(env, 'TRACKING_MAX_BATCH', 500, 1, 10_000),
      flushIntervalMs: integer(env, 'TRACKING_FLUSH_INTERVAL_MS', 5, 0, 10_000),
      flushMaxEvents: integer(env, 'TRACKING_FLUSH_MAX_EVENTS', 1_000, 1, 100_000),
      flushConcurrency: integer(env, 'TRACKING_FLUSH_CONCURRENCY', 4, 1, 64),
      writeTimeoutMs: integer(env, 'TRACKING_WRITE_TIMEOUT_MS', 10_000, 100, 600_000),
      maxBacklog: integer(env, 'TRACKING_MAX_BACKLOG', 100_000, 1, 10_000_000),
      rollupRecoveryGraceMs: integer(env, 'TRACKING_ROLLUP_RECOVERY_GRACE_MS', 300_000, 60_000, 3_600_000),
      sketchIntervalMs: integer(env, 'TRACKING_SKETCH_INTERVAL_MS', 1_000, 0, 60_000),
      implicitQueueSize: integer(env, 'TRACKING_IMPLICIT_QUEUE_SIZE', 10_000, 0, 10_000_000),
      maintenanceIntervalMs: integer(env, 'MAINTENANCE_INTERVAL_MS', 60_000, 1_000, 86_400_000),
    }),
    conversions: Object.freeze({
      // PostHog's default conversion window; a lot's own end closes it earlier.
      attributionWindowDays: integer(env, 'CONVERSION_ATTRIBUTION_WINDOW_DAYS', 14, 1, 365),
      // A backend replaying its queue after an outage of a few days still reports in time.
      maxDelayDays: integer(env, 'CONVERSION_MAX_DELAY_DAYS', 7, 1, 365),
    }),
    funnels: Object.freeze({
      refreshMs: integer(env, 'FUNNEL_REFRESH_MS', 10_000, 1_000, 3_600_000),
      // As long as the rollup recovery waits for a late write (TRACKING_ROLLUP_RECOVERY_GRACE_MS):
      // an event is stamped before it is stored, and a slow write may land minutes later.
      settleMs: integer(env, 'FUNNEL_SETTLE_MS', 300_000, 0, 3_600_000),
    }),
    retention: Object.freeze({
      auditDays: integer(env, 'RETENTION_AUDIT_DAYS', 30, 1, 3650),
      // 25 months: year-over-year analytics keep working once raw events are gone.
      rollupDays: integer(env, 'RETENTION_ROLLUP_DAYS', 760, 1, 3650),
      journalDays: integer(env, 'RETENTION_JOURNAL_DAYS', 7, 1, 3650),
      purgeBatchSize: integer(env, 'PURGE_BATCH_SIZE', 5_000, 1, 100_000),
      archiveDir: read(env, 'ARCHIVE_DIR'),
      privacySecret: keys.privacy,
    }),
    live: Object.freeze({
      redisUrl: redisUrl(env),
      intervalMs: integer(env, 'LIVE_INTERVAL_MS', 1_000, 10, 600_000),
      maxItemsPerSubscription: integer(env, 'LIVE_MAX_ITEMS_PER_SUBSCRIPTION', 50, 1, 10_000),
      maxSubscriptionsPerConnection: integer(env, 'LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, 1, 10_000),
      // The dashboard holds about 100 points per open page (its overview 53, a search page's 20
      // items 40); a key may hold two subscriptions at GRAPHQL_MAX_COST_ANALYST's 25,000, or
      // hundreds of dashboards. Several keys behind one address (an office) share twice that.
      maxOpenCostPerKey: integer(env, 'LIVE_MAX_OPEN_COST_PER_KEY', 50_000, 1, 1_000_000_000),
      maxOpenCostPerAddress: integer(env, 'LIVE_MAX_OPEN_COST_PER_ADDRESS', 100_000, 1, 1_000_000_000),
      keepAliveMs: integer(env, 'WS_KEEPALIVE_MS', 12_000, 1_000, 600_000),
    }),
    trustProxy: integer(env, 'TRUST_PROXY', 0, 0, 10),
    // A /64 is what one subscriber (a home, a phone, a server) gets: all its addresses are one client.
    ipv6LimitPrefix: integer(env, 'IPV6_LIMIT_PREFIX', 64, 16, 128),
    introspection: boolean(env, 'GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
    // Defaults let the web app's heaviest page through with room (a 50-item search page with
    // totalCount, facets and 7-day daily analytics per item costs about 1,000) and refuse the
    // abuse bench:abuse measures (see docs/security.md).
    limits: Object.freeze({
      maxCost,
      // A key is accountable (revocable, per caller), so its operations may cost more; an operator
      // raising the public limit raises these defaults with it.
      maxCostByRole: Object.freeze({
        ADMIN: integer(env, 'GRAPHQL_MAX_COST_ADMIN', Math.max(maxCost, 25_000), 1, 100_000_000),
        ANALYST: integer(env, 'GRAPHQL_MAX_COST_ANALYST', Math.max(maxCost, 25_000), 1, 100_000_000),
        SELLER: integer(env, 'GRAPHQL_MAX_COST_SELLER', Math.max(maxCost, 10_000), 1, 100_000_000),
        // A full conversion batch (TRACKING_MAX_BATCH, 500) costs 1,500.
        INGEST: integer(env, 'GRAPHQL_MAX_COST_INGEST', maxCost, 1, 100_000_000),
      }),
      maxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', 10, 1, 1_000),
      maxAliases: integer(env, 'GRAPHQL_MAX_ALIASES', 15, 0, 10_000),
      maxDirectives: integer(env, 'GRAPHQL_MAX_DIRECTIVES', 20, 0, 10_000),
      // Above a few thousand, parsing and validating a hostile document gets slow or recursive.
      maxTokens: integer(env, 'GRAPHQL_MAX_TOKENS', 2_000, 100, 100_000),
      // Checked before lexing, hashing or locating errors in the text, which each cost time in
      // proportion to its length; 2,000 tokens of indented GraphQL fit in well under 32 KiB.
      maxQueryChars: integer(env, 'GRAPHQL_MAX_QUERY_CHARS', 32_768, 1_000, 10_000_000),
      totalCountCost: integer(env, 'GRAPHQL_COST_TOTAL_COUNT', 100, 0, 1_000_000),
      facetsCost: integer(env, 'GRAPHQL_COST_FACETS', 200, 0, 1_000_000),
      analyticsPointCost: integer(env, 'GRAPHQL_COST_ANALYTICS_POINT', 1, 0, 1_000_000),
      // 41 days hourly; daily, any range up to 999 days (ANALYTICS_MAX_RANGE_DAYS defaults to 90).
      analyticsMaxPoints: integer(env, 'ANALYTICS_MAX_POINTS', 1_000, 1, 1_000_000),
    }),
    wsAllowQueries: boolean(env, 'WS_ALLOW_QUERIES', false),
    ws: Object.freeze({
      // Generous for many browsers behind one NAT; far below the 2,000 sockets bench:abuse opens.
      maxConnectionsPerAddress: integer(env, 'WS_MAX_CONNECTIONS_PER_ADDRESS', 100, 1, 1_000_000),
      // A page opening all its subscriptions at once (LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION, 20) sends
      // a burst of about that many messages.
      maxMessagesPerSecond: integer(env, 'WS_MAX_MESSAGES_PER_SECOND', 50, 1, 1_000_000),
    }),
    metrics: Object.freeze({
      token: keys.metricsToken,
      port: metricsPort(env, port),
      host: read(env, 'METRICS_HOST') ?? '127.0.0.1',
      operationNames: operationNames(env),
      maxOperationNames: integer(env, 'METRICS_MAX_OPERATION_NAMES', 50, 0, 1_000),
      // Off by default: command monitoring makes the driver decode every reply a second time
      // (bench:metrics: a 100-item read costs 1.7 times the client CPU).
      dbCommands: boolean(env, 'METRICS_DB_COMMANDS', false),
    }),
    // Tracking is the bulk of the traffic: production logs one success in ten (failures always).
    logTrackingSampleRate: fraction(env, 'LOG_TRACKING_SAMPLE_RATE', nodeEnv === 'production' ? 0.1 : 1),
  });
}

/**
 * The names of the environment variables {@link loadConfig} reads (all of them: it reads each one
 * whatever the others say), e.g. for a tool that passes an operator's settings on to a server.
 */
export function settingNames(): readonly string[] {
  const names = new Set<string>();
  const recorder = new Proxy<Env>(
    {},
    {
      get: (_target, name) => {
        if (typeof name === 'string') names.add(name);
        return undefined;
      },
    },
  );
  loadConfig(recorder);
  return [...names];
}
