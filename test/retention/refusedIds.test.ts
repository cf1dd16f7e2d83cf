import 'reflect-metadata';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mongo, Types } from 'mongoose';
import { readArchive } from '../../src/retention/archive';
import type { StoredDocument } from '../../src/retention/retention.repository';
import { ManualClock } from '../../src/shared/clock';
import { Pseudonymizer } from '../../src/shared/privacy';
import {
  EraseSubjectDocument,
  PurgeExpiredDataDocument,
  TrackImpressionsDocument,
  type ImpressionInput,
} from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type TestApp } from '../support/testApp';
import { executeOverWebsocket } from '../support/websocket';

/**
 * Issue 19, finding 3: user and session ids that tracking refuses (INVALID) are kept as audit rows.
 * They used to be stored as sent, while eraseSubject refused the same values: an erasure gap. Now
 * no stored document holds them (a keyed pseudonym instead), and eraseSubject takes any value
 * tracking was sent, and removes its rows from the database and from the archives.
 */

const DAY = 86_400_000;
const NOW = '2026-06-01T12:00:00.000Z';
const PRIVACY_SECRET = 'refused-ids-test-secret-0123456789abcdef';
const pseudonyms = new Pseudonymizer(PRIVACY_SECRET);
const clock = new ManualClock(NOW);

const ALICE = 'alice@example.com';
const JURGEN = 'jürgen';
/** Longer than the 256 characters audit copies were cut to. */
const LONG = `${'x'.repeat(300)}@example.com`;
const BAD_SESSION = 'a session/with spaces ü';
/** Someone else with a refused user id: stays. */
const CAROL = 'carol@example.com';
/** What must never be stored in any form a reader could recover: the refused values themselves. */
const RAW = [/alice@example\.com/, /jürgen|j\\u00fcrgen/, /x{64}/, /session\/with spaces/, /carol@example\.com/];

let app: TestApp;
let archiveDir: string;
let item: string;

beforeAll(async () => {
  archiveDir = await fs.mkdtemp(path.join(tmpdir(), 'gavel-refused-ids-'));
  app = await startTestApp({
    clock,
    periodicJobs: false,
    env: { GAVEL_SEED_DEMO: 'false', ARCHIVE_DIR: archiveDir, WS_ALLOW_QUERIES: 'true', PRIVACY_SECRET },
  });
  item = (await insertDemoItems(app, 1))[0]!;
});
afterAll(async () => {
  await app?.stop();
  await fs.rm(archiveDir, { recursive: true, force: true });
});

const events = () => app.database.connection.collection<StoredDocument>('tracking_events');

/** Every document of every collection of the app's database, as canonical EJSON lines. */
async function databaseDump(): Promise<string[]> {
  const lines: string[] = [];
  for (const { name } of await app.database.connection.db!.listCollections().toArray())
    for (const document of await app.database.connection.collection(name).find().toArray())
      lines.push(mongo.BSON.EJSON.stringify(document, { relaxed: false }));
  return lines;
}

/** The text of every archive file (decompressed) and manifest. */
async function archiveText(): Promise<string> {
  const texts: string[] = [];
  for (const type of await fs.readdir(archiveDir))
    for (const name of await fs.readdir(path.join(archiveDir, type))) {
      const bytes = await fs.readFile(path.join(archiveDir, type, name));
      texts.push(
        name.endsWith('.gz') && bytes.length > 0 ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8'),
      );
    }
  return texts.join('\n');
}

/** Every document of every archive. */
async function archived(): Promise<StoredDocument[]> {
  const documents: StoredDocument[] = [];
  for (const type of await fs.readdir(archiveDir))
    for (const name of await fs.readdir(path.join(archiveDir, type)))
      if (name.endsWith('.manifest.json'))
        for await (const document of readArchive(path.join(archiveDir, type, name))) documents.push(document);
  return documents;
}

async function track(over: 'http' | 'ws', events: ImpressionInput[]): Promise<string[]> {
  const variables = { events };
  const response =
    over === 'http'
      ? await execute(app, TrackImpressionsDocument, variables, BROWSER)
      : await executeOverWebsocket(app, TrackImpressionsDocument, variables, { headers: BROWSER });
  expect(response.errors).toBeUndefined();
  return response.data!.trackImpressions.events.map((event) => event.outcome);
}

async function erase(over: 'http' | 'ws', subject: { userId?: string; sessionId?: string }) {
  const response =
    over === 'http'
      ? await execute(app, EraseSubjectDocument, subject)
      : await executeOverWebsocket(app, EraseSubjectDocument, subject);
  expect(response.errors).toBeUndefined();
  return response.data!.eraseSubject;
}

/** One round of events of everyone, half over HTTP and half over graphql-ws (swapped in round 2). */
async function trackRound(round: 1 | 2): Promise<void> {
  const [one, other] = round === 1 ? (['http', 'ws'] as const) : (['ws', 'http'] as const);
  const event = (sessionId: string, userId?: string): ImpressionInput => ({
    itemId: item,
    sessionId,
    source: 'SEARCH' as ImpressionInput['source'],
    ...(userId === undefined ? {} : { userId }),
  });
  // Alice's refused user id, and her session's anonymous (counted) event.
  expect(await track(one, [event(`s-alice-${round}`, ALICE), event(`s-alice-${round}`)])).toEqual([
    'INVALID',
    'ACCEPTED',
  ]);
  expect(await track(other, [event(`s-jurgen-${round}`, JURGEN)])).toEqual(['INVALID']);
  expect(await track(one, [event(`s-long-${round}`, LONG)])).toEqual(['INVALID']);
  expect(await track(other, [event(BAD_SESSION)])).toEqual(['INVALID']);
  expect(await track(one, [event(`s-bob-${round}`, 'bob'), event(`s-carol-${round}`, CAROL)])).toEqual([
    'ACCEPTED',
    'INVALID',
  ]);
}

/** Whether a stored event belongs to someone who is not erased here (Bob, Carol). */
const isOthers = (document: StoredDocument) => /^s-(bob|carol)-/.test(String(document.sessionId));

describe('refused user and session ids (issue 19, finding 3)', () => {
  it('are stored only as the keyed pseudonym erasure computes, in the database and in the archives', async () => {
    await trackRound(1);
    // Round 1 expires (counted events after 90 days, audit rows after 30) and goes to the archives.
    clock.advance(91 * DAY);
    const purged = await execute(app, PurgeExpiredDataDocument, {});
    expect(purged.errors).toBeUndefined();
    const byType = Object.fromEntries(purged.data!.purgeExpiredData.types.map((entry) => [entry.dataType, entry]));
    expect(byType.COUNTED_EVENTS).toMatchObject({ count: 2, archived: 2, error: null });
    expect(byType.AUDIT_EVENTS).toMatchObject({ count: 5, archived: 5, error: null });
    await trackRound(2);

    const stored = await events().find().toArray();
    const inArchives = await archived();
    for (const [documents, count] of [
      [stored, 7],
      [inArchives, 7],
    ] as const) {
      expect(documents).toHaveLength(count);
      const userIds = documents.map((document) => document.userId).filter((id) => id !== undefined);
      expect(new Set(userIds)).toEqual(
        new Set([ALICE, JURGEN, LONG, CAROL].map((id) => pseudonyms.storedId(id)).concat('bob')),
      );
      expect(documents.filter((document) => document.sessionId === pseudonyms.storedId(BAD_SESSION))).toHaveLength(1);
    }
    // A pseudonym is `~` and 16 characters: never the shape of an id stored as sent.
    expect(pseudonyms.storedId(ALICE)).toMatch(/^~[A-Za-z0-9_-]{16}$/);
    expect(pseudonyms.storedId('bob')).toBe('bob');

    // Nothing anywhere holds a refused value: neither the database nor any archive file.
    const everything = [...(await databaseDump()), await archiveText()].join('\n');
    expect(everything).toContain(pseudonyms.storedId(ALICE));
    for (const raw of RAW) expect(everything).not.toMatch(raw);
  });

  it('eraseSubject takes every value tracking accepted as input and removes it from the database and the archives', async () => {
    // A row stored before refused ids were pseudonymised: the value as sent (cut to 256 characters).
    const legacy = {
      _id: new Types.ObjectId(),
      type: 'IMPRESSION',
      itemId: new Types.ObjectId(item),
      sessionId: 's-alice-0',
      userId: ALICE,
      source: 'SEARCH',
      receivedAt: clock.now(),
      ip: 'pseudonym',
      outcome: 'INVALID',
    };
    await events().insertOne(legacy as never);

    expect(await erase('http', { userId: ALICE })).toEqual({
      sessions: 3,
      countedEvents: 1,
      auditEvents: 2,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: 2,
      archiveFiles: 2,
    });
    expect(await erase('ws', { userId: JURGEN })).toEqual({
      sessions: 2,
      countedEvents: 0,
      auditEvents: 1,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: 1,
      archiveFiles: 1,
    });
    expect(await erase('http', { userId: LONG })).toMatchObject({ auditEvents: 1, archivedEvents: 1 });
    expect(await erase('ws', { sessionId: BAD_SESSION })).toEqual({
      sessions: 1,
      countedEvents: 0,
      auditEvents: 1,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: 1,
      archiveFiles: 1,
    });

    // Only Bob's and Carol's events are left, in the database and in the archives.
    const left = await events().find().toArray();
    expect(left).toHaveLength(2);
    expect(left.every(isOthers)).toBe(true);
    const inArchives = await archived();
    expect(inArchives).toHaveLength(2);
    expect(inArchives.every(isOthers)).toBe(true);

    // The erasure records name the subject by the same keyed pseudonym, never in clear.
    const records = await app.database.connection
      .collection('erasure_records')
      .find({}, { sort: { _id: 1 } })
      .toArray();
    expect(records.map((record) => record.subjectPseudonym)).toEqual(
      [ALICE, JURGEN, LONG, BAD_SESSION].map((id) => pseudonyms.storedId(id).slice(1)),
    );
    const everything = [...(await databaseDump()), await archiveText()].join('\n');
    for (const raw of RAW) expect(everything).not.toMatch(raw);
    for (const id of [ALICE, JURGEN, LONG, BAD_SESSION]) expect(everything).not.toContain(pseudonyms.storedId(id));
    expect(everything).toContain(pseudonyms.storedId(CAROL));
  });
});
