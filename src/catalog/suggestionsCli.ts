import { withConfiguredDatabase, type CliOutput } from '../cli/cliDatabase';
import { createSuggestionRepository } from './suggestion.repository';

const USAGE = `Usage (\`npm run suggestions -- …\` in a checkout, \`gavel suggestions …\` in the container image):
  suggestions check
  suggestions repair
Recounts the open (ACTIVE) lots and compares the search suggestion counters with the counts,
printing one line per differing counter:
  kind  category  term  stored open/shown  counted open/shown
(category "*": the whole catalog). check exits 1 when a counter differs; repair sets each to its
count. Counters follow every catalog write; they differ only after a write they missed (the server
logs it), or on a database written by a version without them.`;

/** `npm run suggestions` / `gavel suggestions`: connects as the server would, recounts, disconnects. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliOutput): Promise<number> {
  const [command, ...rest] = argv;
  if ((command !== 'check' && command !== 'repair') || rest.length > 0) {
    io.err(USAGE);
    return 2;
  }
  return withConfiguredDatabase(env, io, async (_config, connection) => {
    const differences = await createSuggestionRepository(connection).recount({ repair: command === 'repair' });
    for (const { kind, scope, term, stored, counted } of differences)
      io.out(
        [kind, scope || '*', term, `${stored.open}/${stored.shown}`, `${counted.open}/${counted.shown}`].join('\t'),
      );
    io.err(
      (differences.length === 0
        ? 'Every suggestion counter matches the open lots.'
        : `${differences.length} suggestion counters differ from the open lots.`) +
        (command === 'repair' && differences.length > 0 ? ' Set each to its count.' : ''),
    );
    return command === 'check' && differences.length > 0 ? 1 : 0;
  });
}
