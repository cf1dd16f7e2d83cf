import type { Connection } from 'mongoose';
import { loadConfig, type GavelConfig } from '../config';
import { connectDatabase } from '../db/database';
import { connectConfiguredEngine } from '../db/engine';

/** Where a command-line tool writes: results to `out`, everything else to `err`. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Runs `work` on the database the server would use, configured and validated as the server is
 * (without MONGODB_URI: the embedded engine of a server running from the same data directory, else
 * that engine started as `npm start` would), and disconnects afterwards.
 * @returns what `work` returns (an exit code)
 */
export async function withConfiguredDatabase<T>(
  env: NodeJS.ProcessEnv,
  io: CliOutput,
  work: (config: GavelConfig, connection: Connection) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const engine = await connectConfiguredEngine(config, (message) => io.err(message));
  try {
    const database = await connectDatabase(engine.uri, config.mongodbDb);
    try {
      return await work(config, database.connection);
    } finally {
      await database.close();
    }
  } finally {
    await engine.stop();
  }
}
