// First: refuses an unsupported Node.js before anything else loads.
import './shared/requireSupportedNode';
import { startApp } from './app';
import { ConfigError, loadConfig } from './config';
import { isConnectionReset } from './db/database';
import { EngineUnavailableError } from './db/engine';
import { ShardingError } from './db/sharding';
import { createLogger } from './shared/logger';

/** Starts tried in all when the database resets a connection meanwhile (see `isConnectionReset`). */
const STARTUP_ATTEMPTS = 3;

/**
 * The server process (`node dist/main.js`, `gavel serve`): validate configuration, start, and
 * shut down gracefully on SIGTERM or SIGINT within `SHUTDOWN_DRAIN_MS` + `SHUTDOWN_TIMEOUT_MS`
 * (then exit anyway, non-zero). Exits 2 on a configuration error, 1 when startup fails.
 */
export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`gavel: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let app;
  try {
    // A start releases everything it acquired when it fails, so a reset connection is tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        app = await startApp(config, { logger });
        break;
      } catch (error) {
        if (attempt >= STARTUP_ATTEMPTS || !isConnectionReset(error)) throw error;
        logger.warn(
          { err: error },
          `startup: the database reset a connection; starting again (${attempt + 1} of ${STARTUP_ATTEMPTS})`,
        );
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  } catch (error) {
    if (error instanceof EngineUnavailableError || error instanceof ShardingError) {
      console.error(`gavel: ${error.message}`);
    } else {
      logger.fatal({ err: error }, 'startup failed');
    }
    process.exit(1);
  }

  const running = app;
  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(
      () => {
        logger.error(`shutdown exceeded ${config.shutdownDrainMs + config.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      },
      config.shutdownDrainMs + config.shutdownTimeoutMs + 5_000,
    );
    deadline.unref();
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (require.main === module) void serve();
