import 'reflect-metadata';
import { itemDayId } from '../../src/analytics/rollups.model';
import { ManualClock } from '../../src/shared/clock';
import { Types } from 'mongoose';
import { TrackClicksDocument, TrackImpressionsDocument } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { storedCounters } from '../support/rollups';
import { runGavel, type CommandResult } from '../support/serverProcess';
import { execute, startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
// Events tracked three hours ago (ten minutes into that hour): closed hours for the command, which
// runs on the real clock, and well inside the recovery grace.
const trackedAt = new Date(Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 10 * 60_000);
const hourTracked = new Date(Math.floor(trackedAt.getTime() / HOUR) * HOUR);
const clock = new ManualClock(trackedAt.toISOString());
let app: TestApp;
let items: string[];

beforeAll(async () => {
  app = await startTestApp({ clock, env: { GAVEL_SEED_DEMO: 'false', TRACKING_SESSION_EVENTS_PER_MINUTE: '100000' } });
  items = await insertDemoItems(app, 3, 5);
  for (let session = 0; session < 4; session++) {
    const sessionId = `cli-${session}`;
    const tracked = await execute(
      app,
      TrackImpressionsDocument,
      { events: items.map((itemId) => ({ itemId, sessionId, source: 'HOME' as const })) },
      BROWSER,
    );
    expect(tracked.data!.trackImpressions.accepted).toBe(items.length);
    const clicked = await execute(
      app,
      TrackClicksDocument,
      { events: [{ itemId: items[0]!, sessionId, source: 'HOME' as const }] },
      BROWSER,
    );
    expect(clicked.data!.trackClicks.accepted).toBe(1);
  }
});
afterAll(() => app.stop());

/** `npm run rollups -- …` (`gavel rollups …`) as its own process on this file's database. */
function rollups(...args: string[]): Promise<CommandResult> {
  return runGavel(['rollups', ...args], {
    NODE_ENV: 'test',
    MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
    MONGODB_DB: app.databaseName,
    ...(process.env.MONGODB_SHARDING ? { MONGODB_SHARDING: process.env.MONGODB_SHARDING } : {}),
  });
}

/** Adds `by` to one item's HOME impressions of the tracked hour, as a lost or doubled write would. */
async function skew(itemId: string, by: number): Promise<void> {
  const hour = (hourTracked.getTime() % (24 * HOUR)) / HOUR;
  const id = new Types.ObjectId(itemId);
  await app.database.connection
    .collection<{ _id: string }>('item_days')
    .updateOne({ _id: itemDayId(id, hourTracked), itemId: id }, { $inc: { [`hours.${hour}.HOME.impressions`]: by } });
}

const homeImpressions = async (itemId: string) =>
  (await storedCounters(app.database.connection, [itemId])).find((row) => row.source === 'HOME')?.impressions;

it('finds nothing to report when every counter matches its events', async () => {
  const checked = await rollups('check');
  expect(checked.stderr).toContain('Checked 3 items');
  expect(checked.stderr).toContain('every counter matches its events');
  expect(checked.stdout).toBe('');
  expect(checked.code).toBe(0);
}, 60_000);

it('reports lost and surplus counts, restores lost ones, and lowers surplus ones only with --lower', async () => {
  const [lost, surplus, intact] = items as [string, string, string];
  await skew(lost, -2);
  await skew(surplus, 3);
  const row = (itemId: string, stored: number) =>
    `${itemId}\t${hourTracked.toISOString()}\tHOME\timpressions\t${stored}\t4`;

  const checked = await rollups('check');
  expect(checked.code).toBe(1);
  expect(checked.stdout.trim().split('\n').sort()).toEqual([row(lost, 2), row(surplus, 7)].sort());
  expect(checked.stderr).toContain('2 counters differ (1 below their events, 1 above)');
  const one = await rollups('check', '--item', surplus);
  expect([one.code, one.stdout.trim()]).toEqual([1, row(surplus, 7)]);
  expect((await rollups('check', '--item', intact)).code).toBe(0);

  const repaired = await rollups('repair');
  expect(repaired.code).toBe(0);
  expect(repaired.stderr).toContain('Rebuilt 2 hours from their events');
  expect(await homeImpressions(lost)).toBe(4);
  // Erasure deletes events and keeps counters: a surplus stays unless asked for.
  expect(await homeImpressions(surplus)).toBe(7);
  expect((await rollups('check')).stdout.trim()).toBe(row(surplus, 7));

  expect((await rollups('repair', '--lower')).code).toBe(0);
  expect(await homeImpressions(surplus)).toBe(4);
  const clean = await rollups('check');
  expect([clean.code, clean.stdout]).toEqual([0, '']);
  // The clicks were never touched.
  const clicks = (await storedCounters(app.database.connection, [lost])).find((r) => r.source === 'HOME')?.clicks;
  expect(clicks).toBe(4);
}, 120_000);

it('leaves out hours that cannot be recounted and refuses malformed arguments', async () => {
  // The current hour is still open to increments: a range that only covers it checks nothing.
  const open = await rollups('check', '--from', new Date(Date.now() - HOUR).toISOString());
  expect(open.code).toBe(0);
  expect(open.stderr).toContain('Checked 0 items');
  const old = await rollups('check', '--from', '2001-01-01');
  expect(old.stderr).toContain('cannot be recounted (raw events are kept RETENTION_DAYS)');

  const refusals = await Promise.all([
    rollups('check', '--item', 'not-an-id'),
    rollups('check', '--from', 'yesterday'),
    rollups('check', '--to', '2026-13-45'),
    rollups('check', '--lower'),
    rollups('check', 'everything'),
    rollups('verify'),
    rollups('check', '--bogus'),
  ]);
  expect(refusals.map((result) => result.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
  expect(refusals[0]!.stderr).toContain('--item "not-an-id" is not an item id (24 hexadecimal digits)');
  expect(refusals[1]!.stderr).toContain('--from "yesterday" is not an ISO 8601 date or time');
  expect(refusals[2]!.stderr).toContain('--to "2026-13-45" is not an ISO 8601 date or time');
  expect(refusals[3]!.stderr).toContain('--lower applies to repair only');
  for (const refusal of refusals) expect(refusal.stdout).toBe('');
}, 120_000);
