import type { Logger } from './logger';

/**
 * Runs `task` now (unless `startNow` is false) and then every `intervalMs` in the background, never
 * two runs at once; a failing run is logged and retried at the next tick. Returns a function that
 * stops the schedule and waits for a run in progress.
 */
export function runPeriodically(
  name: string,
  intervalMs: number,
  task: () => Promise<void>,
  logger: Logger,
  startNow = true,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= task()
      .catch((error: unknown) => logger.warn({ err: error, task: name }, `${name} failed; retrying next round`))
      .finally(() => (running = undefined));
  };
  if (startNow) run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
