import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { CursorCodec } from '../../src/graphql/cursor';
import { SearchItemsDocument, type SearchItemsQuery, type SearchItemsQueryVariables } from '../generated/graphql';
import { insertDemoItems } from '../support/catalogFixtures';
import { execute, startTestApp, type GraphQLResponse, type TestApp } from '../support/testApp';

/**
 * Pagination cursors are opaque (issue 19, finding 1): encrypted and authenticated, so that a
 * POPULARITY cursor no longer tells its item's impression count; still stateless, still refusing
 * forged and edited ones, and still paging across a rotation of CURSOR_SECRET.
 */

const OLD_SECRET = 'the-cursor-secret-before-rotation-0123456789';
const NEW_SECRET = 'the-cursor-secret-after-rotation-9876543210';
const popularity = { field: 'POPULARITY', direction: 'DESC' } as const;

/** Every decoding of a cursor a client could try: each `.`-separated part as base64url, as text. */
function readable(cursor: string): string {
  return cursor
    .split('.')
    .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
    .join('\n');
}

/** One byte of the decoded cursor changed. */
function flipped(cursor: string, index: number): string {
  const bytes = Buffer.from(cursor, 'base64url');
  bytes[index]! ^= 0x20;
  return bytes.toString('base64url');
}

describe('CursorCodec', () => {
  const codec = new CursorCodec(NEW_SECRET);
  const payload = { o: 'popularity:-1', s: 'AAAAAAAAAAAAAAAA', v: 30, i: '65f1c0ffee0123456789abcd' };

  it('round-trips a payload without any of it in clear, and never makes the same cursor twice', () => {
    const cursor = codec.encode(payload);
    expect(codec.decode(cursor, 'after')).toEqual(payload);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    for (const field of ['"v"', '"o"', '"i"', 'popularity', '65f1c0ffee', '{"'])
      expect(readable(cursor)).not.toContain(field);
    expect(codec.encode(payload)).not.toBe(cursor);
  });

  it("does not tell a sort value's size by its length", () => {
    const lengths = new Set(
      [0, 30, 123_456_789, 1_772_366_400_000, 0.123456789012345].map((v) => codec.encode({ ...payload, v }).length),
    );
    expect(lengths.size).toBe(1);
  });

  it('refuses every one-byte edit, truncations, extensions and other secrets', () => {
    const cursor = codec.encode(payload);
    const length = Buffer.from(cursor, 'base64url').length;
    for (let index = 0; index < length; index++) expect(codec.open(flipped(cursor, index))).toBeUndefined();
    expect(codec.open(cursor.slice(0, -1))).toBeUndefined();
    expect(codec.open(`${cursor}A`)).toBeUndefined();
    expect(codec.open(`${cursor}.${cursor}`)).toBeUndefined();
    expect(codec.open(new CursorCodec(OLD_SECRET).encode(payload))).toBeUndefined();
    expect(() => codec.decode('bm9wZQ', 'before')).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'before' }) }),
    );
  });

  it('decodes cursors of a previous secret during a rotation, and makes new ones with the current one', () => {
    const before = new CursorCodec(OLD_SECRET).encode(payload);
    const rotated = new CursorCodec(NEW_SECRET, [OLD_SECRET]);
    expect(rotated.open(before)).toEqual(payload);
    // New cursors are the new secret's: readable without the previous one, unreadable with only it.
    const after = rotated.encode(payload);
    expect(new CursorCodec(NEW_SECRET).open(after)).toEqual(payload);
    expect(new CursorCodec(OLD_SECRET).open(after)).toBeUndefined();
    // Once the previous secret is dropped, its cursors are refused.
    expect(new CursorCodec(NEW_SECRET).open(before)).toBeUndefined();
  });
});

describe('CursorMinter: the cursors of one page', () => {
  const codec = new CursorCodec(NEW_SECRET);
  const payloads = Array.from({ length: 21 }, (_, index) => ({
    o: 'createdAt:-1',
    s: 'AAAAAAAAAAAAAAAA',
    v: 1_772_366_400_000 - index,
    t: 1,
    i: `65f1c0ffee01234567${String(index).padStart(6, '0')}`,
  }));

  it('share one key, each under an IV of its own: every cursor decodes alone, and none is another', () => {
    const minter = codec.minter();
    const cursors = payloads.map((payload) => minter.encode(payload));
    expect(new Set(cursors).size).toBe(cursors.length);
    cursors.forEach((cursor, index) => expect(codec.open(cursor)).toEqual(payloads[index]));
    // The same salt (one key derived per page), a different number under it.
    const bytes = cursors.map((cursor) => Buffer.from(cursor, 'base64url'));
    expect(new Set(bytes.map((b) => b.subarray(1, 17).toString('hex'))).size).toBe(1);
    expect(bytes.map((b) => b.readUInt16BE(17))).toEqual(payloads.map((_, index) => index));
    // A cursor given another's number (or any other edit) fails authentication.
    const renumbered = Buffer.from(bytes[3]!);
    renumbered.writeUInt16BE(4, 17);
    expect(codec.open(renumbered.toString('base64url'))).toBeUndefined();
    for (let index = 0; index < bytes[5]!.length; index++)
      expect(codec.open(flipped(cursors[5]!, index))).toBeUndefined();
  });

  it('encrypts each cursor under its own IV: the same payload twice is two different cursors, as documented', () => {
    const minter = codec.minter();
    const [first, second] = [minter.encode(payloads[0]), minter.encode(payloads[0])];
    const body = (cursor: string) => Buffer.from(cursor, 'base64url').subarray(19).toString('hex');
    expect(body(second)).not.toBe(body(first));
    // Built here from the documented layout: key HKDF-SHA256(secret, salt, "gavel pagination cursor v2"),
    // IV = 10 zero bytes ‖ the 2-byte index, the header (version ‖ salt ‖ index) as AAD.
    const bytes = Buffer.from(second, 'base64url');
    const header = bytes.subarray(0, 19);
    const key = Buffer.from(
      hkdfSync('sha256', Buffer.from(NEW_SECRET), header.subarray(1, 17), 'gavel pagination cursor v2', 32),
    );
    const iv = Buffer.alloc(12);
    iv.writeUInt16BE(1, 10);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAAD(header);
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plaintext = Buffer.concat([decipher.update(bytes.subarray(19, bytes.length - 16)), decipher.final()]);
    expect(JSON.parse(plaintext.toString('utf8'))).toEqual(payloads[0]);
    // Relabelled as the other version (same bytes after the first), it is refused.
    const relabelled = Buffer.from(bytes);
    relabelled[0] = 1;
    expect(codec.open(relabelled.toString('base64url'))).toBeUndefined();
  });

  it('draws a fresh key before its IVs would repeat', () => {
    const minter = codec.minter();
    const salt = (cursor: string) => Buffer.from(cursor, 'base64url').subarray(1, 17).toString('hex');
    const first = minter.encode(payloads[0]);
    let last = first;
    for (let index = 1; index < 2 ** 16; index++) last = minter.encode(payloads[0]);
    expect(salt(last)).toBe(salt(first));
    const next = minter.encode(payloads[1]);
    expect(salt(next)).not.toBe(salt(first));
    expect(Buffer.from(next, 'base64url').readUInt16BE(17)).toBe(0);
    expect(codec.open(next)).toEqual(payloads[1]);
  });

  it('still decodes a cursor of the earlier format (one key per cursor), made before an upgrade', () => {
    // Version 1, built here from its documented layout: version ‖ salt ‖ ciphertext ‖ tag, key
    // HKDF-SHA256(secret, salt, "gavel pagination cursor v1"), zero IV, the version byte as AAD.
    const salt = randomBytes(16);
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(NEW_SECRET), salt, 'gavel pagination cursor v1', 32));
    const plaintext = Buffer.alloc(128, ' ');
    Buffer.from(JSON.stringify(payloads[0])).copy(plaintext);
    const cipher = createCipheriv('aes-256-gcm', key, Buffer.alloc(12), { authTagLength: 16 });
    cipher.setAAD(Buffer.from([1]));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const cursor = Buffer.concat([Buffer.from([1]), salt, ciphertext, cipher.getAuthTag()]).toString('base64url');
    expect(codec.open(cursor)).toEqual(payloads[0]);
    for (let index = 0; index < 1 + 16 + 128 + 16; index += 7)
      expect(codec.open(flipped(cursor, index))).toBeUndefined();
    expect(new CursorCodec(OLD_SECRET).open(cursor)).toBeUndefined();
    const relabelled = Buffer.from(cursor, 'base64url');
    relabelled[0] = 2;
    expect(codec.open(relabelled.toString('base64url'))).toBeUndefined();
  });
});

describe('cursors over HTTP and graphql-ws', () => {
  const databaseName = `test_${randomBytes(6).toString('hex')}`;
  /** Popularity as the refresh stores it: impressions of the last 24 h. The refresh never runs here. */
  const counts = [30, 30, 29, 12, 7, 3, 1];
  let before: TestApp;
  let rotated: TestApp;
  let dropped: TestApp;

  const start = (env: Record<string, string>) =>
    startTestApp({
      databaseName,
      periodicJobs: false,
      env: { GAVEL_SEED_DEMO: 'false', WS_ALLOW_QUERIES: 'true', ...env },
    });

  beforeAll(async () => {
    before = await start({ CURSOR_SECRET: OLD_SECRET });
    const ids = await insertDemoItems(before, 10);
    await createAuctionItemRepository(before.database.connection).setPopularity(
      new Map(ids.map((id, index) => [id, counts[index] ?? 0])),
    );
    // The same database behind a rotated secret (CURSOR_SECRET_PREVIOUS), and after the previous one is dropped.
    [rotated, dropped] = [
      await start({ CURSOR_SECRET: NEW_SECRET, CURSOR_SECRET_PREVIOUS: OLD_SECRET }),
      await start({ CURSOR_SECRET: NEW_SECRET }),
    ];
  });
  afterAll(() => Promise.all([before, rotated, dropped].map((app) => app?.stop())));

  const search = (app: TestApp, variables: SearchItemsQueryVariables) =>
    execute(app, SearchItemsDocument, { orderBy: popularity, ...variables });

  /** The same operation over graphql-ws (WS_ALLOW_QUERIES). */
  async function overWebsocket(
    app: TestApp,
    variables: SearchItemsQueryVariables,
  ): Promise<GraphQLResponse<SearchItemsQuery>> {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      return await new Promise((resolve, reject) => {
        let result: GraphQLResponse<SearchItemsQuery> | undefined;
        client.subscribe<SearchItemsQuery>(
          { query: print(SearchItemsDocument), variables: { orderBy: popularity, ...variables } },
          {
            next: (value) => (result = { status: 200, ...value } as GraphQLResponse<SearchItemsQuery>),
            error: (error) => (Array.isArray(error) ? resolve({ status: 200, errors: error }) : reject(error as Error)),
            complete: () => resolve(result!),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  const cursorsOf = (response: GraphQLResponse<SearchItemsQuery>) => {
    const { edges, pageInfo } = response.data!.auctionItems;
    return [...edges.map((edge) => edge.cursor), pageInfo.startCursor!, pageInfo.endCursor!];
  };

  it.each([
    ['HTTP', search],
    ['graphql-ws', overWebsocket],
  ])('gives out no cursor with its fields or sort value in clear (%s)', async (_transport, run) => {
    const page = await run(before, { first: 5 });
    expect(page.data!.auctionItems.edges).toHaveLength(5);
    for (const cursor of cursorsOf(page)) {
      const text = readable(cursor);
      expect(text).not.toContain('"v"');
      expect(text).not.toContain('"o"');
      expect(text).not.toContain('popularity');
    }
    expect(new Set(cursorsOf(page).map((cursor) => cursor.length)).size).toBe(1);
  });

  it.each([
    ['HTTP', search],
    ['graphql-ws', overWebsocket],
  ])('refuses a tampered cursor with BAD_USER_INPUT (%s)', async (_transport, run) => {
    const cursor = (await run(before, { first: 2 })).data!.auctionItems.pageInfo.endCursor!;
    for (const index of [0, 1, 20, 60, Buffer.from(cursor, 'base64url').length - 1]) {
      const refused = await run(before, { first: 2, after: flipped(cursor, index) });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      expect(refused.data ?? null).toBeNull();
    }
  });

  it('pages on with a cursor minted under the previous secret after a rotation, and refuses it once that secret is dropped', async () => {
    const first = await search(before, { first: 3 });
    const cursor = first.data!.auctionItems.pageInfo.endCursor!;
    const expected = (await search(before, { first: 3, after: cursor })).data!.auctionItems.edges.map(
      (edge) => edge.node.id,
    );
    expect(expected).toHaveLength(3);

    for (const run of [search, overWebsocket]) {
      const next = await run(rotated, { first: 3, after: cursor });
      expect(next.errors).toBeUndefined();
      expect(next.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(expected);
      // Backwards too, from a cursor the rotated server made itself.
      const back = await run(rotated, { last: 3, before: next.data!.auctionItems.pageInfo.startCursor! });
      expect(back.data!.auctionItems.edges.map((edge) => edge.node.id)).toEqual(
        first.data!.auctionItems.edges.map((edge) => edge.node.id),
      );

      const refused = await run(dropped, { first: 3, after: cursor });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });
});
