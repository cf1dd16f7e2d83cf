import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImportedItemDocument, SearchItemsDocument, SuggestDocument } from '../generated/graphql';
import { parsePrometheusText, sumOf } from '../support/prometheus';
import { runGavel } from '../support/serverProcess';
import { execute, startTestApp, type TestApp } from '../support/testApp';

/**
 * The catalog import (issue 22): `POST /catalog/import` (ADMIN, NDJSON) and `gavel import FILE`,
 * validated per line as `createAuctionItem` validates, idempotent by external id.
 */

const HOUR = 3_600_000;
const startsAt = new Date(Date.now() - HOUR).toISOString();
const endsAt = new Date(Date.now() + 7 * 24 * HOUR).toISOString();

/** A valid line's item; `overrides` change or (undefined) remove fields. */
function item(externalId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const line: Record<string, unknown> = {
    externalId,
    title: `Imported lamp ${externalId}`,
    description: 'Brass desk lamp, rewired',
    category: 'lighting',
    startingPrice: { amount: 4_500, currency: 'EUR' },
    startsAt,
    endsAt,
    sellerId: 'seller-import',
    tags: ['brass', 'desk'],
    ...overrides,
  };
  for (const key of Object.keys(line)) if (line[key] === undefined) delete line[key];
  return line;
}

const ndjson = (lines: ReadonlyArray<unknown>) =>
  lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

interface LineResult {
  line: number;
  status: 'CREATED' | 'EXISTING' | 'INVALID';
  externalId?: string;
  id?: string;
  error?: { code: string; field?: string; message: string };
}

interface ImportAnswer {
  status: number;
  contentType: string | null;
  results: LineResult[];
  summary?: { lines: number; created: number; existing: number; invalid: number };
  errors?: Array<{ message: string; extensions: { code: string } }>;
}

let app: TestApp;
let adminKey: string;
let analystKey: string;

/** Uploads `body` with `key` (default: the ADMIN key; null: none). */
async function upload(
  body: string,
  key: string | null = adminKey,
  contentType = 'application/x-ndjson',
): Promise<ImportAnswer> {
  const response = await fetch(new URL('/catalog/import', app.url), {
    method: 'POST',
    headers: { 'content-type': contentType, ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body,
  });
  const text = await response.text();
  const contentTypeHeader = response.headers.get('content-type');
  if (!contentTypeHeader?.startsWith('application/x-ndjson'))
    return { status: response.status, contentType: contentTypeHeader, results: [], ...(JSON.parse(text) as object) };
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LineResult & { summary?: ImportAnswer['summary'] });
  const summary = lines.find((line) => line.summary)?.summary;
  return {
    status: response.status,
    contentType: contentTypeHeader,
    results: lines.filter((line) => !line.summary),
    ...(summary ? { summary } : {}),
  };
}

beforeAll(async () => {
  app = await startTestApp({ env: { GAVEL_SEED_DEMO: 'false', AUTH_MODE: 'keys' }, periodicJobs: false });
  adminKey = (await app.services.auth.createKey({ role: 'ADMIN', label: 'import' })).key;
  analystKey = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
});
afterAll(() => app.stop());

describe('POST /catalog/import', () => {
  it('stores every valid line, answers each in order, and the items are searchable at once', async () => {
    const answer = await upload(ndjson([item('lamp-1'), item('lamp-2', { title: 'Opaline pendant shade' })]));
    expect(answer.status).toBe(200);
    expect(answer.results.map(({ line, status, externalId }) => ({ line, status, externalId }))).toEqual([
      { line: 1, status: 'CREATED', externalId: 'lamp-1' },
      { line: 2, status: 'CREATED', externalId: 'lamp-2' },
    ]);
    expect(answer.summary).toEqual({ lines: 2, created: 2, existing: 0, invalid: 0 });

    const stored = await execute(app, ImportedItemDocument, { id: answer.results[1]!.id! });
    expect(stored.data?.auctionItem).toEqual({
      id: answer.results[1]!.id,
      externalId: 'lamp-2',
      title: 'Opaline pendant shade',
      status: 'ACTIVE',
      tags: ['brass', 'desk'],
      price: { amount: 4_500, currency: 'EUR' },
    });
    // The word index and the typo dictionary know the imported words.
    const found = await execute(app, SearchItemsDocument, { query: 'opaline' });
    expect(found.data?.auctionItems.edges.map((edge) => edge.node.id)).toEqual([answer.results[1]!.id]);
    const corrected = await execute(app, SearchItemsDocument, { query: 'opalene' });
    expect(corrected.data?.auctionItems.edges.map((edge) => edge.node.id)).toEqual([answer.results[1]!.id]);
    // A small import is counted in the suggestions as it is written.
    const suggested = await execute(app, SuggestDocument, { prefix: 'opali' });
    expect(suggested.data?.searchSuggestions[0]).toMatchObject({ text: 'opaline', openLots: 1 });
  });

  it('is idempotent by externalId: the same upload again stores nothing and answers the same ids', async () => {
    const body = ndjson([item('again-1'), item('again-2')]);
    const first = await upload(body);
    const second = await upload(body);
    expect(second.results.map((result) => result.status)).toEqual(['EXISTING', 'EXISTING']);
    expect(second.results.map((result) => result.id)).toEqual(first.results.map((result) => result.id));
    expect(second.summary).toEqual({ lines: 2, created: 0, existing: 2, invalid: 0 });
    // A line repeated within one upload is stored once too.
    const repeated = await upload(ndjson([item('twice'), item('twice', { title: 'Other title' })]));
    expect(repeated.results.map((result) => result.status)).toEqual(['CREATED', 'EXISTING']);
    expect(repeated.results[1]!.id).toBe(repeated.results[0]!.id);
  });

  it('stores each external id once when the same lines are uploaded twice at the same moment', async () => {
    const body = ndjson(Array.from({ length: 300 }, (_, index) => item(`race-${index}`)));
    const [one, two] = await Promise.all([upload(body), upload(body)]);
    expect(one.summary!.created + two.summary!.created).toBe(300);
    expect(one.summary!.existing + two.summary!.existing).toBe(300);
    for (let index = 0; index < 300; index++) expect(one.results[index]!.id).toBe(two.results[index]!.id);
  });

  it('writes more lines than one batch, answered in order, and counts them all in the suggestions', async () => {
    // A large import is counted by one recount at its end: "zeppelinform" is in every line,
    // "latecomer" only in those after the first batch.
    const lines = Array.from({ length: 2_345 }, (_, index) =>
      item(`bulk-${index}`, {
        title: `Zeppelinform lamp ${index}${index >= 1_000 ? ' latecomer' : ''}`,
        sellerId: `seller-${index % 7}`,
      }),
    );
    const answer = await upload(ndjson(lines));
    expect(answer.summary).toEqual({ lines: 2_345, created: 2_345, existing: 0, invalid: 0 });
    expect(answer.results.map((result) => result.line)).toEqual(Array.from({ length: 2_345 }, (_, index) => index + 1));
    expect(new Set(answer.results.map((result) => result.id)).size).toBe(2_345);
    // Every open lot is counted once, in the whole catalog and per seller.
    const suggested = async (filter?: { sellerId: string }) =>
      (await execute(app, SuggestDocument, { prefix: 'zeppelinf', ...(filter ? { filter } : {}) })).data
        ?.searchSuggestions[0];
    expect(await suggested()).toMatchObject({ text: 'zeppelinform', openLots: 2_345 });
    expect(await suggested({ sellerId: 'seller-3' })).toMatchObject({ text: 'zeppelinform', openLots: 335 });
    const late = await execute(app, SuggestDocument, { prefix: 'latecome' });
    expect(late.data?.searchSuggestions[0]).toMatchObject({ text: 'latecomer', openLots: 1_345 });
  });

  it('counts what was stored when the client goes away mid-import, and ends the import', async () => {
    const scrape = async () => parsePrometheusText(await (await fetch(new URL('/metrics', app.url))).text());
    const body = ndjson(
      Array.from({ length: 4_000 }, (_, index) => item(`gone-${index}`, { title: `Quitterware lamp ${index}` })),
    );
    const abort = new AbortController();
    const response = await fetch(new URL('/catalog/import', app.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${adminKey}` },
      body,
      signal: abort.signal,
    });
    // The first answers arrive once the first batch is stored; then the client disappears.
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    await reader.read().catch(() => undefined);
    const deadline = Date.now() + 120_000;
    while (sumOf(await scrape(), 'gavel_catalog_imports_running') > 0) {
      if (Date.now() > deadline) throw new Error('the import did not end after its client went away');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Whatever was stored before the import noticed is counted in the suggestions, and the server serves on.
    const stored = await execute(app, SearchItemsDocument, { query: 'quitterware', first: 1 });
    expect(stored.errors).toBeUndefined();
    const total = await execute(app, SuggestDocument, { prefix: 'quitterw' });
    const stillThere = await upload(ndjson([item('after-gone')]));
    expect(stillThere.summary?.created).toBe(1);
    const rest = await upload(body);
    const created = rest.summary!.created;
    // The first import stopped before its end: the rest comes now, nothing twice.
    expect(created).toBeGreaterThan(0);
    expect(rest.summary!.existing + created).toBe(4_000);
    expect(total.data?.searchSuggestions[0]?.openLots).toBe(4_000 - created);
    // Two imports of up to 4,000 lots and their recounts: over a minute on the sharded engine under CI load.
  }, 240_000);

  it('refuses a compressed upload, reads a byte order mark, and refuses a line that is not UTF-8', async () => {
    const compressed = await fetch(new URL('/catalog/import', app.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
        authorization: `Bearer ${adminKey}`,
      },
      body: ndjson([item('gz')]),
    });
    expect(compressed.status).toBe(415);
    // A spreadsheet's export: a byte order mark first, then a Latin-1 "é" in a line.
    const [head, tail] = JSON.stringify(item('latin1', { title: 'Lampe caf' })).split('caf');
    const bytes = Buffer.concat([
      Buffer.from(`\uFEFF${JSON.stringify(item('bom'))}\n`),
      Buffer.from(`${head}caf`),
      Buffer.from([0xe9]),
      Buffer.from(`${tail}\n`),
    ]);
    const response = await fetch(new URL('/catalog/import', app.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${adminKey}` },
      body: bytes,
    });
    const results = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LineResult);
    expect(results.slice(0, 2).map(({ status, error }) => [status, error?.code])).toEqual([
      ['CREATED', undefined],
      ['INVALID', 'BAD_REQUEST'],
    ]);
    expect(results[1]!.error!.message).toMatch(/UTF-8/);
  });

  it('refuses a bad line with its code and field, and stores the lines around it', async () => {
    const hostile = [
      item('ok-before'),
      '{"externalId": "broken", "title": ',
      '[1, 2, 3]',
      item('', {}),
      item('has space'),
      item('x'.repeat(129)),
      item('no-title', { title: undefined }),
      item('short-title', { title: 'ab' }),
      item('unknown-field', { reservePrice: 10 }),
      item('negative', { startingPrice: { amount: -1, currency: 'EUR' } }),
      item('fraction', { startingPrice: { amount: 1.5, currency: 'EUR' } }),
      item('no-currency', { startingPrice: { amount: 100, currency: 'EURO' } }),
      item('bad-date', { endsAt: 'next tuesday' }),
      item('ended', { startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2020-01-02T00:00:00.000Z' }),
      item('bad-category', { category: 'Lighting & Lamps' }),
      item('regex', { sellerId: '.*' }),
      item('control', { title: 'Lamp\u0000with NUL' }),
      item('ok-after', { title: 'Lampe à poser — 𝒜rt déco' }),
    ];
    const answer = await upload(ndjson(hostile));
    const outcome = answer.results.map(({ status, error }) => [status, error?.code, error?.field]);
    expect(outcome).toEqual([
      ['CREATED', undefined, undefined],
      ['INVALID', 'BAD_REQUEST', undefined],
      ['INVALID', 'BAD_REQUEST', undefined],
      ['INVALID', 'BAD_USER_INPUT', 'externalId'],
      ['INVALID', 'BAD_USER_INPUT', 'externalId'],
      ['INVALID', 'BAD_USER_INPUT', 'externalId'],
      ['INVALID', 'BAD_USER_INPUT', undefined],
      ['INVALID', 'BAD_USER_INPUT', 'title'],
      ['INVALID', 'BAD_USER_INPUT', undefined],
      ['INVALID', 'BAD_USER_INPUT', 'startingPrice.amount'],
      ['INVALID', 'BAD_USER_INPUT', 'startingPrice.amount'],
      ['INVALID', 'BAD_USER_INPUT', 'startingPrice.currency'],
      ['INVALID', 'BAD_USER_INPUT', 'endsAt'],
      ['INVALID', 'BAD_USER_INPUT', 'endsAt'],
      ['INVALID', 'BAD_USER_INPUT', 'category'],
      ['INVALID', 'BAD_USER_INPUT', 'sellerId'],
      ['INVALID', 'BAD_USER_INPUT', 'title'],
      ['CREATED', undefined, undefined],
    ]);
    // Messages say what to fix.
    expect(answer.results[6]!.error!.message).toMatch(/title/);
    expect(answer.results[8]!.error!.message).toMatch(/reservePrice/);
    expect(answer.results[13]!.error!.message).toMatch(/future/);
    expect(answer.summary).toEqual({ lines: hostile.length, created: 2, existing: 0, invalid: 16 });
    const accented = await execute(app, ImportedItemDocument, { id: answer.results.at(-1)!.id! });
    expect(accented.data?.auctionItem?.title).toBe('Lampe à poser — 𝒜rt déco');
  });

  it('refuses a line over 64 KiB without holding it, and numbers lines as the file does', async () => {
    const huge = JSON.stringify(item('huge', { description: 'x'.repeat(100_000) }));
    const body = `\r\n${JSON.stringify(item('crlf-1'))}\r\n\n${huge}\n${JSON.stringify(item('last-no-newline'))}`;
    const answer = await upload(body);
    expect(answer.results.map(({ line, status, error }) => [line, status, error?.code])).toEqual([
      [2, 'CREATED', undefined],
      [4, 'INVALID', 'PAYLOAD_TOO_LARGE'],
      [5, 'CREATED', undefined],
    ]);
    expect(answer.summary).toEqual({ lines: 3, created: 2, existing: 0, invalid: 1 });
  });

  it('answers an empty upload with an empty summary', async () => {
    const answer = await upload('');
    expect(answer.status).toBe(200);
    expect(answer.summary).toEqual({ lines: 0, created: 0, existing: 0, invalid: 0 });
  });

  it('is for ADMIN keys only: a refused caller stores nothing', async () => {
    const body = ndjson([item('refused')]);
    const anonymous = await upload(body, null);
    expect([anonymous.status, anonymous.errors?.[0]?.extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    const analyst = await upload(body, analystKey);
    expect([analyst.status, analyst.errors?.[0]?.extensions.code]).toEqual([403, 'FORBIDDEN']);
    const wrongKey = await upload(body, 'gvl_not-a-key');
    expect([wrongKey.status, wrongKey.errors?.[0]?.extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    // A form post (what a page on another site could send without a preflight) is not an upload.
    const form = await upload(body, adminKey, 'application/x-www-form-urlencoded');
    expect([form.status, form.errors?.[0]?.extensions.code]).toEqual([415, 'BAD_REQUEST']);
    // An upload that declares more than 256 MiB is refused before a byte of it is read.
    const declared = await new Promise<{ status?: number; code?: string }>((resolve, reject) => {
      const request = httpRequest(new URL('/catalog/import', app.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          'content-length': String(300 * 1024 * 1024),
          authorization: `Bearer ${adminKey}`,
        },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          resolve({
            status: response.statusCode,
            code: (JSON.parse(text) as ImportAnswer).errors?.[0]?.extensions.code,
          });
          request.destroy();
        });
      });
      request.on('error', reject);
      request.write(`${JSON.stringify(item('too-much'))}\n`);
    });
    expect(declared).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const again = await upload(body);
    expect(again.results.map((result) => result.status)).toEqual(['CREATED']);
  });

  it('reports progress in /metrics', async () => {
    const scrape = async () => parsePrometheusText(await (await fetch(new URL('/metrics', app.url))).text());
    const before = await scrape();
    await upload(ndjson([item('metric-1'), item('metric-2'), '{']));
    const after = await scrape();
    const delta = (status: string) =>
      sumOf(after, 'gavel_catalog_import_lines_total', { status }) -
      sumOf(before, 'gavel_catalog_import_lines_total', { status });
    expect([delta('CREATED'), delta('INVALID')]).toEqual([2, 1]);
    expect(sumOf(after, 'gavel_catalog_imports_running')).toBe(0);
  });
});

describe('gavel import FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-import-'));
  const env = () => ({
    MONGODB_URI: process.env.GAVEL_TEST_MONGODB_URI,
    MONGODB_DB: app.databaseName,
    GAVEL_MONGO_ENGINE: 'uri',
    LOG_LEVEL: 'silent',
    ...(process.env.MONGODB_SHARDING ? { MONGODB_SHARDING: process.env.MONGODB_SHARDING } : {}),
  });

  it('imports a file, prints one result per line, and finds the lines again on a second run', async () => {
    const file = path.join(dir, 'items.ndjson');
    writeFileSync(file, ndjson([item('cli-1'), item('cli-2')]));
    const first = await runGavel(['import', file], env());
    expect(first.code).toBe(0);
    const results = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LineResult);
    expect(results.map((result) => result.status)).toEqual(['CREATED', 'CREATED']);
    expect(first.stderr).toMatch(/2 lines: 2 created, 0 existing, 0 invalid/);
    const stored = await execute(app, ImportedItemDocument, { id: results[0]!.id! });
    expect(stored.data?.auctionItem?.externalId).toBe('cli-1');

    const second = await runGavel(['import', file], env());
    expect(second.code).toBe(0);
    expect(
      second.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as LineResult).status),
    ).toEqual(['EXISTING', 'EXISTING']);
  });

  it('exits 1 when a line is refused, and 2 for a file it cannot read or a missing argument', async () => {
    const file = path.join(dir, 'bad.ndjson');
    writeFileSync(file, ndjson([item('cli-bad', { title: 'ab' }), item('cli-good')]));
    const refused = await runGavel(['import', file], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/2 lines: 1 created, 0 existing, 1 invalid/);
    const missing = await runGavel(['import', path.join(dir, 'nope.ndjson')], env());
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read .*nope\.ndjson/)]);
    const usage = await runGavel(['import'], env());
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringMatching(/^Usage/)]);
  });
});
