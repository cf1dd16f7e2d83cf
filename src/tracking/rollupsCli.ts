import { parseArgs } from 'node:util';
import { Types, type Connection } from 'mongoose';
import { createAuctionItemRepository } from '../catalog/auctionItem.repository';
import { withConfiguredDatabase, type CliOutput } from '../cli/cliDatabase';
import type { GavelConfig } from '../config';
import { DAY_MS, HOUR_MS, systemClock, type Clock } from '../shared/clock';
import { LegacySketches } from './legacySketches';
import { checkableHours, checkRollups } from './rollupCheck';
import { createTrackingRepository } from './tracking.repository';

const USAGE = `Usage (\`npm run rollups -- …\` in a checkout, \`gavel rollups …\` in the container image):
  rollups check  [--item ITEM_ID]… [--from TIME] [--to TIME]
  rollups repair [--item ITEM_ID]… [--from TIME] [--to TIME] [--lower]
  rollups move-sketches
Compares the hourly counters in item_days with recounts of the stored counted events (every item with
counts in the range unless --item is given), printing one line per differing counter:
  item  hour  source  counter  stored  counted
check exits 1 when a counter differs. repair rebuilds those hours from their events, keeping a counter
above its recount (erasure deletes events, not counters) unless --lower. TIME is an ISO 8601 date or
time; only hours still within RETENTION_DAYS and closed for TRACKING_ROLLUP_RECOVERY_GRACE_MS can be
recounted, and the range is clamped to them.
move-sketches moves the unique-visitor sketches an older version kept in the item_days rows into
item_day_sketches; run it once every instance runs this version (exits 1 while an older one still
writes them).`;

/** A `rollups` command as given on the command line. */
export interface RollupsCommand {
  readonly command: 'check' | 'repair' | 'move-sketches';
  readonly itemIds?: Types.ObjectId[];
  readonly from?: Date;
  readonly to?: Date;
  readonly lower: boolean;
}

/** Parses and validates the arguments, before anything connects; an exit code (2) after saying what is wrong. */
export function parseRollupsCommand(argv: readonly string[], io: CliOutput): RollupsCommand | number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        item: { type: 'string', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        lower: { type: 'boolean' },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if ((command !== 'check' && command !== 'repair' && command !== 'move-sketches') || rest.length > 0) {
    io.err(USAGE);
    return 2;
  }
  if (command === 'move-sketches' && Object.keys(values).length > 0) {
    io.err(`move-sketches takes no options.\n${USAGE}`);
    return 2;
  }
  if (values.lower && command !== 'repair') {
    io.err(`--lower applies to repair only.\n${USAGE}`);
    return 2;
  }
  const badItem = values.item?.find((id) => !/^[0-9a-f]{24}$/i.test(id));
  if (badItem !== undefined) {
    io.err(`--item ${JSON.stringify(badItem)} is not an item id (24 hexadecimal digits).`);
    return 2;
  }
  const times: Partial<Record<'from' | 'to', Date>> = {};
  for (const name of ['from', 'to'] as const) {
    const text = values[name];
    if (text === undefined) continue;
    const time = new Date(text);
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time.getTime())) {
      io.err(
        `--${name} ${JSON.stringify(text)} is not an ISO 8601 date or time (e.g. 2026-12-01 or 2026-12-01T13:00Z).`,
      );
      return 2;
    }
    times[name] = time;
  }
  return {
    command,
    itemIds: values.item?.map((id) => new Types.ObjectId(id)),
    ...times,
    lower: values.lower === true,
  };
}

/** Runs one parsed `rollups` command on a connection; returns the exit code. */
export async function runRollupsCommand(
  connection: Connection,
  config: GavelConfig,
  clock: Clock,
  { command, itemIds, lower, ...times }: RollupsCommand,
  io: CliOutput,
): Promise<number> {
  if (command === 'move-sketches') return moveSketches(connection, io);
  const checkable = checkableHours(clock.now(), config.retentionDays * DAY_MS, config.tracking.rollupRecoveryGraceMs);
  // Whole hours only: a rollup counts an hour as a whole.
  const from = new Date(
    Math.max(checkable.from.getTime(), Math.ceil((times.from?.getTime() ?? -Infinity) / HOUR_MS) * HOUR_MS),
  );
  const to = new Date(
    Math.min(checkable.to.getTime(), Math.floor((times.to?.getTime() ?? Infinity) / HOUR_MS) * HOUR_MS),
  );
  if (times.from && times.from < checkable.from)
    io.err(`Hours before ${checkable.from.toISOString()} cannot be recounted (raw events are kept RETENTION_DAYS).`);
  if (times.to && times.to > checkable.to)
    io.err(`Hours from ${checkable.to.toISOString()} on are still open to increments; they are left out.`);

  const report = await checkRollups(
    createTrackingRepository(connection),
    createAuctionItemRepository(connection),
    { from, to },
    { itemIds, repair: command === 'repair', lower },
  );
  for (const difference of report.differences)
    io.out(
      [
        difference.itemId.toHexString(),
        difference.hourBucket.toISOString(),
        difference.source,
        difference.counter,
        difference.stored,
        difference.counted,
      ].join('\t'),
    );
  const below = report.differences.filter((difference) => difference.stored < difference.counted).length;
  io.err(
    `Checked ${report.items} items from ${report.from.toISOString()} to ${report.to.toISOString()}: ` +
      (report.differences.length === 0
        ? 'every counter matches its events.'
        : `${report.differences.length} counters differ (${below} below their events, ` +
          `${report.differences.length - below} above).`) +
      (command === 'repair' ? ` Rebuilt ${report.repairedBuckets} hours from their events.` : ''),
  );
  return command === 'check' && report.differences.length > 0 ? 1 : 0;
}

/** `rollups move-sketches`: see {@link LegacySketches.move}. */
async function moveSketches(connection: Connection, io: CliOutput): Promise<number> {
  // Always a scan, whatever was recorded: a row an older version wrote after the record is moved too.
  const { moved, done } = await new LegacySketches(connection, createTrackingRepository(connection)).move();
  if (done && moved === 0) {
    io.err('No rollup row carries unique sketches: nothing to move.');
    return 0;
  }
  if (done) {
    io.err(
      `Moved the unique sketches of ${moved} item-days into item_day_sketches. ` +
        'Running instances stop reading the rollup rows for them within a minute.',
    );
    return 0;
  }
  io.err(
    `Moved the unique sketches of ${moved} item-days, but rollup rows keep gaining sketches: an instance of an older ` +
      'version is still running. Run this again once every instance runs this version.',
  );
  return 1;
}

/** `npm run rollups` / `gavel rollups`: connects as the server would, runs the command, disconnects. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliOutput): Promise<number> {
  const command = parseRollupsCommand(argv, io);
  if (typeof command === 'number') return command;
  return withConfiguredDatabase(env, io, (config, connection) =>
    runRollupsCommand(connection, config, systemClock, command, io),
  );
}
