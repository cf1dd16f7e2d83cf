import { ManualClock } from '../../src/shared/clock';
import {
  AuctionItemDocument,
  CreateAuctionItemDocument,
  UpdateAuctionItemDocument,
  type CreateAuctionItemInput,
} from '../generated/graphql';
import { errorCodes, execute, postRaw, startTestApp, type TestApp } from '../support/testApp';

const clock = new ManualClock('2026-03-01T12:00:00.000Z');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ clock, env: { GAVEL_SEED_DEMO: 'false' } });
});
afterAll(() => app.stop());

function validInput(overrides: Partial<CreateAuctionItemInput> = {}): CreateAuctionItemInput {
  return {
    title: 'Vintage Omega Seamaster',
    description: 'Automatic, 1962, serviced.\nOriginal box.',
    category: 'watches',
    startingPrice: { amount: 125_000, currency: 'EUR' },
    startsAt: '2026-03-02T09:00:00.000Z',
    endsAt: '2026-03-09T09:00:00.000Z',
    sellerId: 'seller-17',
    tags: ['Vintage', 'swiss', 'vintage'],
    ...overrides,
  };
}

async function create(overrides: Partial<CreateAuctionItemInput> = {}) {
  const response = await execute(app, CreateAuctionItemDocument, { input: validInput(overrides) });
  expect(response.errors).toBeUndefined();
  return response.data!.createAuctionItem;
}

async function countItems(): Promise<number> {
  return app.database.connection.collection('auction_items').countDocuments();
}

describe('createAuctionItem', () => {
  it('stores a valid item and returns it with money in minor units', async () => {
    const item = await create();
    expect(item).toMatchObject({
      title: 'Vintage Omega Seamaster',
      category: 'watches',
      status: 'SCHEDULED',
      price: { amount: 125_000, currency: 'EUR' },
      startingPrice: { amount: 125_000, currency: 'EUR' },
      sellerId: 'seller-17',
      tags: ['vintage', 'swiss'],
      createdAt: '2026-03-01T12:00:00.000Z',
    });
    const read = await execute(app, AuctionItemDocument, { id: item.id });
    expect(read.data?.auctionItem).toEqual(item);
  });

  it('makes an item ACTIVE at once when it starts now or earlier', async () => {
    const item = await create({ startsAt: '2026-03-01T11:00:00.000Z' });
    expect(item.status).toBe('ACTIVE');
  });

  const invalid: Array<[string, Partial<CreateAuctionItemInput>, string]> = [
    ['a too-short title', { title: 'ab' }, 'input.title'],
    ['an oversized title', { title: 'x'.repeat(141) }, 'input.title'],
    ['control characters in the title', { title: 'Nice\u0000watch' }, 'input.title'],
    ['an oversized description', { description: 'x'.repeat(5001) }, 'input.description'],
    ['a category that is not a slug', { category: 'Watches & Clocks' }, 'input.category'],
    ['negative money', { startingPrice: { amount: -1, currency: 'EUR' } }, 'input.startingPrice.amount'],
    ['endsAt before startsAt', { endsAt: '2026-03-02T08:00:00.000Z' }, 'input.endsAt'],
    [
      'endsAt in the past',
      { startsAt: '2026-02-01T00:00:00.000Z', endsAt: '2026-02-02T00:00:00.000Z' },
      'input.endsAt',
    ],
    ['an auction over 365 days', { endsAt: '2027-03-09T09:00:00.000Z' }, 'input.endsAt'],
    ['a hostile seller id', { sellerId: '{"$gt": ""}' }, 'input.sellerId'],
    ['too many tags', { tags: Array.from({ length: 21 }, (_, i) => `tag${i}`) }, 'input.tags'],
    ['an oversized tag', { tags: ['x'.repeat(33)] }, 'input.tags[0]'],
  ];
  it.each(invalid)(
    'rejects %s with BAD_USER_INPUT on the field and stores nothing',
    async (_name, overrides, field) => {
      const before = await countItems();
      const response = await execute(app, CreateAuctionItemDocument, { input: validInput(overrides) });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe(field);
      expect(response.errors![0]!.message.length).toBeGreaterThan(10);
      expect(await countItems()).toBe(before);
    },
  );

  it('rejects wrong types, unknown currencies, fractional money and unknown fields before running', async () => {
    const before = await countItems();
    const mutation = `mutation($input: CreateAuctionItemInput!) { createAuctionItem(input: $input) { id } }`;
    const cases: unknown[] = [
      { ...validInput(), startingPrice: { amount: 10.5, currency: 'EUR' } },
      { ...validInput(), startingPrice: { amount: 100, currency: 'EURO' } },
      { ...validInput(), startsAt: 'next tuesday' },
      { ...validInput(), title: 42 },
      { ...validInput(), unknownField: true },
      { ...validInput(), title: undefined },
    ];
    for (const input of cases) {
      const response = await postRaw(app, { query: mutation, variables: { input } });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    }
    const unknownSelection = await postRaw(app, { query: '{ auctionItem(id: "x") { nope } }' });
    expect(errorCodes(unknownSelection)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(await countItems()).toBe(before);
  });
});

describe('auctionItem', () => {
  it('returns null for an id that does not exist', async () => {
    const response = await execute(app, AuctionItemDocument, { id: '65f000000000000000000000' });
    expect(response.errors).toBeUndefined();
    expect(response.data?.auctionItem).toBeNull();
  });

  it.each(['nope', '{"$gt":""}', 'x'.repeat(10_000), '65f00000000000000000000z', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'])(
    'answers BAD_USER_INPUT for the malformed id %#',
    async (id) => {
      const response = await execute(app, AuctionItemDocument, { id });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe('id');
    },
  );
});

describe('updateAuctionItem', () => {
  it('changes only the given fields and bumps updatedAt', async () => {
    const item = await create();
    clock.advance(60_000);
    const response = await execute(app, UpdateAuctionItemDocument, {
      id: item.id,
      input: { title: 'Omega Seamaster 1962', price: { amount: 130_000, currency: 'EUR' } },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?.updateAuctionItem).toMatchObject({
      title: 'Omega Seamaster 1962',
      price: { amount: 130_000, currency: 'EUR' },
      startingPrice: { amount: 125_000, currency: 'EUR' },
      description: item.description,
      createdAt: item.createdAt,
      updatedAt: '2026-03-01T12:01:00.000Z',
    });
  });

  it('follows the lifecycle SCHEDULED → ACTIVE → ENDED and refuses changes after the end', async () => {
    const item = await create();
    const transition = (status: 'ACTIVE' | 'ENDED' | 'SCHEDULED' | 'CANCELLED') =>
      execute(app, UpdateAuctionItemDocument, { id: item.id, input: { status } });
    expect((await transition('ENDED')).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.status',
    });
    expect((await transition('ACTIVE')).data?.updateAuctionItem.status).toBe('ACTIVE');
    expect(errorCodes(await transition('SCHEDULED'))).toEqual(['BAD_USER_INPUT']);
    expect((await transition('ENDED')).data?.updateAuctionItem.status).toBe('ENDED');
    const afterEnd = await execute(app, UpdateAuctionItemDocument, { id: item.id, input: { title: 'Too late' } });
    expect(afterEnd.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect((await execute(app, AuctionItemDocument, { id: item.id })).data?.auctionItem?.title).toBe(item.title);
  });

  it('lets only one of two concurrent conflicting transitions win', async () => {
    const item = await create({ startsAt: '2026-03-01T11:00:00.000Z' });
    const [end, cancel] = await Promise.all([
      execute(app, UpdateAuctionItemDocument, { id: item.id, input: { status: 'ENDED' } }),
      execute(app, UpdateAuctionItemDocument, { id: item.id, input: { status: 'CANCELLED' } }),
    ]);
    const winners = [end, cancel].filter((response) => response.errors === undefined);
    expect(winners).toHaveLength(1);
    const stored = await execute(app, AuctionItemDocument, { id: item.id });
    expect(stored.data?.auctionItem?.status).toBe(winners[0]!.data?.updateAuctionItem.status);
  });

  it.each([
    ['a currency other than the item’s', { price: { amount: 10, currency: 'USD' } }, 'input.price.currency'],
    ['negative money', { price: { amount: -5, currency: 'EUR' } }, 'input.price.amount'],
    ['endsAt before startsAt', { endsAt: '2026-03-01T00:00:00.000Z' }, 'input.endsAt'],
    ['an empty change', {}, 'input'],
  ])('rejects %s and changes nothing', async (_name, input, field) => {
    const item = await create();
    const response = await execute(app, UpdateAuctionItemDocument, { id: item.id, input });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect((await execute(app, AuctionItemDocument, { id: item.id })).data?.auctionItem).toEqual(item);
  });

  it('moves a price still at the starting price with it while SCHEDULED, and keeps a price set apart', async () => {
    const item = await create();
    const lowered = await execute(app, UpdateAuctionItemDocument, {
      id: item.id,
      input: { startingPrice: { amount: 100_000, currency: 'EUR' } },
    });
    expect(lowered.data?.updateAuctionItem).toMatchObject({
      startingPrice: { amount: 100_000, currency: 'EUR' },
      price: { amount: 100_000, currency: 'EUR' },
    });
    await execute(app, UpdateAuctionItemDocument, {
      id: item.id,
      input: { price: { amount: 110_000, currency: 'EUR' } },
    });
    const raised = await execute(app, UpdateAuctionItemDocument, {
      id: item.id,
      input: { startingPrice: { amount: 105_000, currency: 'EUR' } },
    });
    expect(raised.data?.updateAuctionItem).toMatchObject({
      startingPrice: { amount: 105_000, currency: 'EUR' },
      price: { amount: 110_000, currency: 'EUR' },
    });
  });

  it('refuses to change the starting price once the auction runs', async () => {
    const item = await create({ startsAt: '2026-03-01T11:00:00.000Z' });
    const response = await execute(app, UpdateAuctionItemDocument, {
      id: item.id,
      input: { startingPrice: { amount: 1, currency: 'EUR' } },
    });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.startingPrice' });
  });

  it('answers NOT_FOUND for an unknown id and BAD_USER_INPUT for a malformed one', async () => {
    const input = { title: 'Anything' };
    const unknown = await execute(app, UpdateAuctionItemDocument, { id: '65f000000000000000000000', input });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    const malformed = await execute(app, UpdateAuctionItemDocument, { id: 'bad id', input });
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});
