/**
 * The `gavel` command (the container image's entry point; `node dist/cli/gavel.js` in a build):
 *
 *   gavel [serve]          start the server (configured by environment variables)
 *   gavel keys create|revoke|list …   manage API keys (see `gavel keys` for usage)
 *   gavel rollups check|repair|move-sketches …  rollup counters against their events; moving old sketches
 *   gavel suggestions check|repair    compare search suggestion counters with the open lots
 *   gavel import FILE                 import auction items from an NDJSON file (see `gavel import`)
 */
// First: refuses an unsupported Node.js before anything else loads.
import '../shared/requireSupportedNode';
import { main as keys } from '../auth/keysCli';
import { ConfigError } from '../config';
import { EngineUnavailableError } from '../db/engine';
import { serve } from '../main';
import { main as rollups } from '../tracking/rollupsCli';
import { main as suggestions } from '../catalog/suggestionsCli';
import { main as importItems } from '../catalog/importCli';
import type { CliOutput } from './cliDatabase';

const USAGE =
  'Usage: gavel [serve] | gavel keys create|revoke|list … | gavel rollups check|repair|move-sketches … | gavel suggestions check|repair | gavel import FILE';

/** The tools besides the server: each connects as the server would and returns an exit code. */
const TOOLS: Record<string, (argv: readonly string[], env: NodeJS.ProcessEnv, io: CliOutput) => Promise<number>> = {
  keys,
  rollups,
  suggestions,
  import: importItems,
};

async function runTool(tool: (typeof TOOLS)[string], argv: readonly string[]): Promise<number> {
  try {
    return await tool(argv, process.env, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof EngineUnavailableError)) throw error;
    process.stderr.write(`gavel: ${error.message}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
}

const [command = 'serve', ...rest] = process.argv.slice(2);
if (command === 'serve') {
  // The server installs its own signal handlers and exit codes.
  void serve();
} else if (Object.hasOwn(TOOLS, command)) {
  runTool(TOOLS[command]!, rest).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`gavel: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write(`gavel: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
  process.exit(2);
}
