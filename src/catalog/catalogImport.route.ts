import { once } from 'node:events';
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

function refuse(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** Writes one NDJSON line, waiting while the client reads slower than the import answers. */
async function writeLine(res: Response, value: unknown): Promise<void> {
  if (!res.write(`${JSON.stringify(value)}\n`)) await once(res, 'drain');
}

/**
 * `POST /catalog/import` (ADMIN): the request body is NDJSON, one item per line; the answer is
 * NDJSON too, one result per line in order (`{"line", "status", "externalId", "id" | "error"}`),
 * then `{"summary": {...}}`, or `{"error": {..., "firstUnansweredLine"}}` when the import had to stop.
 * Refusals before any line is read (key, content type) answer as GraphQL errors do, with a status.
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
      if (!NDJSON_TYPES.has(type))
        return refuse(
          res,
          415,
          ErrorCode.BAD_REQUEST,
          'Send the items as NDJSON, one JSON object per line, with `Content-Type: application/x-ndjson`.',
        );
      res.status(200).type('application/x-ndjson');
      const log = logger.child({ keyId: viewer.keyId });
      try {
        const summary = await importer.importLines(ndjsonLines(req, ImportLimits.maxLineBytes), (result) =>
          writeLine(res, result),
        );
        if (summary.suggestionsPending)
          log.error(
            summary,
            'catalog import finished, but the suggestion counters were not recounted: run `gavel suggestions repair`',
          );
        else log.info(summary, 'catalog import finished');
        await writeLine(res, { summary });
      } catch (error) {
        if (req.destroyed && !(error instanceof ImportInterruptedError)) {
          // The client went away mid-upload: lines answered so far are stored; nothing to answer.
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
          },
        });
      }
      res.end();
    })().catch((error: unknown) => {
      if (res.headersSent) {
        logger.error({ err: error }, 'catalog import failed');
        res.destroy();
      } else next(error);
    });
  };
}
