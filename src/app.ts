import 'reflect-metadata';
import { createAnalyticsRepository } from './analytics/analytics.repository';
import { AnalyticsService } from './analytics/analytics.service';
import { createAuctionItemRepository } from './catalog/auctionItem.repository';
import { createInProcessBus, createRedisBus } from './live/eventBus';
import { LiveService } from './live/live.service';
import { scheduleMaintenance } from './tracking/maintenance';
import { LegacySketches } from './tracking/legacySketches';
import { createTrackingRepository } from './tracking/tracking.repository';
import { AuditAggregator } from './tracking/auditAggregator';
import { connectRateLimitRedis, RateLimiter } from './tracking/rateLimiter';
import { SessionSigner } from './tracking/sessions';
import { TrackingService } from './tracking/tracking.service';
import { TrackingOutcomesService } from './tracking/outcomes';
import { TrackingWriter } from './tracking/trackingWriter';
import { createConversionsRepository } from './conversions/conversions.repository';
import { ConversionsService } from './conversions/conversions.service';
import { createCohortsRepository } from './cohorts/cohorts.repository';
import { CohortsService } from './cohorts/cohorts.service';
import { createExperimentsRepository } from './experiments/experiments.repository';
import { ExperimentsService } from './experiments/experiments.service';
import { ExposureRecorder } from './experiments/exposureRecorder';
import { FunnelBuilder } from './funnels/funnelBuilder';
import { createFunnelsRepository } from './funnels/funnels.repository';
import { FunnelsService } from './funnels/funnels.service';
import { FileArchiveSink } from './retention/archive';
import { createRetentionRepository } from './retention/retention.repository';
import { RetentionService, type RetentionMetrics } from './retention/retention.service';
import { Pseudonymizer } from './shared/privacy';
import { CatalogService } from './catalog/auctionItem.service';
import { CatalogImportService, importLineType } from './catalog/catalogImport.service';
import { createSearchRepository } from './catalog/search.repository';
import { SearchService } from './catalog/search.service';
import { createSearchesRepository } from './searches/searches.repository';
import { SearchRecorder } from './searches/searchRecorder';
import { SearchAnalyticsService } from './searches/searchAnalytics.service';
import { createSuggestionRepository } from './catalog/suggestion.repository';
import { PastQueryCounts } from './catalog/pastQueryCounts';
import { SuggestionService } from './catalog/suggestion.service';
import { createTypoDictionary } from './catalog/typoDictionary';
import { createAuthService } from './auth/auth.service';
import { CursorCodec } from './graphql/cursor';
import { generateDemoCatalog } from './catalog/demoCatalog';
import type { GavelConfig } from './config';
import { connectDatabase, type Database } from './db/database';
import { redactUri, startConfiguredEngine, type RunningEngine } from './db/engine';
import type { EngineHealth } from './db/engines/supervisor';
import { applyShardPlan, verifyUniqueIndexes } from './db/sharding';
import { buildGavelSchema } from './graphql/schema';
import type { GavelServices } from './graphql/context';
import { startHttpServer, type GavelHttpServer } from './server/httpServer';
import { DAY_MS, systemClock, type Clock } from './shared/clock';
import { createLogger, type Logger } from './shared/logger';
import { runPeriodically } from './shared/periodic';
import { GavelMetrics } from './observability/metrics';
import { OperationRecorder } from './observability/operations';

/** How often aggregated audit counts of refused tracking events are written. */
const AUDIT_FLUSH_INTERVAL_MS = 5_000;

/** Replaceable parts, for tests: a controlled clock, a logger that records. */
export interface AppOverrides {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Emit the driver's command events (to count database round trips). */
  readonly monitorCommands?: boolean;
  /**
   * Run the periodic jobs (popularity refresh, tracking maintenance); default true. Tests that
   * assert a request issues no database command turn them off, since their first round starts
   * with the server and would be counted.
   */
  readonly periodicJobs?: boolean;
  /** Random source for request-log sampling (`LOG_TRACKING_SAMPLE_RATE`). */
  readonly random?: () => number;
  /** Counters of purged documents and archive failures (see `RetentionMetrics`). */
  readonly retentionMetrics?: RetentionMetrics;
}

/** A running Gavel: engine, database, services and the HTTP/websocket server. */
export interface GavelApp {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** The `METRICS_PORT` listener's `/metrics` URL; undefined without one. */
  readonly metricsUrl: string | undefined;
  readonly engine: RunningEngine;
  readonly database: Database;
  readonly services: GavelServices;
  /** This app's Prometheus registry and recorders (served at `/metrics`). */
  readonly metrics: GavelMetrics;
  /** Websocket subscriptions held: distinct streams, subscribers, connections. */
  readonly subscriptions: GavelHttpServer['subscriptions'];
  /**
   * Graceful shutdown in dependency order: stop taking requests and finish in-flight ones,
   * close websockets, then disconnect the database and stop an embedded engine. Idempotent.
   */
  stop(): Promise<void>;
}

/** Logs a supervised engine's exits (error, at once) and restarts. */
function logEngineHealth(health: EngineHealth, logger: Logger): void {
  const log = logger.child({ component: 'engine' });
  health.onEvent((event) => {
    if (event.type === 'down')
      log.error(
        { exit: event.exit, enginePid: event.pid, restartInMs: event.restartInMs },
        `MongoDB engine ${event.exit}; requests fail with SERVICE_UNAVAILABLE until it is restarted`,
      );
    else if (event.type === 'up')
      log.warn(
        { enginePid: event.pid, downMs: event.downMs, restarts: event.restarts },
        `MongoDB engine restarted after ${event.downMs} ms`,
      );
    else log.error({ err: event.error, retryInMs: event.retryInMs }, 'MongoDB engine restart failed; retrying');
  });
}

/**
 * Starts Gavel from a validated configuration. Every resource acquired is released again if a
 * later step fails, so a failed start leaves no engine process behind.
 */
export async function startApp(config: GavelConfig, overrides: AppOverrides = {}): Promise<GavelApp> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? systemClock;
  // One registry per app (tests run several in one process). Parts that start later — an engine
  // supervisor, say — add their metrics to `metrics.registry`.
  const metrics = new GavelMetrics(config.metrics);
  // Resources in acquisition order; released in reverse, each step even if an earlier one failed.
  const cleanup: Array<{ name: string; release: () => Promise<void> }> = [];
  const release = async (): Promise<void> => {
    for (const step of [...cleanup].reverse()) {
      try {
        await step.release();
        logger.debug(`stopped ${step.name}`);
      } catch (err) {
        logger.error({ err }, `stopping ${step.name} failed`);
      }
    }
  };

  try {
    const engine = await startConfiguredEngine(config, (message) => logger.warn(message));
    cleanup.push({ name: 'engine', release: () => engine.stop() });
    logger.info(
      { engine: engine.name, uri: redactUri(engine.uri), ...('pid' in engine ? { enginePid: engine.pid } : {}) },
      `MongoDB engine: ${engine.description}`,
    );
    if (engine.health) {
      logEngineHealth(engine.health, logger);
      metrics.observeEngine(engine.health);
    }

    const database = await connectDatabase(engine.uri, config.mongodbDb, {
      monitorCommands: overrides.monitorCommands || config.metrics.dbCommands,
      health: engine.health,
    });
    cleanup.push({ name: 'database connection', release: () => database.close() });
    if (config.metrics.dbCommands) {
      const client = database.connection.getClient();
      client.on('commandSucceeded', (event) => metrics.recordDbCommand(event.commandName, event.duration, false));
      client.on('commandFailed', (event) => metrics.recordDbCommand(event.commandName, event.duration, true));
    }

    // One of each per process: their caches (known words, last answers) serve every reader and writer.
    const typoDictionary = createTypoDictionary(database.connection);
    const suggestionCounters = createSuggestionRepository(database.connection);
    const auctionItems = createAuctionItemRepository(database.connection, {
      typoDictionary,
      suggestions: suggestionCounters,
      onSuggestionsError: (err) =>
        logger.error({ err }, 'search suggestions: counters missed an item write; run `gavel suggestions repair`'),
    });
    const trackingRepository = createTrackingRepository(database.connection);
    const legacySketches = new LegacySketches(database.connection, trackingRepository);
    const analyticsRepository = createAnalyticsRepository(database.connection, {
      legacySketches: () => legacySketches.remaining(),
    });
    const pseudonyms = new Pseudonymizer(config.retention.privacySecret);
    const retention = new RetentionService(
      createRetentionRepository(database.connection),
      clock,
      {
        countedEventsDays: config.retentionDays,
        auditDays: config.retention.auditDays,
        rollupDays: config.retention.rollupDays,
        journalDays: config.retention.journalDays,
        batchSize: config.retention.purgeBatchSize,
      },
      pseudonyms,
      logger.child({ component: 'retention' }),
      config.retention.archiveDir ? new FileArchiveSink(config.retention.archiveDir) : undefined,
      overrides.retentionMetrics ?? metrics.retention,
      config.instanceId,
    );
    // Sharding first: an engine shards an empty collection at once, and builds its indexes on the
    // shards after (docs/scaling.md).
    const db = database.connection.db!;
    const sharding = await applyShardPlan(db, config.mongodbSharding, logger.child({ component: 'sharding' }));
    // In parallel: an engine may take seconds per collection (see ensureSchemaIndexes).
    const searchesRepository = createSearchesRepository(database.connection);
    const conversionsRepository = createConversionsRepository(database.connection);
    const funnelsRepository = createFunnelsRepository(database.connection);
    const cohortsRepository = createCohortsRepository(database.connection);
    const experimentsRepository = createExperimentsRepository(database.connection);
    await Promise.all([
      experimentsRepository.ensureIndexes(),
      cohortsRepository.ensureIndexes(),
      conversionsRepository.ensureIndexes(),
      funnelsRepository.ensureIndexes(),
      auctionItems.ensureIndexes(),
      analyticsRepository.ensureIndexes(),
      searchesRepository.ensureIndexes(),
      trackingRepository.ensureIndexes({ eventsSharded: sharding.sharded.has('tracking_events') }),
    ]);
    await sharding.shardExisting();
    // After those: the TTL indexes are on some of the same collections (item_days, rollup_journal),
    // and mongo-java-server fails one of two concurrent first index creations on a new collection
    // ("Document with key '<db>.rollup_journal' already existed"), which stopped a fresh start.
    const ttlChanges = await retention.ensureTtlIndexes();
    logger.debug({ ttlChanges }, 'retention TTL indexes');
    // Every unique rule must hold across shards: refuse an index a sharded engine would enforce per shard.
    await verifyUniqueIndexes(db);
    // A database of an older Gavel: its rollup rows may carry unique sketches (see legacySketches.ts).
    if (await legacySketches.check()) {
      logger.warn(
        'unique sketches of an older version remain in the rollup rows (item_days), and unique figures read them there ' +
          'too: run `gavel rollups move-sketches` once every instance runs this version',
      );
      // Every instance stops reading the rows within a minute of the move.
      const stopChecks = runPeriodically(
        'sketch move check',
        60_000,
        async () => {
          if (legacySketches.remaining()) await legacySketches.check();
        },
        logger,
      );
      cleanup.push({ name: 'sketch move check', release: stopChecks });
    }
    if (config.seedDemo && (await auctionItems.isEmpty())) {
      await auctionItems.insertMany(generateDemoCatalog(config.demoItemCount, clock.now()));
      logger.info(`seeded ${config.demoItemCount} demo auction items`);
    }
    // A database from before the suggestion counters or some of their scopes (or one with no open
    // lot, where this is cheap).
    if (await suggestionCounters.lacksScopes()) {
      const counted = await suggestionCounters.recount({ repair: true });
      if (counted.length > 0) logger.info(`search suggestions: counted the open lots into ${counted.length} counters`);
    }
    // Searches are recorded off the request path and written every SEARCH_EVENTS_FLUSH_MS; the last
    // ones at shutdown, after tracking has drained (the clicks it counted name their searches).
    const searchRecorder = new SearchRecorder(
      searchesRepository,
      clock,
      logger.child({ component: 'search-events' }),
      {
        sampleRate: config.searchEvents.sampleRate,
        flushIntervalMs: config.searchEvents.flushIntervalMs,
        maxPending: config.searchEvents.maxPending,
      },
      (sessionId) => pseudonyms.storedId(sessionId),
      (address, at) => pseudonyms.address(address, at),
    );
    searchRecorder.start();
    cleanup.push({ name: 'search events', release: () => searchRecorder.stop() });
    const searchRepository = createSearchRepository(database.connection, {
      typoDictionary,
      sortWindows: {
        clock,
        onSampleError: (err) => logger.warn({ err }, 'search sort windows: sampling failed; retrying in a minute'),
      },
    });
    const search = new SearchService(
      searchRepository,
      new CursorCodec(config.cursorSecret, config.cursorSecretPrevious ? [config.cursorSecretPrevious] : []),
      searchRecorder,
    );
    // Before the first request, so that its pages are windowed already where the engine needs it.
    await search.refreshSortWindows();

    const analytics = new AnalyticsService(analyticsRepository, auctionItems, clock, {
      maxRangeMs: config.analyticsMaxRangeDays * DAY_MS,
      // Analytics read rollups, which outlive raw events; userAnalytics checks rawRetentionMs.
      retentionMs: config.retention.rollupDays * DAY_MS,
      rawRetentionMs: config.retentionDays * DAY_MS,
      ctrMinImpressions: config.ctrMinImpressions,
      popularityWindowMs: config.popularityWindowHours * 3_600_000,
    });
    const periodicJobs = overrides.periodicJobs ?? true;
    if (periodicJobs) {
      const stopPopularity = runPeriodically(
        'popularity refresh',
        config.popularityRefreshMs,
        async () => {
          await analytics.refreshPopularity();
        },
        logger,
      );
      cleanup.push({ name: 'popularity refresh', release: stopPopularity });
    }

    const bus = config.live.redisUrl ? createRedisBus(config.live.redisUrl, logger) : createInProcessBus();
    cleanup.push({ name: 'event bus', release: () => bus.close() });
    logger.info(
      `live updates: ${bus.kind} event bus${bus.kind === 'redis' ? ' (multi-instance)' : ' (single instance; set REDIS_URL for several)'}`,
    );

    if (periodicJobs) {
      const stopMaintenance = scheduleMaintenance(
        trackingRepository,
        auctionItems,
        clock,
        {
          intervalMs: config.tracking.maintenanceIntervalMs,
          recoveryGraceMs: config.tracking.rollupRecoveryGraceMs,
          onRun: (rebuilt, failed) => metrics.recordRecoveryRun(rebuilt, failed),
          purge: () => retention.purge(),
        },
        logger,
      );
      cleanup.push({ name: 'tracking maintenance', release: stopMaintenance });
    }

    const live = new LiveService(bus, analytics, clock, config.live, logger);
    const writer = new TrackingWriter(
      trackingRepository,
      {
        flushIntervalMs: config.tracking.flushIntervalMs,
        maxBatch: config.tracking.flushMaxEvents,
        maxConcurrentFlushes: config.tracking.flushConcurrency,
        writeTimeoutMs: config.tracking.writeTimeoutMs,
        maxBacklog: config.tracking.maxBacklog,
        rollupGraceMs: config.tracking.rollupRecoveryGraceMs,
        sketchIntervalMs: config.tracking.sketchIntervalMs,
      },
      logger.child({ component: 'tracking-writer' }),
      (itemIds) => live.publishCountersChanged(itemIds),
      clock,
      {
        flushed: (events, seconds, failed) => metrics.recordFlush(events, seconds, failed),
        timedOut: () => metrics.recordWriteTimeout(),
        backlogFull: () => metrics.recordBacklogRefusal(),
      },
    );
    // Rate limits and the audit budget are shared by every instance through Redis when it is set.
    const limitsRedis = config.live.redisUrl
      ? await connectRateLimitRedis(config.live.redisUrl, logger.child({ component: 'rate-limits' }))
      : undefined;
    if (limitsRedis)
      cleanup.push({
        name: 'rate-limit redis',
        // QUIT needs a live connection; while Redis is down, just stop reconnecting.
        release: async () => {
          if (limitsRedis.status === 'ready') await limitsRedis.quit();
          else limitsRedis.disconnect();
        },
      });
    const audit = new AuditAggregator(
      config.tracking.auditRowsPerMinute > 0
        ? new RateLimiter('track-audit', config.tracking.auditRowsPerMinute, clock, limitsRedis)
        : undefined,
      (rows) => trackingRepository.addAuditAggregates(rows),
      clock,
      logger.child({ component: 'tracking-audit' }),
    );
    const tracking = new TrackingService(
      writer,
      auctionItems,
      {
        claim: (sessionId, itemId, since, maxClaims) =>
          trackingRepository.claimImpression(sessionId, itemId, since, maxClaims),
        release: (impressionId, itemId) => trackingRepository.releaseImpressionClaim(impressionId, itemId),
        countedKeys: (keys) => trackingRepository.countedKeys(keys),
      },
      clock,
      { ...config.tracking, retentionMs: config.retentionDays * DAY_MS },
      logger.child({ component: 'tracking' }),
      {
        sessionLimiter: new RateLimiter('track-session', config.tracking.sessionEventsPerMinute, clock, limitsRedis),
        ipLimiter: new RateLimiter('track-ip', config.tracking.ipEventsPerMinute, clock, limitsRedis),
        newSessionLimiter: new RateLimiter('new-session', config.tracking.newSessionsPerMinute, clock, limitsRedis),
        sessions: new SessionSigner(
          config.tracking.sessionSecret,
          clock,
          config.tracking.sessionTtlMs,
          config.tracking.maxClockSkewMs,
        ),
        audit,
        pseudonyms,
        searchClicks: searchRecorder,
      },
      { tracked: (type, outcomes) => metrics.recordTracked(type, outcomes) },
    );
    metrics.observe({
      writerBacklog: () => writer.backlog,
      implicitDropped: () => tracking.droppedImplicitImpressions,
      implicitFailed: () => tracking.failedImplicitImpressions,
    });
    // Aggregated audit counts are written every few seconds, and once more at shutdown.
    const auditTimer = setInterval(() => void audit.flush(), AUDIT_FLUSH_INTERVAL_MS);
    auditTimer.unref();
    // Released after the HTTP server stops: implicit impressions drain, then every acknowledged
    // event is written before the database connection closes.
    cleanup.push({
      name: 'tracking writer',
      release: async () => {
        writer.expedite();
        await tracking.drainImplicitQueue();
        await writer.close();
        clearInterval(auditTimer);
        await audit.flush();
      },
    });
    live.start();
    cleanup.push({ name: 'live updates', release: async () => live.stop() });

    const suggestions = new SuggestionService(
      suggestionCounters,
      typoDictionary,
      config.suggestionsPerMinute > 0
        ? new RateLimiter('suggest', config.suggestionsPerMinute, clock, limitsRedis)
        : undefined,
      {
        source: searchesRepository,
        counts: new PastQueryCounts({
          lots: searchRepository,
          now: () => clock.now(),
          onError: (err) => logger.warn({ err }, 'search suggestions: a past query could not be counted'),
        }),
        minSearchers: config.pastQueries.minSearchers,
        now: () => clock.now(),
      },
    );
    if (periodicJobs) {
      // Every instance rebuilds (one aggregation over the clicked searches); the results agree.
      const stopPastQueries = runPeriodically(
        'past query suggestions',
        config.pastQueries.refreshMs,
        async () => {
          await suggestions.refreshPastQueries();
        },
        logger,
      );
      cleanup.push({ name: 'past query suggestions', release: stopPastQueries });
    }
    // Funnels and experiments change once per build round: a live read more often finds nothing new.
    const liveBuiltIntervalMs = Math.max(config.live.intervalMs, config.funnels.refreshMs);
    const experiments = new ExperimentsService(experimentsRepository, clock, {
      intervalMs: liveBuiltIntervalMs,
      onError: (err) => logger.warn({ err }, 'live experiment results: read failed; retrying next interval'),
    });
    const funnelBuilder = new FunnelBuilder(
      funnelsRepository,
      auctionItems,
      { cohorts: cohortsRepository, exposures: new ExposureRecorder(experimentsRepository, clock) },
      clock,
      {
        windowMs: config.conversions.attributionWindowDays * DAY_MS,
        settleMs: config.funnels.settleMs,
        firstBuildMs: config.retentionDays * DAY_MS,
        pageSize: 5_000,
        instanceId: config.instanceId,
      },
      logger.child({ component: 'funnels' }),
    );
    metrics.observe({ funnelLagSeconds: () => funnelBuilder.lagSeconds() });
    if (periodicJobs) {
      const stopFunnels = runPeriodically(
        'funnel build',
        config.funnels.refreshMs,
        async () => {
          await funnelBuilder.catchUp();
        },
        logger,
        // Nothing is due at start: events wait FUNNEL_SETTLE_MS anyway.
        false,
      );
      cleanup.push({
        name: 'funnel build',
        release: async () => {
          await stopFunnels();
          await funnelBuilder.stop();
        },
      });
    }
    const schema = await buildGavelSchema();
    const catalog = new CatalogService(auctionItems, clock);
    const services: GavelServices = {
      catalog,
      catalogImport: new CatalogImportService(
        catalog,
        auctionItems,
        clock,
        importLineType(schema),
        metrics.catalogImport,
      ),
      search,
      searches: new SearchAnalyticsService(
        searchesRepository,
        searchRecorder,
        clock,
        {
          maxRangeMs: config.analyticsMaxRangeDays * DAY_MS,
          retentionMs: config.retentionDays * DAY_MS,
          listsMaxAgeMs: config.searchEvents.listsMaxAgeMs,
          liveIntervalMs: config.live.intervalMs,
        },
        logger,
      ),
      suggestions,
      analytics,
      tracking,
      conversions: new ConversionsService(
        conversionsRepository,
        auctionItems,
        clock,
        {
          maxBatch: config.tracking.maxBatch,
          maxClockSkewMs: config.tracking.maxClockSkewMs,
          maxDelayMs: config.conversions.maxDelayDays * DAY_MS,
          attributionWindowMs: config.conversions.attributionWindowDays * DAY_MS,
        },
        pseudonyms,
        { tracked: (kind, outcomes) => metrics.recordTracked(kind, outcomes) },
      ),
      funnels: new FunnelsService(funnelsRepository, funnelBuilder, experiments, {
        intervalMs: liveBuiltIntervalMs,
        onError: (err) => logger.warn({ err }, 'live funnel: read failed; retrying next interval'),
      }),
      cohorts: new CohortsService(cohortsRepository, clock),
      experiments,
      live,
      auth: createAuthService(config, database.connection, clock),
      outcomes: new TrackingOutcomesService(trackingRepository),
      retention,
    };
    const server: GavelHttpServer = await startHttpServer({
      config,
      schema,
      services,
      database,
      logger,
      readinessChecks: bus.kind === 'redis' ? { redis: () => bus.connected() } : {},
      requestLimiter:
        config.httpRequestsPerMinute > 0
          ? new RateLimiter('http', config.httpRequestsPerMinute, clock, limitsRedis)
          : undefined,
      observability: {
        metrics,
        recorder: new OperationRecorder(metrics, logger.child({ component: 'request' }), {
          trackingSampleRate: config.logTrackingSampleRate,
          // Hashes correlate across instances (same secret everywhere) and reveal nothing without it.
          hashKey: config.tracking.sessionSecret,
          random: overrides.random,
        }),
      },
    });
    cleanup.push({ name: 'http server', release: () => server.stop() });
    logger.info(`Gavel ready at ${server.url} (websockets: ${server.wsUrl})`);

    let stopped: Promise<void> | undefined;
    return {
      url: server.url,
      wsUrl: server.wsUrl,
      port: server.port,
      metricsUrl: server.metricsUrl,
      engine,
      database,
      services,
      metrics,
      subscriptions: server.subscriptions,
      stop: () => (stopped ??= release()),
    };
  } catch (error) {
    await release();
    throw error;
  }
}
