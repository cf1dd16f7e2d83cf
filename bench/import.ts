/**
 * `npm run bench:import` — issue 22 part 5: a catalog of BENCH_ITEMS (default 100,000) items loaded
 * through `POST /catalog/import` (NDJSON, a server in its own process), against the engine's own
 * limit in the same run: the same documents, as the import stores them, sent by the driver's
 * `insertMany` in batches of 1,000 into a collection with the same indexes. Then where the time
 * goes, piece by piece on the same documents (each into a fresh database): the insert alone, the
 * insert without the word index, the typo dictionary's words, the suggestion counters; and a
 * second upload of the same file (every line EXISTING: the cost of a retried import).
 *
 * Engine: GAVEL_MONGO_ENGINE / MONGODB_URI as the other benches (default: the embedded engine).
 * BENCH_PIECES=0 measures the import and its baseline only.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { auctionItemModel } from '../src/catalog/auctionItem.model';
import { createAuctionItemRepository, type NewAuctionItem } from '../src/catalog/auctionItem.repository';
import { CatalogService } from '../src/catalog/auctionItem.service';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { createSuggestionRepository } from '../src/catalog/suggestion.repository';
import { createTypoDictionary } from '../src/catalog/typoDictionary';
import { systemClock } from '../src/shared/clock';
import { cpuMsOf, loadAverage, printHeader, printTable, spawnBenchServer, startBenchEngine } from './support';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const BATCH = 1_000;
const HOUR = 3_600_000;

/** The NDJSON lines: the demo catalog's words, prices and sellers; every lot open or about to open. */
function catalogLines(count: number, now: Date): Array<Record<string, unknown>> {
  return generateDemoCatalog(count, now).map((item, index) => ({
    externalId: `bench-${index}`,
    title: item.title,
    description: item.description,
    category: item.category,
    startingPrice: { amount: item.startingPriceAmount, currency: item.currency },
    // A fifth scheduled, the rest open: open lots are what the suggestion counters count.
    startsAt: new Date(now.getTime() + (index % 5 === 0 ? 24 * HOUR : -HOUR)).toISOString(),
    endsAt: new Date(now.getTime() + (2 + (index % 12)) * 24 * HOUR).toISOString(),
    sellerId: item.sellerId,
    tags: item.tags,
  }));
}

/** A fresh database on the engine, with the catalog's indexes (created as the server creates them). */
async function freshCatalog(uri: string, prefix: string): Promise<{ connection: Connection; drop(): Promise<void> }> {
  const connection = await mongoose
    .createConnection(uri, { dbName: `${prefix}_${randomBytes(4).toString('hex')}` })
    .asPromise();
  await createAuctionItemRepository(connection).ensureIndexes();
  return {
    connection,
    drop: async () => {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}

/** Seconds `work` takes over the items in batches of {@link BATCH}. */
async function inBatches(items: readonly NewAuctionItem[], work: (batch: NewAuctionItem[]) => Promise<unknown>) {
  const started = performance.now();
  for (let offset = 0; offset < items.length; offset += BATCH) await work(items.slice(offset, offset + BATCH));
  return (performance.now() - started) / 1000;
}

/** Uploads `body` to the server's import; seconds, and the summary it answered. */
async function upload(url: string, key: string, body: string) {
  const started = performance.now();
  const response = await fetch(new URL('/catalog/import', url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${key}` },
    body,
  });
  const lines = (await response.text()).trim().split('\n');
  const seconds = (performance.now() - started) / 1000;
  const last = JSON.parse(lines.at(-1)!) as { summary?: Record<string, number>; error?: unknown };
  if (!last.summary) throw new Error(`the import did not finish: ${lines.at(-1)}`);
  return { seconds, summary: last.summary };
}

const rate = (items: number, seconds: number) => `${Math.round(items / seconds).toLocaleString('en')}/s`;

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  try {
    printHeader(`bench:import — ${ITEMS.toLocaleString('en')} items, batches of ${BATCH}`, engine);
    const now = new Date();
    const lines = catalogLines(ITEMS, now);
    const body = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
    // The documents exactly as the import stores them (validated, words derived), built untimed.
    const catalog = new CatalogService(createAuctionItemRepository(mongoose.createConnection()), systemClock);
    const documents: NewAuctionItem[] = lines.map((line) => ({
      ...catalog.newItem(
        {
          ...(line as never as Parameters<CatalogService['newItem']>[0]),
          startsAt: new Date(line.startsAt as string),
          endsAt: new Date(line.endsAt as string),
        },
        now,
      ),
      externalId: line.externalId as string,
    }));
    console.log(`NDJSON: ${(body.length / 1e6).toFixed(1)} MB; load average ${loadAverage()}\n`);

    // 1. The engine's limit: the same documents, the same indexes, the driver alone.
    const raw = await freshCatalog(engine.uri, 'bench_import_raw');
    const rawSeconds = await inBatches(documents, (batch) =>
      auctionItemModel(raw.connection).collection.insertMany(
        batch.map((item) => ({ ...item, popularity: 0 })),
        { ordered: false },
      ),
    );
    await raw.drop();

    // 2. The import through the API, then the same file again.
    const database = `bench_import_${randomBytes(4).toString('hex')}`;
    const server = await spawnBenchServer(engine.uri, database, { AUTH_TOKENS: 'bench-import-token-0123456789abcdef' });
    let first: Awaited<ReturnType<typeof upload>>;
    let second: Awaited<ReturnType<typeof upload>>;
    let serverCpuMs: number;
    try {
      const cpuBefore = cpuMsOf(server.server.child.pid!);
      first = await upload(server.url, 'bench-import-token-0123456789abcdef', body);
      serverCpuMs = cpuMsOf(server.server.child.pid!) - cpuBefore;
      second = await upload(server.url, 'bench-import-token-0123456789abcdef', body);
    } finally {
      await server.stop();
      const connection = await mongoose.createConnection(engine.uri, { dbName: database }).asPromise();
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    }

    // 3. Where the time goes: each piece alone, on the same documents.
    const pieces: Array<[string, (connection: Connection) => (batch: NewAuctionItem[]) => Promise<unknown>]> = [
      [
        'insert, all indexes but the word index',
        (connection) => {
          const collection = auctionItemModel(connection).collection;
          return (batch) =>
            collection.insertMany(
              batch.map((item) => ({ ...item, popularity: 0 })),
              { ordered: false },
            );
        },
      ],
      [
        'typo dictionary: the words of each batch',
        (connection) => {
          const dictionary = createTypoDictionary(connection);
          return (batch) => dictionary.addWords(batch.flatMap((item) => item.searchTerms));
        },
      ],
      [
        'suggestion counters, batch by batch (what an import of ≤ 1,000 lines does)',
        (connection) => {
          const suggestions = createSuggestionRepository(connection);
          return (batch) => suggestions.itemsChanged(batch.map((item) => ({ before: null, after: item })));
        },
      ],
    ];
    pieces.push([
      'raw insertMany with every index + one suggestion recount at the end (a larger import)',
      (connection) => {
        const collection = auctionItemModel(connection).collection;
        const suggestions = createSuggestionRepository(connection);
        let stored = 0;
        // The recount reads the stored lots, so they are inserted here too: compare with the first row.
        return async (batch) => {
          await collection.insertMany(
            batch.map((item) => ({ ...item, popularity: 0 })),
            { ordered: false },
          );
          stored += batch.length;
          if (stored === ITEMS) await suggestions.recount({ repair: true });
        };
      },
    ]);
    const pieceRows: Array<Record<string, string>> = [];
    // BENCH_PIECES=0: the import and its baseline only.
    if (process.env.BENCH_PIECES === '0') pieces.length = 0;
    for (const [name, makeWork] of pieces) {
      const fresh = await freshCatalog(engine.uri, 'bench_import_piece');
      if (name.startsWith('insert, all indexes but'))
        await auctionItemModel(fresh.connection).collection.dropIndex('searchTerms_1');
      const seconds = await inBatches(documents, makeWork(fresh.connection));
      pieceRows.push({ piece: name, seconds: seconds.toFixed(1), 'µs per item': ((seconds * 1e6) / ITEMS).toFixed(0) });
      await fresh.drop();
    }

    printTable([
      {
        load: 'raw insertMany, same documents and indexes (the engine limit)',
        'items/s': rate(ITEMS, rawSeconds),
        seconds: rawSeconds.toFixed(1),
        'vs raw': '1.00',
      },
      {
        load: `POST /catalog/import (${first.summary.created} created; server CPU ${(serverCpuMs / 1000).toFixed(1)} s)`,
        'items/s': rate(ITEMS, first.seconds),
        seconds: first.seconds.toFixed(1),
        'vs raw': (rawSeconds / first.seconds).toFixed(2),
      },
      {
        load: `the same file again (${second.summary.existing} existing)`,
        'items/s': rate(ITEMS, second.seconds),
        seconds: second.seconds.toFixed(1),
        'vs raw': (rawSeconds / second.seconds).toFixed(2),
      },
    ]);
    console.log('\nWhere the time goes (each piece alone, fresh database, same documents):\n');
    printTable([
      {
        piece: 'raw insertMany with every index (as above)',
        seconds: rawSeconds.toFixed(1),
        'µs per item': ((rawSeconds * 1e6) / ITEMS).toFixed(0),
      },
      ...pieceRows,
    ]);
    if (first.summary.created !== ITEMS)
      throw new Error(`expected ${ITEMS} created, got ${JSON.stringify(first.summary)}`);
    if (second.summary.existing !== ITEMS)
      throw new Error(`expected ${ITEMS} existing, got ${JSON.stringify(second.summary)}`);
  } finally {
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
