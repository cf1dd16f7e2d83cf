import type { mongo } from 'mongoose';
import { popularityScore } from '../../src/analytics/popularity';
import { createAuctionItemRepository, type AuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { insertDemoItems } from '../support/catalogFixtures';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * The popularity refresh stores what changed in the order (issue 22, item 7): scores rounded to a
 * step of at most a tenth, and only the items whose stored score differs written.
 */

describe('popularityScore', () => {
  it('is exact below 100, then keeps two significant digits (rounded down); nothing is 0', () => {
    const cases: Array<[number, number]> = [
      [0, 0],
      [-3, 0],
      [Number.NaN, 0],
      [0.5, 0],
      [1, 1],
      [99, 99],
      [99.9, 99],
      [100, 100],
      [109, 100],
      [110, 110],
      [999, 990],
      [1_000, 1_000],
      [1_234, 1_200],
      [98_765, 98_000],
      [1_000_001, 1_000_000],
      [123_456_789, 120_000_000],
    ];
    for (const [impressions, score] of cases)
      expect([impressions, popularityScore(impressions)]).toEqual([impressions, score]);
  });

  it('stays within a tenth below the count, and always ranks a count a fifth higher above it', () => {
    for (let count = 1; count < 200_000; count += 37) {
      const score = popularityScore(count);
      expect(score).toBeLessThanOrEqual(count);
      expect(score).toBeGreaterThan(count * 0.9 - 1);
      expect(popularityScore(Math.ceil(count * 1.2))).toBeGreaterThan(score);
    }
  });
});

describe('setPopularity', () => {
  let app: TestApp;
  let repository: AuctionItemRepository;
  let ids: string[];

  beforeAll(async () => {
    // The app's own refresh runs once, at startup, before the catalog exists.
    app = await startTestApp({
      env: { GAVEL_SEED_DEMO: 'false', POPULARITY_REFRESH_MS: '86400000' },
      monitorCommands: true,
    });
    repository = createAuctionItemRepository(app.database.connection);
    ids = await insertDemoItems(app, 30);
  });
  afterAll(() => app.stop());

  const stored = async () =>
    new Map(
      (
        await app.database.connection
          .collection<{ popularity: number }>('auction_items')
          .find({ popularity: { $ne: 0 } }, { projection: { popularity: 1 } })
          .toArray()
      ).map((item) => [item._id.toHexString(), item.popularity]),
    );
  /** The documents the database reports modified while `work` runs (updates' `nModified`). */
  const modified = async (work: () => Promise<unknown>) => {
    let count = 0;
    const client = app.database.connection.getClient();
    const listener = (event: mongo.CommandSucceededEvent) => {
      if (event.commandName === 'update') count += (event.reply as { nModified?: number }).nModified ?? 0;
    };
    client.on('commandSucceeded', listener);
    try {
      return { result: await work(), count };
    } finally {
      client.off('commandSucceeded', listener);
    }
  };

  it('writes only the items whose score changed and zeroes only those that left', async () => {
    const first = new Map(ids.slice(0, 10).map((id, index) => [id, index + 1]));
    expect(await modified(() => repository.setPopularity(first))).toEqual({
      result: { written: 10, zeroed: 0 },
      count: 10,
    });
    expect(await stored()).toEqual(first);

    // Two scores change, one item leaves, one enters: four writes, whatever the catalog's size.
    const next = new Map(first);
    next.set(ids[0]!, 50);
    next.set(ids[1]!, 60);
    next.delete(ids[2]!);
    next.set(ids[20]!, 7);
    expect(await modified(() => repository.setPopularity(next))).toEqual({
      result: { written: 3, zeroed: 1 },
      count: 4,
    });
    expect(await stored()).toEqual(next);

    // Nothing changed: nothing written.
    expect(await modified(() => repository.setPopularity(next))).toEqual({
      result: { written: 0, zeroed: 0 },
      count: 0,
    });

    // Everything leaves the window.
    expect((await repository.setPopularity(new Map())).zeroed).toBe(next.size);
    expect(await stored()).toEqual(new Map());
  });

  it('zeroes and writes in bounded commands when thousands of scores change at once', async () => {
    const many = await insertDemoItems(app, 2_500, 7); // every item's id: these and the first 30
    const scores = new Map(many.map((id, index) => [id, 1 + (index % 90)]));
    /**
     * While `work` runs: the item updates each update command carried, and the ids each zeroing
     * update named (the driver may split a bulk write further; it never splits an `$in`).
     */
    const updates = async (work: () => Promise<unknown>) => {
      const perCommand: number[] = [];
      const zeroingIds: number[] = [];
      const client = app.database.connection.getClient();
      const listener = (event: mongo.CommandStartedEvent) => {
        if (event.commandName !== 'update' || event.command.update !== 'auction_items') return;
        const statements = event.command.updates as Array<{ q: { _id?: { $in?: unknown[] } } }>;
        perCommand.push(statements.length);
        for (const statement of statements) if (statement.q._id?.$in) zeroingIds.push(statement.q._id.$in.length);
      };
      client.on('commandStarted', listener);
      try {
        return { result: await work(), perCommand, zeroingIds };
      } finally {
        client.off('commandStarted', listener);
      }
    };
    const first = await updates(() => repository.setPopularity(scores));
    expect(first.result).toEqual({ written: many.length, zeroed: 0 });
    expect(Math.max(...first.perCommand)).toBeLessThanOrEqual(1_000);
    expect(first.perCommand.reduce((sum, size) => sum + size, 0)).toBe(many.length);
    expect(await stored()).toEqual(scores);
    const second = await updates(() => repository.setPopularity(new Map([[many[0]!, 5]])));
    expect(second.result).toEqual({ written: 1, zeroed: many.length - 1 });
    expect(second.zeroingIds).toEqual([1_000, 1_000, many.length - 1 - 2_000]);
    expect(await stored()).toEqual(new Map([[many[0]!, 5]]));
    await repository.setPopularity(new Map());
  });
});
