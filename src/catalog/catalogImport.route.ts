import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler, Response } from 'express';
import { Role } from '../auth/apiKey';
import type { AuthService } from '../auth/auth.service';
import { isDatabaseUnavailable } from '../db/database';
import { ErrorCode } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { ndjsonLines } from '../shared/ndjson';
import { ImportInterruptedError, ImportLimits, type CatalogImportService } from './catalogImport.service';

/** Where the import is served (POST). */
export const CATALOG_IMPORT_PATH = '/catalog/import';

/** The content types an upload may name: NDJSON by its registered and its common names. */
const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

/** Refuses before reading the body, and closes the connection rather than read a refused upload to its end. */
function refuse(res: Response, status: number, code: string, message: string): void {
  res.set('connection', 'close');
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

const tooLarge = `The upload exceeds ${ImportLimits.maxUploadBytes} bytes; split the file and send the parts one after another.`;

/** The client closed the connection: nothing more can be answered. */
class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** An upload over {@link ImportLimits.maxUploadBytes}. */
class UploadTooLargeError extends Error {}

/** Passes bytes through, failing once more than `max` went by. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > max ? new UploadTooLargeError() : null, chunk);
    },
  });
}

/**
 * Writes one NDJSON line, waiting while the client reads slower than the import answers; rejects
 * once the connection is closed (a write to a closed socket would wait for a `drain` that never comes).
 */
function writeLine(res: Response, value: unknown): Promise<void> {
  if (res.destroyed) return Promise.reject(new ClientGoneError());
  if (res.write(`${JSON.stringify(value)}\n`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new ClientGoneError());
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * `POST /catalog/import` (ADMIN): the request body is NDJSON, one item per line; the answer is
 * NDJSON too, one result per line in order (`{"line", "externalId", "status", "id" | "error"}`),
 * then `{"summary": {...}}`, or `{"error": {..., "firstUnansweredLine"}}` when the import had to stop.
 * Refusals before any line is read (key, content type, size) answer as GraphQL errors do, with a status.
 *
 * The body is received whole into a temporary file first, then imported from there: a slow
 * import then never holds its upload open for longer than the upload takes (Node's request
 * timeout would cut an upload still being read after five minutes), and the upload's size is
 * bounded by {@link ImportLimits.maxUploadBytes}.
 */
export function catalogImportRoute(importer: CatalogImportService, auth: AuthService, logger: Logger): RequestHandler {
  return (req, res, next) => {
    void (async () => {
      const viewer = await auth.viewerFor(req.get('authorization')).catch((error: unknown) => {
        if (!isDatabaseUnavailable(error)) throw error;
        return undefined;
      });
      if (!viewer)
        return refuse(
          res,
          503,
          ErrorCode.SERVICE_UNAVAILABLE,
          'The database is unavailable; retry the request shortly.',
        );
      if (viewer.invalidToken)
        return refuse(res, 401, ErrorCode.UNAUTHENTICATED, 'The API key is unknown, malformed or revoked.');
      if (viewer.role === null)
        return refuse(
          res,
          401,
          ErrorCode.UNAUTHENTICATED,
          'The catalog import needs an ADMIN key: send `Authorization: Bearer <key>`.',
        );
      if (viewer.role !== Role.ADMIN)
        return refuse(
          res,
          403,
          ErrorCode.FORBIDDEN,
          `The catalog import is not allowed for a ${viewer.role} key (needs ADMIN).`,
        );
      const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
      if (!NDJSON_TYPES.has(type) || encoding !== 'identity')
        return refuse(
          res,
          415,
          ErrorCode.BAD_REQUEST,
          'Send the items as uncompressed NDJSON, one JSON object per line, with `Content-Type: application/x-ndjson`.',
        );
      const declared = Number(req.get('content-length') ?? 0);
      if (declared > ImportLimits.maxUploadBytes) return refuse(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, tooLarge);
      const log = logger.child({ keyId: viewer.keyId });
      const dir = await mkdtemp(path.join(tmpdir(), 'gavel-import-'));
      try {
        const upload = path.join(dir, 'upload.ndjson');
        try {
          await pipeline(req, byteLimit(ImportLimits.maxUploadBytes), createWriteStream(upload));
        } catch (error) {
          if (error instanceof UploadTooLargeError) return refuse(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, tooLarge);
          // The client went away mid-upload; anything else (a full disk, say) is this server's failure.
          const code = (error as { code?: unknown }).code;
          if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')
            return log.warn('catalog import not started: the client closed the connection mid-upload');
          res.set('connection', 'close');
          throw error;
        }
        res.status(200).type('application/x-ndjson');
        try {
          const summary = await importer.importLines(
            ndjsonLines(createReadStream(upload), ImportLimits.maxLineBytes),
            (result) => writeLine(res, result),
          );
          if (summary.suggestionsPending)
            log.error(
              summary,
              'catalog import finished, but the suggestion counters were not recounted: run `gavel suggestions repair`',
            );
          else log.info(summary, 'catalog import finished');
          await writeLine(res, { summary });
        } catch (error) {
          if (error instanceof ClientGoneError) {
            // The lines answered so far are stored (and so may be more): importing again is safe.
            log.warn('catalog import stopped: the client closed the connection');
            return;
          }
          if (!(error instanceof ImportInterruptedError)) throw error;
          const unavailable = isDatabaseUnavailable(error.cause);
          log.error({ err: error.cause, firstUnansweredLine: error.firstUnansweredLine }, 'catalog import stopped');
          await writeLine(res, {
            error: {
              code: unavailable ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR,
              message: error.message,
              firstUnansweredLine: error.firstUnansweredLine,
              ...(error.suggestionsPending ? { suggestionsPending: true } : {}),
            },
          }).catch(() => undefined);
        }
        res.end();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })().catch((error: unknown) => {
      if (res.headersSent) {
        logger.error({ err: error }, 'catalog import failed');
        res.destroy();
      } else next(error);
    });
  };
}
