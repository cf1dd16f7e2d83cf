import 'reflect-metadata';
import { createAnalyticsRepository } from './analytics/analytics.repository';
import { AnalyticsService } from './analytics/analytics.service';
import { createAuctionItemRepository } from './catalog/auctionItem.repository';
import { createInProcessBus, createRedisBus } from './live/eventBus';
import { LiveService } from './live/live.service';
import { scheduleMaintenance } from './tracking/maintenance';
import { createTrackingRepository } from './tracking/tracking.repository';
import { AuditAggregator } from './tracking/auditAggregator';
import { connectRateLimitRedis, RateLimiter } from './tracking/rateLimiter';
import { SessionSigner } from './tracking/sessions';
import { TrackingService } from './tracking/tracking.service';
import { TrackingWriter } from './tracking/trackingWriter';
import { FileArchiveSink } from './tracking/archive';
import { createRetentionRepository } from './tracking/retention.repository';
import { RetentionService, type RetentionMetrics } from './tracking/retention.service';
import { Pseudonymizer } from './shared/privacy';
import { CatalogService } from './catalog/auctionItem.service';
import { createSearchRepository } from './catalog/search.repository';
import { SearchService } from './catalog/search.service';
import { createAuthService } from './auth/auth.service';
import { CursorCodec } from './graphql/cursor';
import { generateDemoCatalog } from './catalog/demoCatalog';
import type { GavelConfig } from './config';
import { connectDatabase, type Database } from './db/database';
import { startConfiguredEngine, type RunningEngine } from './db/engine';
import { buildGavelSchema } from './graphql/schema';
import type { GavelServices } from './graphql/context';
import { startHttpServer, type GavelHttpServer } from './server/httpServer';
import { DAY_MS, systemClock, type Clock } from './shared/clock';
import { createLogger, type Logger } from './shared/logger';
import { runPeriodically } from './shared/periodic';

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
  /** Counters of purged documents and archive failures (see `RetentionMetrics`). */
  readonly retentionMetrics?: RetentionMetrics;
}

/** A running Gavel: engine, database, services and the HTTP/websocket server. */
export interface GavelApp {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly engine: RunningEngine;
  readonly database: Database;
  readonly services: GavelServices;
  /**
   * Graceful shutdown in dependency order: stop taking requests and finish in-flight ones,
   * close websockets, then disconnect the database and stop an embedded engine. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Starts Gavel from a validated configuration. Every resource acquired is released again if a
 * later step fails, so a failed start leaves no engine process behind.
 */
export async function startApp(config: GavelConfig, overrides: AppOverrides = {}): Promise<GavelApp> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? systemClock;
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
    logger.info({ engine: engine.name }, `MongoDB engine: ${engine.description}`);

    const database = await connectDatabase(engine.uri, config.mongodbDb, {
      monitorCommands: overrides.monitorCommands,
    });
    cleanup.push({ name: 'database connection', release: () => database.close() });

    const auctionItems = createAuctionItemRepository(database.connection);
    const analyticsRepository = createAnalyticsRepository(database.connection);
    const trackingRepository = createTrackingRepository(database.connection);
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
      // TODO(metrics): pass { purged, archiveFailed } counters here once /metrics exists.
      overrides.retentionMetrics,
    );
    // In parallel: an engine may take seconds per collection (see ensureSchemaIndexes).
    const [, , , ttlChanges] = await Promise.all([
      auctionItems.ensureIndexes(),
      analyticsRepository.ensureIndexes(),
      trackingRepository.ensureIndexes(),
      retention.ensureTtlIndexes(),
    ]);
    logger.debug({ ttlChanges }, 'retention TTL indexes');
    if (config.seedDemo && (await auctionItems.isEmpty())) {
      await auctionItems.insertMany(generateDemoCatalog(config.demoItemCount, clock.now()));
      logger.info(`seeded ${config.demoItemCount} demo auction items`);
    }
    const search = new SearchService(
      createSearchRepository(database.connection, {
        sortWindows: {
          clock,
          onSampleError: (err) => logger.warn({ err }, 'search sort windows: sampling failed; retrying in a minute'),
        },
      }),
      new CursorCodec(config.cursorSecret),
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
      },
      logger.child({ component: 'tracking-writer' }),
      (itemIds) => live.publishCountersChanged(itemIds),
      clock,
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
        release: (impressionId) => trackingRepository.releaseImpressionClaim(impressionId),
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
      },
    );
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

    const services: GavelServices = {
      catalog: new CatalogService(auctionItems, clock),
      search,
      analytics,
      tracking,
      live,
      auth: createAuthService(config, database.connection, clock),
      retention,
    };
    const server: GavelHttpServer = await startHttpServer({
      config,
      schema: await buildGavelSchema(),
      services,
      database,
      logger,
    });
    cleanup.push({ name: 'http server', release: () => server.stop() });
    logger.info(`Gavel ready at ${server.url} (websockets: ${server.wsUrl})`);

    let stopped: Promise<void> | undefined;
    return {
      url: server.url,
      wsUrl: server.wsUrl,
      port: server.port,
      engine,
      database,
      services,
      stop: () => (stopped ??= release()),
    };
  } catch (error) {
    await release();
    throw error;
  }
}
