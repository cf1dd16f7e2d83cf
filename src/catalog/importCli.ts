import { createReadStream } from 'node:fs';
import { withConfiguredDatabase, type CliOutput } from '../cli/cliDatabase';
import { buildGavelSchema } from '../graphql/schema';
import { systemClock } from '../shared/clock';
import { ndjsonLines } from '../shared/ndjson';
import { createAuctionItemRepository } from './auctionItem.repository';
import { CatalogService } from './auctionItem.service';
import { CatalogImportService, ImportInterruptedError, ImportLimits, importLineType } from './catalogImport.service';

const USAGE = `Usage (\`npm run import -- …\` in a checkout, \`gavel import …\` in the container image):
  import FILE      imports the NDJSON file FILE, one item per line (- reads standard input)
Prints one result per line (NDJSON: line, status CREATED | EXISTING | INVALID, externalId, id or
error) and the counts at the end. Lines are idempotent by externalId: importing a file again stores
nothing twice. Exits 0 when every line is stored, 1 when a line was refused or the import stopped,
2 for a missing argument or a file it cannot read. The format and the HTTP endpoint
(POST /catalog/import) are in docs/api.md, "Import a catalog".`;

/** `npm run import` / `gavel import`: connects as the server would, imports, disconnects. */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CliOutput,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const [file, ...rest] = argv;
  if (file === undefined || rest.length > 0 || file === '--help') {
    io.err(USAGE);
    return 2;
  }
  let input: NodeJS.ReadableStream = stdin;
  // A missing file is said before connecting to anything.
  if (file !== '-') {
    const stream = createReadStream(file);
    input = stream;
    const opened = await new Promise<Error | undefined>((resolve) => {
      stream.once('open', () => resolve(undefined));
      stream.once('error', resolve);
    });
    if (opened) {
      io.err(`import: cannot read ${file}: ${opened.message}`);
      return 2;
    }
  }
  const schema = await buildGavelSchema();
  return withConfiguredDatabase(env, io, async (_config, connection) => {
    const items = createAuctionItemRepository(connection);
    // The unique external-id index makes the import idempotent: it must exist before any line.
    await items.ensureIndexes();
    const importer = new CatalogImportService(
      new CatalogService(items, systemClock),
      items,
      systemClock,
      importLineType(schema),
    );
    try {
      const summary = await importer.importLines(
        ndjsonLines(input as AsyncIterable<Uint8Array>, ImportLimits.maxLineBytes),
        (result) => io.out(JSON.stringify(result)),
      );
      io.err(
        `${summary.lines} lines: ${summary.created} created, ${summary.existing} existing, ${summary.invalid} invalid.`,
      );
      if (summary.suggestionsPending)
        io.err('import: the search suggestion counters could not be recounted; run `gavel suggestions repair`.');
      return summary.invalid > 0 ? 1 : 0;
    } catch (error) {
      if (!(error instanceof ImportInterruptedError)) throw error;
      io.err(`import: ${error.message} (${error.cause instanceof Error ? error.cause.message : String(error.cause)})`);
      if (error.suggestionsPending)
        io.err('import: the search suggestion counters could not be recounted; run `gavel suggestions repair`.');
      return 1;
    }
  });
}
