import { coerceInputValue, GraphQLError, isInputType, type GraphQLInputType, type GraphQLSchema } from 'graphql';
import type { Clock } from '../shared/clock';
import { ErrorCode } from '../shared/errors';
import type { NdjsonLine } from '../shared/ndjson';
import type { AuctionItemRepository, NewAuctionItem } from './auctionItem.repository';
import type { CatalogService } from './auctionItem.service';
import type { CreateAuctionItemInput } from './auctionItem.types';

/** Limits of the catalog import (docs/api.md, "Import a catalog"). */
export const ImportLimits = {
  /** Lines validated, then written in one unordered insert. */
  batchSize: 1_000,
  /** Bytes per line: the largest valid item (5,000 characters of description) is far smaller. */
  maxLineBytes: 64 * 1024,
  /** Bytes per upload (`POST /catalog/import`): about 600,000 typical items; split larger files. */
  maxUploadBytes: 256 * 1024 * 1024,
  /** Characters of an external id. */
  externalIdMax: 128,
} as const;

/** What became of one line. */
export enum ImportLineStatus {
  /** Stored as a new item (`id`). */
  CREATED = 'CREATED',
  /** An item with this external id was there already (`id`); the line was not stored again. */
  EXISTING = 'EXISTING',
  /** Refused (`error` says why); nothing stored. */
  INVALID = 'INVALID',
}

/** The answer for one line, reported once the line's batch is written. */
export interface ImportLineResult {
  readonly line: number;
  readonly status: ImportLineStatus;
  readonly externalId?: string;
  readonly id?: string;
  readonly error?: { readonly code: string; readonly field?: string; readonly message: string };
}

/** Counts of one import, by status. */
export interface ImportSummary {
  readonly lines: number;
  readonly created: number;
  readonly existing: number;
  readonly invalid: number;
  /**
   * Present (true) when the recount of the search suggestion counters that ends a large import
   * failed: every line is stored and searchable, but suggestions miss them until
   * `gavel suggestions repair`.
   */
  readonly suggestionsPending?: true;
}

/** Where an import reports progress (the metrics; see `GavelMetrics.catalogImport`). */
export interface CatalogImportObserver {
  started(): void;
  lines(status: ImportLineStatus, count: number): void;
  ended(): void;
  /** The suggestion counters' recount after a large import failed (see {@link ImportSummary}). */
  recountFailed?(error: unknown): void;
}

/**
 * The batch holding these lines could not be written (the database went away, say): which of its
 * lines were stored is unknown, those before it were answered. Importing again from
 * `firstUnansweredLine` (or the whole file) is safe: stored lines come back EXISTING.
 */
export class ImportInterruptedError extends Error {
  /** Lines stored before the stop could not be recounted in the search suggestions (see {@link ImportSummary}). */
  suggestionsPending = false;

  constructor(
    readonly firstUnansweredLine: number,
    cause: unknown,
  ) {
    super(
      `The import stopped at line ${firstUnansweredLine}: its batch could not be written. Import again from that ` +
        'line, or the whole file: lines stored already are answered EXISTING.',
      { cause },
    );
    this.name = 'ImportInterruptedError';
  }
}

/** The type an import line's fields are coerced by: `createAuctionItem`'s input, from the schema. */
export function importLineType(schema: GraphQLSchema): GraphQLInputType {
  const type = schema.getType('CreateAuctionItemInput');
  if (!isInputType(type)) throw new Error('The schema has no input type CreateAuctionItemInput');
  return type;
}

// Printable ASCII without spaces: the ids of the systems a catalog comes from, safe in logs and URLs.
const externalIdPattern = new RegExp(`^[\\x21-\\x7E]{1,${ImportLimits.externalIdMax}}$`);

/** Characters of an error message a line's answer carries at most. */
const MESSAGE_MAX = 300;

const truncate = (message: string): string =>
  message.length <= MESSAGE_MAX ? message : `${message.slice(0, MESSAGE_MAX - 1)}…`;

type ParsedLine =
  | { readonly line: number; readonly externalId: string; readonly item: NewAuctionItem }
  | { readonly line: number; readonly refused: ImportLineResult };

/**
 * Loads many items at once, for a marketplace's first catalog or a nightly feed: each line is
 * validated as `createAuctionItem` validates its input, and carries the item's `externalId`, its
 * id in the marketplace's own system, which makes the import idempotent: a line imported again
 * (a retried upload, a feed that repeats) finds its item instead of storing a second one.
 * Lines are written in unordered batches of {@link ImportLimits.batchSize}; each line is answered
 * only once its batch is stored, so an answer is never taken back. Search finds a line's item as
 * soon as it is answered. The search suggestion counters follow an import of up to one batch as it
 * is written; a larger import is counted once at its end by a recount of the open lots (one pass
 * instead of one write per counter and batch: 7 ms per item on DocumentDB, 57 ms on the sharded
 * engine, bench:import), so suggestions show a large import's lots when it ends.
 */
export class CatalogImportService {
  /**
   * @param lineType - the GraphQL input type `CreateAuctionItemInput`: a line's fields are coerced
   *   by it, so a line takes exactly what the mutation takes (dates, currencies, safe integers)
   */
  constructor(
    private readonly catalog: CatalogService,
    private readonly items: AuctionItemRepository,
    private readonly clock: Clock,
    private readonly lineType: GraphQLInputType,
    private readonly observer?: CatalogImportObserver,
  ) {}

  /**
   * Imports every line of `lines`, calling `report` with each line's result, in line order.
   * @throws {@link ImportInterruptedError} when a batch cannot be written
   */
  async importLines(
    lines: AsyncIterable<NdjsonLine>,
    report: (result: ImportLineResult) => void | Promise<void>,
  ): Promise<ImportSummary> {
    const counts = { lines: 0, created: 0, existing: 0, invalid: 0 };
    const answer = async (results: readonly ImportLineResult[]) => {
      // Counted before they are reported: they are stored whether or not the client reads on.
      for (const status of Object.values(ImportLineStatus)) {
        const count = results.filter((result) => result.status === status).length;
        if (count > 0) this.observer?.lines(status, count);
      }
      for (const result of results) {
        counts.lines++;
        if (result.status === ImportLineStatus.CREATED) counts.created++;
        else if (result.status === ImportLineStatus.EXISTING) counts.existing++;
        else counts.invalid++;
        await report(result);
      }
    };
    // Items stored without their suggestion counts (those of an import of several batches), recounted at the end.
    let uncounted = 0;
    let batches = 0;
    const flush = async (batch: readonly ParsedLine[], counted: boolean) => {
      batches++;
      let results: ImportLineResult[];
      try {
        results = await this.write(batch, counted);
      } catch (error) {
        // Some of the batch may be stored, counted or not (counting may be what failed): recount to be sure.
        uncounted++;
        throw error;
      }
      if (!counted) uncounted += results.filter((result) => result.status === ImportLineStatus.CREATED).length;
      await answer(results);
    };
    /** Recounts the suggestion counters if this import stored uncounted items; false if that failed. */
    const recount = async (): Promise<boolean> => {
      if (uncounted === 0) return true;
      try {
        await this.items.recountSuggestions();
        return true;
      } catch (error) {
        this.observer?.recountFailed?.(error);
        return false;
      }
    };
    this.observer?.started();
    try {
      try {
        let batch: ParsedLine[] = [];
        for await (const line of lines) {
          // A full batch is written once the next line shows that more follow: the import is
          // large, and its suggestion counts are left to the recount at its end.
          if (batch.length >= ImportLimits.batchSize) {
            await flush(batch, false);
            batch = [];
          }
          batch.push(this.parse(line));
        }
        // The only batch of a small import is counted as it is written: its suggestions are exact at once.
        if (batch.length > 0) await flush(batch, batches === 0);
      } catch (error) {
        // Stopped (the database, the client): what was stored still gets counted, if it can be.
        const pending = !(await recount());
        if (error instanceof ImportInterruptedError) error.suggestionsPending = pending;
        throw error;
      }
      return (await recount()) ? counts : { ...counts, suggestionsPending: true };
    } finally {
      this.observer?.ended();
    }
  }

  /**
   * Stores a batch's valid lines; its results in line order. The external ids stored already are
   * looked up first: inserting them only to be refused costs DocumentDB far more (a retried import
   * of 100,000 lines: bench:import).
   */
  private async write(batch: readonly ParsedLine[], countSuggestions: boolean): Promise<ImportLineResult[]> {
    const valid = batch.filter((parsed) => 'item' in parsed);
    if (valid.length === 0) return batch.map((parsed) => (parsed as { refused: ImportLineResult }).refused);
    const created = new Map<string, { toHexString(): string }>();
    let existing: Map<string, { toHexString(): string }>;
    try {
      existing = await this.items.idsOfExternalIds(valid.map((parsed) => parsed.externalId));
      const fresh = valid.filter((parsed) => !existing.has(parsed.externalId));
      const ids = await this.items.insertImported(
        fresh.map((parsed) => parsed.item),
        { countSuggestions },
      );
      fresh.forEach((parsed, index) => {
        const id = ids[index];
        if (id) created.set(parsed.externalId, id);
      });
      // Refused as taken: another import stored them meanwhile, or a line repeated in this batch.
      const taken = fresh.filter((_, index) => ids[index] === null).map((parsed) => parsed.externalId);
      if (taken.length > 0)
        for (const [externalId, id] of await this.items.idsOfExternalIds(taken)) existing.set(externalId, id);
    } catch (error) {
      throw new ImportInterruptedError(batch[0]!.line, error);
    }
    const results = new Map<number, ImportLineResult>();
    const answered = new Set<string>();
    valid.forEach((parsed) => {
      // A line repeated in one batch: the first is the one created, the others find it.
      const isCreated = created.has(parsed.externalId) && !answered.has(parsed.externalId);
      answered.add(parsed.externalId);
      const id = created.get(parsed.externalId) ?? existing.get(parsed.externalId);
      results.set(parsed.line, {
        line: parsed.line,
        externalId: parsed.externalId,
        ...(isCreated
          ? { status: ImportLineStatus.CREATED, id: id?.toHexString() }
          : id
            ? { status: ImportLineStatus.EXISTING, id: id.toHexString() }
            : // Refused as a duplicate, yet not found: the item holding it was deleted meanwhile.
              {
                status: ImportLineStatus.INVALID,
                error: {
                  code: ErrorCode.SERVICE_UNAVAILABLE,
                  message: 'The item with this externalId changed while the line was imported; import the line again.',
                },
              }),
      });
    });
    return batch.map((parsed) => ('refused' in parsed ? parsed.refused : results.get(parsed.line)!));
  }

  /** One line as an item to store, or the reason it is refused. */
  private parse(line: NdjsonLine): ParsedLine {
    const refuse = (code: string, message: string, field?: string, externalId?: string): ParsedLine => ({
      line: line.number,
      refused: {
        line: line.number,
        ...(externalId === undefined ? {} : { externalId }),
        status: ImportLineStatus.INVALID,
        // Coercion messages quote the offending value: never echo a line's worth of it back.
        error: { code, ...(field === undefined ? {} : { field }), message: truncate(message) },
      },
    });
    if ('unreadable' in line)
      return line.unreadable === 'TOO_LONG'
        ? refuse(
            ErrorCode.PAYLOAD_TOO_LARGE,
            `The line is longer than ${ImportLimits.maxLineBytes} bytes; one item takes far less.`,
          )
        : refuse(ErrorCode.BAD_REQUEST, 'The line is not UTF-8: export the file as UTF-8.');
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      return refuse(ErrorCode.BAD_REQUEST, `The line is not valid JSON (${(error as Error).message}).`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return refuse(ErrorCode.BAD_REQUEST, 'Each line must be one JSON object: an item with its externalId.');
    const { externalId, ...fields } = value as Record<string, unknown>;
    if (typeof externalId !== 'string' || !externalIdPattern.test(externalId))
      return refuse(
        ErrorCode.BAD_USER_INPUT,
        `externalId must be 1 to ${ImportLimits.externalIdMax} printable ASCII characters without spaces: the item's id in your system.`,
        'externalId',
      );
    let firstError: { field: string; message: string } | undefined;
    const input = coerceInputValue(fields, this.lineType, (path, _invalid, error) => {
      firstError ??= { field: path.join('.'), message: error.message };
    }) as CreateAuctionItemInput;
    if (firstError)
      return refuse(ErrorCode.BAD_USER_INPUT, firstError.message, firstError.field || undefined, externalId);
    try {
      return { line: line.number, externalId, item: { ...this.catalog.newItem(input, this.clock.now()), externalId } };
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const { code, field } = error.extensions as { code: string; field?: string };
      return refuse(code, error.message, field, externalId);
    }
  }
}
