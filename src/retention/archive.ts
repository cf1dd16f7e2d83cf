import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mongo } from 'mongoose';
import { insertManyExceptDuplicates } from '../db/bulkWrites';
import { isOfSubject, type ErasureSubject, type StoredDocument } from './retention.repository';

const { EJSON } = mongo.BSON;

/** One appended gzip member of an archive file: what one purge batch of one day wrote. */
export interface ArchivePart {
  /** Byte offset of the member in the data file. */
  readonly offset: number;
  readonly length: number;
  /** SHA-256 (hex) of the member's bytes as written. */
  readonly sha256: string;
  /** Documents in the member (NDJSON lines). */
  readonly count: number;
  /** Earliest and latest date of the member's documents (the type's date field), ISO 8601. */
  readonly from: string;
  readonly to: string;
}

/** The manifest of one data type's archive of one UTC day: `<type>/<day>.manifest.json`. */
export interface ArchiveManifest {
  readonly type: string;
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly format: 'gzip-members/ndjson/ejson-canonical';
  /** Data file name, in the manifest's folder (an erasure rewrites the data into a new one). */
  file: string;
  /** Committed length of the data file; bytes beyond it are a crashed append, cut off before the next one. */
  bytes: number;
  /** Documents in all parts. */
  count: number;
  from: string | null;
  to: string | null;
  parts: ArchivePart[];
}

/**
 * Where expired raw events go before they are deleted. The purge calls {@link ArchiveSink.append}
 * and deletes a batch only when it resolved: a sink resolves only once the batch is durable and
 * verified. An object-store sink implements the same three methods (see docs/privacy.md
 * "Archives").
 */
export interface ArchiveSink {
  /** Archives documents of `type` whose `dateField` falls on one UTC `day`; durable and verified when it resolves. */
  append(type: string, day: string, dateField: string, documents: readonly StoredDocument[]): Promise<void>;
  /** The session ids of the archived documents of these types that carry one of `userIds`. */
  sessionsOfUser(types: readonly string[], userIds: readonly string[]): Promise<string[]>;
  /** Removes the subject's documents from every archive of these types; returns what was removed. */
  erase(types: readonly string[], subject: ErasureSubject): Promise<{ documents: number; files: number }>;
}

/** Thrown when an archive cannot be written or does not verify: nothing may be deleted. */
export class ArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveError';
  }
}

const MANIFEST_SUFFIX = '.manifest.json';

/** The manifest path belonging to an archive data file or manifest path. */
export function manifestPathOf(file: string): string {
  if (file.endsWith(MANIFEST_SUFFIX)) return file;
  const day = path.basename(file).split('.')[0]!;
  return path.join(path.dirname(file), `${day}${MANIFEST_SUFFIX}`);
}

async function readManifest(file: string): Promise<ArchiveManifest | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ArchiveManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a file durably: temporary name, fsync, rename over, fsync of the folder. */
async function writeDurably(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await fs.open(temporary, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
  await syncFolder(path.dirname(file));
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The date span of documents, ISO 8601, by their `dateField`. */
function spanOf(documents: readonly StoredDocument[], dateField: string): { from: string; to: string } {
  const times = documents.map((document) => new Date(document[dateField] as Date).getTime());
  return { from: new Date(Math.min(...times)).toISOString(), to: new Date(Math.max(...times)).toISOString() };
}

/** Encodes documents as one gzip member of canonical-EJSON lines (types such as ObjectId and Date survive). */
function encode(documents: readonly StoredDocument[]): Buffer {
  return gzipSync(documents.map((document) => `${EJSON.stringify(document, { relaxed: false })}\n`).join(''));
}

/** Decodes one member's bytes into documents. */
function decode(member: Buffer): StoredDocument[] {
  return gunzipSync(member)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => EJSON.parse(line, { relaxed: false }) as StoredDocument);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Reads `length` bytes at `offset` of a file. */
async function readRange(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    if (bytesRead !== length)
      throw new ArchiveError(`${file}: expected ${length} bytes at ${offset}, read ${bytesRead}`);
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * Appends `member` to `file` at `offset` (cutting off anything beyond it first: the remains of a
 * crashed append that no manifest committed), fsyncs, reads it back and checks its checksum and
 * its documents' ids. Returns the part to commit in the manifest.
 */
async function writePart(
  file: string,
  offset: number,
  documents: readonly StoredDocument[],
  dateField: string,
): Promise<ArchivePart> {
  const member = encode(documents);
  // 'a+' creates the file when missing; writes append, which after the truncation is at `offset`.
  const handle = await fs.open(file, 'a+');
  try {
    await handle.truncate(offset);
    await handle.write(member, 0, member.length, offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const part: ArchivePart = {
    offset,
    length: member.length,
    sha256: sha256(member),
    count: documents.length,
    ...spanOf(documents, dateField),
  };
  const stored = await readRange(file, offset, member.length);
  if (sha256(stored) !== part.sha256) throw new ArchiveError(`${file}: the part read back does not match its checksum`);
  const back = decode(stored);
  if (
    back.length !== documents.length ||
    back.some((document, i) => String(document._id) !== String(documents[i]!._id))
  )
    throw new ArchiveError(`${file}: the part read back does not hold the documents written`);
  return part;
}

/**
 * The documents of one archive (a data file or its manifest), part by part, each part's checksum
 * verified first (a mismatch throws {@link ArchiveError}). Documents appear once even when a
 * crash between archiving and deleting made a later purge archive them again.
 */
export async function* readArchive(file: string): AsyncGenerator<StoredDocument> {
  const manifestPath = manifestPathOf(file);
  const manifest = await readManifest(manifestPath);
  if (!manifest) throw new ArchiveError(`${manifestPath}: no manifest; not an archive written by Gavel`);
  const dataFile = path.join(path.dirname(manifestPath), manifest.file);
  const seen = new Set<string>();
  for (const part of manifest.parts) {
    const member = await readRange(dataFile, part.offset, part.length);
    if (sha256(member) !== part.sha256)
      throw new ArchiveError(`${dataFile}: part at byte ${part.offset} fails its SHA-256 check`);
    for (const document of decode(member)) {
      const id = String(document._id);
      if (seen.has(id)) continue;
      seen.add(id);
      yield document;
    }
  }
}

/**
 * Archives on a local (or mounted) file system: `<dir>/<type>/<day>.ndjson.gz` plus
 * `<day>.manifest.json`, one per data type and UTC day. Each purge batch is one gzip member
 * appended to its day's file (concatenated members are one valid gzip stream: `zcat` reads the
 * file), committed by rewriting the manifest atomically after the member is fsynced and verified.
 * Operations of one process are serialised; run the purge of one deployment on one archive
 * folder at a time (see docs/privacy.md "Archives").
 */
export class FileArchiveSink implements ArchiveSink {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  append(type: string, day: string, dateField: string, documents: readonly StoredDocument[]): Promise<void> {
    return this.serialised(async () => {
      if (documents.length === 0) return;
      try {
        const folder = path.join(this.dir, type);
        await fs.mkdir(folder, { recursive: true });
        const manifestPath = path.join(folder, `${day}${MANIFEST_SUFFIX}`);
        const manifest: ArchiveManifest = (await readManifest(manifestPath)) ?? {
          type,
          day,
          format: 'gzip-members/ndjson/ejson-canonical',
          file: `${day}.ndjson.gz`,
          bytes: 0,
          count: 0,
          from: null,
          to: null,
          parts: [],
        };
        const part = await writePart(path.join(folder, manifest.file), manifest.bytes, documents, dateField);
        manifest.parts.push(part);
        manifest.bytes = part.offset + part.length;
        manifest.count += part.count;
        manifest.from = manifest.from && manifest.from < part.from ? manifest.from : part.from;
        manifest.to = manifest.to && manifest.to > part.to ? manifest.to : part.to;
        await writeDurably(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
      } catch (error) {
        throw error instanceof ArchiveError
          ? error
          : new ArchiveError(`archiving ${documents.length} ${type} of ${day} failed: ${(error as Error).message}`, {
              cause: error,
            });
      }
    });
  }

  /**
   * Rewrites every archive of these types that holds the subject's documents without them: the
   * remaining documents go to a new data file (fsynced, verified part by part), the manifest is
   * switched to it atomically, then the old file is deleted. A crash leaves either the old or
   * the new archive whole.
   */
  erase(types: readonly string[], subject: ErasureSubject): Promise<{ documents: number; files: number }> {
    return this.serialised(async () => {
      let documents = 0;
      let files = 0;
      for (const manifestPath of await this.manifests(types)) {
        const removed = await this.rewriteWithout(manifestPath, subject);
        if (removed > 0) {
          documents += removed;
          files++;
        }
      }
      return { documents, files };
    });
  }

  sessionsOfUser(types: readonly string[], userIds: readonly string[]): Promise<string[]> {
    return this.serialised(async () => {
      const wanted = new Set(userIds);
      const sessions = new Set<string>();
      for (const manifestPath of await this.manifests(types))
        for await (const document of readArchive(manifestPath))
          if (
            typeof document.userId === 'string' &&
            wanted.has(document.userId) &&
            typeof document.sessionId === 'string'
          )
            sessions.add(document.sessionId);
      return [...sessions];
    });
  }

  /** The manifest files of these types' archives. */
  private async manifests(types: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (const type of types) {
      const folder = path.join(this.dir, type);
      const names = await fs.readdir(folder).catch(() => [] as string[]);
      for (const name of names) if (name.endsWith(MANIFEST_SUFFIX)) found.push(path.join(folder, name));
    }
    return found;
  }

  private async rewriteWithout(manifestPath: string, subject: ErasureSubject): Promise<number> {
    const manifest = (await readManifest(manifestPath))!;
    const folder = path.dirname(manifestPath);
    const oldFile = path.join(folder, manifest.file);
    // A first pass reads only: most archives do not hold the subject and are left untouched.
    let removed = 0;
    for await (const document of readArchive(manifestPath)) if (isOfSubject(document, subject)) removed++;
    if (removed === 0) return 0;
    const newName = `${manifest.day}.e${Date.now().toString(36)}.ndjson.gz`;
    const rewritten: ArchiveManifest = {
      ...manifest,
      file: newName,
      bytes: 0,
      count: 0,
      from: null,
      to: null,
      parts: [],
    };
    const dateField = 'receivedAt';
    const seen = new Set<string>();
    for (const part of manifest.parts) {
      const kept = decode(await readRange(oldFile, part.offset, part.length)).filter((document) => {
        const id = String(document._id);
        if (seen.has(id) || isOfSubject(document, subject)) return false;
        seen.add(id);
        return true;
      });
      if (kept.length === 0) continue;
      const written = await writePart(path.join(folder, newName), rewritten.bytes, kept, dateField);
      rewritten.parts.push(written);
      rewritten.bytes += written.length;
      rewritten.count += written.count;
      rewritten.from = rewritten.from && rewritten.from < written.from ? rewritten.from : written.from;
      rewritten.to = rewritten.to && rewritten.to > written.to ? rewritten.to : written.to;
    }
    if (rewritten.parts.length === 0) await fs.writeFile(path.join(folder, newName), Buffer.alloc(0));
    await writeDurably(manifestPath, `${JSON.stringify(rewritten, null, 2)}\n`);
    await fs.rm(oldFile, { force: true });
    return removed;
  }

  private serialised<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Documents inserted per round trip by {@link restoreArchive}. */
const RESTORE_BATCH = 1_000;

/**
 * Loads an archive (a data file or its manifest) into `collection`, e.g. a scratch database for
 * an audit. Documents already present (same `_id`) are left as they are, so a restore can be
 * repeated. Returns the number of documents read and of documents inserted.
 */
export async function restoreArchive(
  file: string,
  collection: mongo.Collection<StoredDocument>,
): Promise<{ read: number; inserted: number }> {
  let read = 0;
  let inserted = 0;
  let batch: StoredDocument[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    // Duplicates (a repeated restore) are expected; anything else is not.
    const duplicates = await insertManyExceptDuplicates(collection, batch as never[]);
    inserted += batch.length - duplicates.size;
    batch = [];
  };
  for await (const document of readArchive(file)) {
    read++;
    batch.push(document);
    if (batch.length >= RESTORE_BATCH) await flush();
  }
  await flush();
  return { read, inserted };
}
