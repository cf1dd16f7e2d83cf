import type { Types } from 'mongoose';
import { createAuctionItemRepository } from '../../src/catalog/auctionItem.repository';
import { generateDemoCatalog } from '../../src/catalog/demoCatalog';
import type { TestApp } from './testApp';

/** Inserts `count` demo items into the app's database and returns their ids (hex). */
export async function insertDemoItems(app: TestApp, count: number, seed = 1): Promise<string[]> {
  const repository = createAuctionItemRepository(app.database.connection);
  await repository.insertMany(generateDemoCatalog(count, new Date(), seed));
  const rows = await app.database.connection
    .collection<{ _id: Types.ObjectId }>('auction_items')
    .find({}, { projection: { _id: 1 } })
    .toArray();
  return rows.map((row) => row._id.toHexString());
}

/** A desktop browser's user agent: not a bot. */
export const BROWSER = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
};
