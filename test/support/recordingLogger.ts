import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/shared/logger';

/** A real pino logger whose JSON lines are kept, parsed, for assertions. */
export interface RecordingLogger {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** The raw text written so far (to assert what must never appear in it). */
  text(): string;
  /** Resolves with the first line, written already or later, that `match` accepts. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

/** Creates a logger at `level` that records instead of printing (pass it as `AppOverrides.logger`). */
export function recordingLogger(level: pino.Level = 'info'): RecordingLogger {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const waiters: Array<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        raw.push(line);
        lines.push(parsed);
        for (const waiter of waiters.filter((candidate) => candidate.match(parsed))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(parsed);
        }
      }
      done();
    },
  });
  // Synchronous writes (pino's default to a plain stream): a line is recorded when the call returns.
  return {
    logger: pino({ level, base: { service: 'gavel' } }, stream),
    lines,
    text: () => raw.join('\n'),
    waitFor: (match) => {
      const found = lines.find(match);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
