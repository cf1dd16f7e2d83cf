import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config';

export type { Logger };

/**
 * Creates the process logger: JSON lines on stdout (what log shippers expect), one logger per
 * process, with child loggers per component (`logger.child({ component: 'tracking' })`).
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'gavel' }, timestamp: pino.stdTimeFunctions.isoTime });
}
