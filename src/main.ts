// First: refuses an unsupported Node.js before anything else loads.
import './shared/requireSupportedNode';
import { startApp } from './app';
import { ConfigError, loadConfig } from './config';
import { EngineUnavailableError } from './db/engine';
import { createLogger } from './shared/logger';

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
    app = await startApp(config, { logger });
  } catch (error) {
    if (error instanceof EngineUnavailableError) {
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
