import { Types } from 'mongoose';
import { ManualClock } from '../../src/shared/clock';
import type { SearchDayRecord, SearchEventRecord, SearchPositionDayRecord } from '../../src/searches/searchEvent.model';
import {
  EraseSubjectDocument,
  PurgeExpiredDataDocument,
  RecordedSearchDocument,
  TrackClicksDocument,
  TrackImpressionsDocument,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';

/**
 * Search events and attributed clicks (issue 21): a first page with query words is recorded with
 * its searchId; a counted click that names it counts for its query, from the session that searched.
 */

const clock = new ManualClock('2026-03-01T12:00:00.000Z');
let app: TestApp;
/**
 * Each test flushes when it reads; and no retention round of the server's own may purge what the
 * retention test moves the clock past before the test purges it.
 */
const quiet = { periodicJobs: false, env: { GAVEL_SEED_DEMO: 'false', SEARCH_EVENTS_FLUSH_MS: '60000' } };

beforeAll(async () => {
  app = await startTestApp({ clock, ...quiet });
  await insertDemoItems(app, 40, 3);
});
afterAll(() => app?.stop());

const collection = <T extends object>(name: string) => app.database.connection.collection<T & { _id: unknown }>(name);

/** A search as a browser sends it, in `session` (none: no x-session-id). */
async function search(query: string | undefined, session?: string, after?: string) {
  const response = await execute(
    app,
    RecordedSearchDocument,
    { query, after },
    { ...BROWSER, ...(session ? { 'x-session-id': session } : {}) },
  );
  expect(response.errors).toBeUndefined();
  return response.data!.auctionItems;
}

async function click(sessionId: string, itemId: string, searchId: string | null | undefined, position?: number) {
  const response = await execute(
    app,
    TrackClicksDocument,
    { events: [{ sessionId, itemId, searchId, position, source: 'SEARCH' as const }] },
    BROWSER,
  );
  expect(response.errors).toBeUndefined();
  return response.data!.trackClicks;
}

async function dayRows(): Promise<SearchDayRecord[]> {
  await app.services.searches.flushRecorded();
  return collection<SearchDayRecord>('search_days').find().sort({ query: 1, filterKey: 1 }).toArray() as Promise<
    SearchDayRecord[]
  >;
}

it('records the first page of a search with query words, with a searchId, and no other page', async () => {
  const first = await search('Watch', 'searcher-1');
  expect(first.searchId).toMatch(/^[0-9a-f]{24}$/);
  const next = await search('Watch', 'searcher-1', first.pageInfo.endCursor!);
  expect(next.searchId).toBeNull();
  // Browsing without words is not a search.
  expect((await search(undefined, 'searcher-1')).searchId).toBeNull();
  await app.services.searches.flushRecorded();
  const stored = await collection<SearchEventRecord>('search_events').findOne({});
  expect(stored).toMatchObject({
    query: 'watch',
    filterKey: '',
    resultCount: 3,
    hasMore: true,
    sessionId: 'searcher-1',
  });
  expect(stored!._id.toString()).toBe(first.searchId);
  expect(await collection('search_events').countDocuments()).toBe(1);
});

it('counts searches, zero-result searches and attributed clicks per query and day', async () => {
  const session = 'searcher-2';
  const found = await search('vintage', session);
  await search('vintage', 'searcher-3');
  const nothing = await search('zzzzqqq', session);
  expect(nothing.edges).toEqual([]);
  const itemId = found.edges[1]!.node.id;
  await app.services.tracking.drainImplicitQueue();
  // The search page was the impression; the click names the search and its position.
  expect((await click(session, itemId, found.searchId, 1)).accepted).toBe(1);

  const rows = await dayRows();
  const vintage = rows.find((row) => row.query === 'vintage')!;
  expect(vintage).toMatchObject({
    searches: 2,
    zeroResults: 0,
    clicks: 1,
    clicksAt: { '1': 1 },
    clickedItems: { [itemId]: 1 },
  });
  expect(rows.find((row) => row.query === 'zzzzqqq')).toMatchObject({ searches: 1, zeroResults: 1, clicks: 0 });
  const positions = await collection<SearchPositionDayRecord>('search_position_days').findOne({});
  expect(positions!.clicks).toEqual({ '1': 1 });
  expect(positions!.shown['0']).toBeGreaterThanOrEqual(3);
});

it('attributes no click that another session sends, nor one that tracking does not count', async () => {
  const session = 'searcher-4';
  const found = await search('watch', session);
  const itemId = found.edges[0]!.node.id;
  await app.services.tracking.drainImplicitQueue();
  // Another session names the search: its click may count for the item, never for the search.
  const stranger = 'stranger-1';
  await execute(
    app,
    TrackImpressionsDocument,
    { events: [{ sessionId: stranger, itemId, source: 'SEARCH' as const }] },
    BROWSER,
  );
  expect((await click(stranger, itemId, found.searchId, 0)).accepted).toBe(1);
  // The searching session's second click on the same item in the cooldown is a duplicate.
  expect((await click(session, itemId, found.searchId, 0)).accepted).toBe(1);
  expect((await click(session, itemId, found.searchId, 0)).duplicates).toBe(1);
  const row = (await dayRows()).find((candidate) => candidate.query === 'watch')!;
  expect(row.clicks).toBe(1);
});

it('refuses a malformed searchId as INVALID, and counts a click naming an unknown search for the item only', async () => {
  const session = 'searcher-5';
  const found = await search('gold', session);
  const itemId = found.edges[0]!.node.id;
  await app.services.tracking.drainImplicitQueue();
  const malformed = await click(session, itemId, 'not-a-search');
  expect(malformed.events[0]).toMatchObject({
    outcome: 'INVALID',
    reason: 'searchId is not a searchId from auctionItems',
  });
  const before = await dayRows();
  expect((await click(session, itemId, '0123456789abcdef01234567', 2)).accepted).toBe(1);
  // Looked up once per flush, up to three flushes (another instance may not have written it yet).
  await dayRows();
  await dayRows();
  expect((await dayRows()).map((row) => row.clicks)).toEqual(before.map((row) => row.clicks));
});

it('writes what is waiting when the server stops', async () => {
  const found = await search('bronze', 'searcher-6');
  await app.stop();
  app = await startTestApp({ clock, databaseName: app.databaseName, ...quiet });
  const stored = collection<SearchEventRecord>('search_events');
  expect(await stored.countDocuments({ _id: new Types.ObjectId(found.searchId!) })).toBe(1);
});

it("erases a session's recorded searches with its events, and keeps the per query counts", async () => {
  const erased = 'erased-searcher';
  await search('watch', erased);
  await search('gold', 'kept-searcher');
  await app.services.searches.flushRecorded();
  const response = await execute(app, EraseSubjectDocument, { sessionId: erased });
  expect(response.errors).toBeUndefined();
  expect(response.data!.eraseSubject.searchEvents).toBe(1);
  const events = collection<SearchEventRecord>('search_events');
  expect(await events.countDocuments({ sessionId: erased })).toBe(0);
  expect(await events.countDocuments({ sessionId: 'kept-searcher' })).toBe(1);
  expect((await dayRows()).find((row) => row.query === 'watch')!.searches).toBeGreaterThan(0);
});

it('purges searches and their day counts after RETENTION_DAYS', async () => {
  await search('watch', 'old-searcher');
  await app.services.searches.flushRecorded();
  clock.advance(92 * 86_400_000);
  const response = await execute(app, PurgeExpiredDataDocument, { dryRun: false });
  expect(response.errors).toBeUndefined();
  const counts = Object.fromEntries(response.data!.purgeExpiredData.types.map((type) => [type.dataType, type.count]));
  expect(counts.SEARCH_EVENTS).toBeGreaterThan(0);
  expect(counts.SEARCH_ROLLUPS).toBeGreaterThan(0);
  expect(await collection('search_events').countDocuments()).toBe(0);
  expect(await collection('search_days').countDocuments()).toBe(0);
});

it('records no search when SEARCH_EVENTS_SAMPLE_RATE is 0, and every page still answers', async () => {
  const unrecorded = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', SEARCH_EVENTS_SAMPLE_RATE: '0' } });
  try {
    await insertDemoItems(unrecorded, 5, 3);
    const response = await execute(unrecorded, RecordedSearchDocument, { query: 'watch' }, BROWSER);
    expect(response.errors).toBeUndefined();
    expect(response.data!.auctionItems.searchId).toBeNull();
    await unrecorded.services.searches.flushRecorded();
    expect(await unrecorded.database.connection.collection('search_events').countDocuments()).toBe(0);
  } finally {
    await unrecorded.stop();
  }
});
