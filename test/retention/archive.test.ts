import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { mongo, Types } from 'mongoose';
import { ManualClock } from '../../src/shared/clock';
import { readArchive, restoreArchive, type ArchiveManifest } from '../../src/retention/archive';
import type { RetentionDataType } from '../../src/retention/retention.repository';
import type { StoredDocument } from '../../src/retention/retention.repository';
import { EraseSubjectDocument, PurgeExpiredDataDocument } from '../generated/graphql';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';

const DAY = 86_400_000;
const NOW = '2026-06-01T12:00:00.000Z';
const clock = new ManualClock(NOW);
const root = path.join(__dirname, '..', '..');
let app: TestApp;
let archiveDir: string;
const archiveFailures: RetentionDataType[] = [];

beforeAll(async () => {
  archiveDir = await fs.mkdtemp(path.join(tmpdir(), 'gavel-archive-'));
  app = await startTestApp({
    clock,
    periodicJobs: false,
    retentionMetrics: { archiveFailed: (type) => archiveFailures.push(type) },
    env: { GAVEL_SEED_DEMO: 'false', ARCHIVE_DIR: archiveDir, PURGE_BATCH_SIZE: '10' },
  });
});
afterAll(async () => {
  await app.stop();
  await fs.rm(archiveDir, { recursive: true, force: true });
});

const events = () => app.database.connection.collection<StoredDocument>('tracking_events');
const at = (daysAgo: number, ms = 0) => new Date(new Date(NOW).getTime() - daysAgo * DAY + ms);
const canonical = (documents: readonly StoredDocument[]) =>
  documents.map((document) => mongo.BSON.EJSON.stringify(document, { relaxed: false })).sort();

/** An event of `userId` (none: anonymous) in the session `s-<userId>` unless another is given. */
function rawEvent(receivedAt: Date, outcome: string, userId: string | undefined, sessionId = `s-${userId}`) {
  return {
    _id: new Types.ObjectId(),
    type: 'CLICK',
    itemId: new Types.ObjectId(),
    sessionId,
    ...(userId ? { userId } : {}),
    source: 'SEARCH',
    position: 3,
    clientTimestamp: new Date(receivedAt.getTime() - 1_000),
    receivedAt,
    ip: 'pseudonym',
    outcome,
  } as StoredDocument;
}

const purge = async () => {
  const response = await execute(app, PurgeExpiredDataDocument, {});
  expect(response.errors).toBeUndefined();
  return Object.fromEntries(response.data!.purgeExpiredData.types.map((entry) => [entry.dataType, entry]));
};

async function archiveOf(type: string, day: string): Promise<StoredDocument[]> {
  const documents: StoredDocument[] = [];
  for await (const document of readArchive(path.join(archiveDir, type, `${day}.ndjson.gz`))) documents.push(document);
  return documents;
}

describe('archives before deletion (ARCHIVE_DIR)', () => {
  // Two UTC days of expired counted events and audit rows of two users, and recent ones that stay.
  const dayA = at(95); // 2026-02-26
  const dayB = at(94);
  const expiredCounted = [
    ...Array.from({ length: 23 }, (_, i) =>
      rawEvent(new Date(dayA.getTime() + i), 'ACCEPTED', i % 2 ? 'alice' : 'bob'),
    ),
    ...Array.from({ length: 12 }, (_, i) =>
      rawEvent(new Date(dayB.getTime() + i), 'ACCEPTED', i % 2 ? 'alice' : 'bob'),
    ),
  ];
  const expiredAudit = [
    ...Array.from({ length: 14 }, (_, i) =>
      // Alice's last one in a second session, seen nowhere else but in the archive.
      rawEvent(new Date(at(40).getTime() + i), 'FLAGGED', i % 2 ? 'alice' : 'bob', i === 13 ? 's-alice-2' : undefined),
    ),
    // Before Alice signed in: her session, no user id.
    rawEvent(new Date(at(40).getTime() + 14), 'FLAGGED', undefined, 's-alice'),
  ];
  /** Alice's events: those with her user id, and the anonymous ones of her sessions. */
  const ofAlice = (event: StoredDocument) =>
    event.userId === 'alice' || ['s-alice', 's-alice-2'].includes(event.sessionId as string);
  const others = (list: StoredDocument[]) => list.filter((event) => !ofAlice(event));
  const recent = [rawEvent(at(10), 'ACCEPTED', 'alice'), rawEvent(at(10), 'FLAGGED', 'bob')];
  const day = (date: Date) => date.toISOString().slice(0, 10);

  it('a failing archive write deletes nothing, is reported, and counted for metrics', async () => {
    await events().insertMany([...expiredCounted, ...expiredAudit, ...recent] as never[]);
    // A file where the archive needs a folder: the write fails.
    await fs.writeFile(path.join(archiveDir, 'COUNTED_EVENTS'), 'in the way');
    const report = await purge();
    expect(report.COUNTED_EVENTS).toMatchObject({ count: 0, archived: 0 });
    expect(report.COUNTED_EVENTS!.error).toMatch(/archive failed/);
    expect(archiveFailures).toEqual(['COUNTED_EVENTS']);
    expect(await events().countDocuments({ outcome: 'ACCEPTED' })).toBe(expiredCounted.length + 1);
    // The other raw type is independent.
    expect(report.AUDIT_EVENTS).toMatchObject({
      count: expiredAudit.length,
      archived: expiredAudit.length,
      error: null,
    });
    await fs.rm(path.join(archiveDir, 'COUNTED_EVENTS'));
  });

  it('archives then deletes: archived = deleted, checksums verify, read-back equals the originals', async () => {
    const report = await purge();
    expect(report.COUNTED_EVENTS).toMatchObject({
      count: expiredCounted.length,
      archived: expiredCounted.length,
      error: null,
    });
    expect(await events().countDocuments()).toBe(recent.length);

    const manifest = JSON.parse(
      await fs.readFile(path.join(archiveDir, 'COUNTED_EVENTS', `${day(dayA)}.manifest.json`), 'utf8'),
    ) as ArchiveManifest;
    // 23 events of day A in batches of 10: a part per batch, each with its checksum. Three parts
    // where batches come in date order; more where a sharded engine merges its shards' matches
    // in another order (batches then mix days A and B).
    expect(manifest).toMatchObject({ type: 'COUNTED_EVENTS', day: day(dayA), count: 23, from: dayA.toISOString() });
    const parts = manifest.parts.map((part) => part.count);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...parts)).toBeLessThanOrEqual(10);
    expect(parts.reduce((sum, count) => sum + count, 0)).toBe(23);
    expect(manifest.to).toBe(new Date(dayA.getTime() + 22).toISOString());

    const archivedA = await archiveOf('COUNTED_EVENTS', day(dayA));
    const archivedB = await archiveOf('COUNTED_EVENTS', day(dayB));
    expect(canonical([...archivedA, ...archivedB])).toEqual(canonical(expiredCounted));
    expect(canonical(await archiveOf('AUDIT_EVENTS', day(at(40))))).toEqual(canonical(expiredAudit));
    // The whole file is one valid gzip stream too (concatenated members): zcat reads it.
    const { stdout } = await promisify(execFile)('zcat', [
      path.join(archiveDir, 'COUNTED_EVENTS', `${day(dayB)}.ndjson.gz`),
    ]);
    expect(stdout.trim().split('\n')).toHaveLength(12);
  });

  it('archive:read streams an archive back; a corrupted byte fails its checksum', async () => {
    const file = path.join(archiveDir, 'COUNTED_EVENTS', `${day(dayB)}.ndjson.gz`);
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'archive:read', '--', file], { cwd: root });
    const lines = stdout.trim().split('\n');
    expect(canonical(lines.map((line) => mongo.BSON.EJSON.parse(line, { relaxed: false }) as StoredDocument))).toEqual(
      canonical(expiredCounted.slice(23)),
    );
    const copy = path.join(archiveDir, 'copy');
    await fs.mkdir(copy);
    await fs.copyFile(
      path.join(archiveDir, 'COUNTED_EVENTS', `${day(dayB)}.manifest.json`),
      path.join(copy, `${day(dayB)}.manifest.json`),
    );
    const bytes = await fs.readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 12) ^ 0xff, bytes.length - 12);
    await fs.writeFile(path.join(copy, `${day(dayB)}.ndjson.gz`), bytes);
    await expect(archiveOf('copy', day(dayB))).rejects.toThrow(/SHA-256/);
    await fs.rm(copy, { recursive: true });
  });

  it('archive:restore reloads a day into a database, repeatably', async () => {
    const scratch = app.database.connection.collection<StoredDocument>('restored_events');
    const file = path.join(archiveDir, 'COUNTED_EVENTS', `${day(dayA)}.manifest.json`);
    expect(await restoreArchive(file, scratch)).toEqual({ read: 23, inserted: 23 });
    expect(await restoreArchive(file, scratch)).toEqual({ read: 23, inserted: 0 });
    expect(canonical(await scratch.find().toArray())).toEqual(canonical(expiredCounted.slice(0, 23)));
  });

  it('eraseSubject: while another instance purges into the archives it is refused, nothing erased', async () => {
    const leases = app.database.connection.collection<{ _id: string; holder: string; until: Date }>('retention_leases');
    await leases.insertOne({
      _id: 'purge',
      holder: 'other-instance',
      until: new Date(new Date(NOW).getTime() + 60_000),
    });
    const response = await execute(app, EraseSubjectDocument, { userId: 'alice' });
    expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await events().countDocuments({ userId: 'alice' })).toBe(1);
    await leases.deleteOne({ _id: 'purge' });
  });

  it('eraseSubject rewrites the archives without the subject and its sessions, and leaves everyone else', async () => {
    // Anonymous, recent: one in the session Alice was seen in only in the archive, one of someone else.
    await events().insertMany([
      rawEvent(at(10), 'ACCEPTED', undefined, 's-alice-2'),
      rawEvent(at(10), 'ACCEPTED', undefined, 's-carol'),
    ] as never[]);
    const response = await execute(app, EraseSubjectDocument, { userId: 'alice' });
    expect(response.errors).toBeUndefined();
    const aliceArchived = [...expiredCounted, ...expiredAudit].filter(ofAlice).length;
    // 17 counted with her id; 7 audit with her id, 1 anonymous in her session.
    expect(aliceArchived).toBe(17 + 7 + 1);
    expect(response.data!.eraseSubject).toEqual({
      sessions: 2,
      countedEvents: 2,
      auditEvents: 0,
      searchEvents: 0,
      conversions: 0,
      funnelJourneys: 0,
      bidderWeeks: 0,
      experimentExposures: 0,
      archivedEvents: aliceArchived,
      archiveFiles: 3,
    });
    expect(canonical(await archiveOf('COUNTED_EVENTS', day(dayA)))).toEqual(
      canonical(others(expiredCounted.slice(0, 23))),
    );
    expect(canonical(await archiveOf('COUNTED_EVENTS', day(dayB)))).toEqual(
      canonical(others(expiredCounted.slice(23))),
    );
    expect(canonical(await archiveOf('AUDIT_EVENTS', day(at(40))))).toEqual(canonical(others(expiredAudit)));
    // No trace in any file of the archive folder, old data files included.
    const files = await fs.readdir(path.join(archiveDir, 'COUNTED_EVENTS'));
    expect(files.filter((name) => name.endsWith('.gz'))).toHaveLength(2);
    const { stdout } = await promisify(execFile)('sh', ['-c', `for f in ${archiveDir}/*/*.gz; do zcat "$f"; done`]);
    expect(stdout).not.toMatch(/alice/);
    expect(stdout).toMatch(/bob/);
    expect(await events().countDocuments({ userId: 'alice' })).toBe(0);
    expect(await events().countDocuments({ sessionId: { $in: ['s-alice', 's-alice-2'] } })).toBe(0);
    expect(await events().countDocuments({ userId: 'bob' })).toBe(1);
    expect(await events().countDocuments({ sessionId: 's-carol' })).toBe(1);
  });
});
