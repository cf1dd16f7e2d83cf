import { AuctionStatus } from './auctionItem.model';
import type { NewAuctionItem } from './auctionItem.repository';
import { searchTermsOf } from './searchTerms';

/** Seeded pseudo-random numbers (mulberry32): the same seed gives the same catalog everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CategoryVocabulary {
  readonly nouns: readonly string[];
  readonly adjectives: readonly string[];
  readonly tags: readonly string[];
  /** Typical starting price range in minor units. */
  readonly price: readonly [number, number];
}

const vocabulary: Readonly<Record<string, CategoryVocabulary>> = {
  watches: {
    nouns: ['Watch', 'Chronograph', 'Pocket Watch', 'Diver Watch', 'Dress Watch'],
    adjectives: ['Vintage', 'Swiss', 'Automatic', 'Gold', 'Steel', 'Limited Edition'],
    tags: ['vintage', 'swiss', 'automatic', 'gold', 'steel', 'mechanical'],
    price: [5_000, 2_500_000],
  },
  art: {
    nouns: ['Oil Painting', 'Watercolor', 'Lithograph', 'Bronze Sculpture', 'Etching'],
    adjectives: ['Signed', 'Original', 'Impressionist', 'Modern', 'Framed', 'Antique'],
    tags: ['signed', 'original', 'framed', 'modern', 'antique', 'landscape'],
    price: [2_000, 5_000_000],
  },
  electronics: {
    nouns: ['Camera', 'Turntable', 'Laptop', 'Synthesizer', 'Headphones', 'Game Console'],
    adjectives: ['Refurbished', 'Boxed', 'Retro', 'Professional', 'Wireless', 'Rare'],
    tags: ['boxed', 'retro', 'refurbished', 'audio', 'photo', 'gaming'],
    price: [1_000, 300_000],
  },
  furniture: {
    nouns: ['Armchair', 'Dining Table', 'Sideboard', 'Desk', 'Bookcase', 'Lamp'],
    adjectives: ['Mid-Century', 'Oak', 'Walnut', 'Danish', 'Art Deco', 'Teak'],
    tags: ['mid-century', 'oak', 'walnut', 'danish', 'design', 'restored'],
    price: [3_000, 800_000],
  },
  jewelry: {
    nouns: ['Ring', 'Necklace', 'Brooch', 'Bracelet', 'Earrings', 'Pendant'],
    adjectives: ['Diamond', 'Silver', 'Victorian', 'Sapphire', 'Pearl', 'Platinum'],
    tags: ['diamond', 'silver', 'victorian', 'gemstone', 'estate', 'handmade'],
    price: [2_000, 1_500_000],
  },
  coins: {
    nouns: ['Silver Dollar', 'Gold Sovereign', 'Roman Denarius', 'Proof Set', 'Commemorative Coin'],
    adjectives: ['Uncirculated', 'Graded', 'Rare', 'Ancient', 'Mint', 'Error'],
    tags: ['graded', 'ancient', 'silver', 'gold', 'mint', 'numismatic'],
    price: [500, 500_000],
  },
  books: {
    nouns: ['First Edition', 'Atlas', 'Manuscript', 'Poetry Collection', 'Signed Novel'],
    adjectives: ['Leather-Bound', 'Illustrated', 'Antiquarian', 'Rare', 'Annotated', 'Signed'],
    tags: ['first-edition', 'signed', 'leather', 'illustrated', 'antiquarian', 'literature'],
    price: [1_000, 900_000],
  },
  cars: {
    nouns: ['Roadster', 'Coupe', 'Convertible', 'Motorcycle', 'Station Wagon'],
    adjectives: ['Classic', 'Restored', 'Low-Mileage', 'Vintage', 'Collector', 'Italian'],
    tags: ['classic', 'restored', 'collector', 'vintage', 'racing', 'italian'],
    price: [500_000, 20_000_000],
  },
};

/** The categories of the demo catalog. */
export const demoCategories = Object.keys(vocabulary);

const conditions = [
  'in excellent condition',
  'with minor wear',
  'fully working',
  'from a private collection',
  'with original papers',
  'recently serviced',
];
const currencies = ['USD', 'USD', 'USD', 'EUR', 'EUR', 'GBP'];
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/**
 * Generates `count` realistic auction items, the same for the same `seed` and `now`: a mix of
 * categories, currencies and lifecycle states (scheduled, running, ended, cancelled) whose dates
 * are consistent with their status relative to `now`.
 */
export function generateDemoCatalog(count: number, now: Date, seed = 42): NewAuctionItem[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const between = (min: number, max: number): number => Math.floor(min + random() * (max - min));
  const items: NewAuctionItem[] = [];
  for (let index = 0; index < count; index++) {
    const category = pick(demoCategories);
    const words = vocabulary[category]!;
    const title = `${pick(words.adjectives)} ${pick(words.adjectives)} ${pick(words.nouns)}`.replace(
      /^(\S+) \1 /,
      '$1 ',
    );
    const roll = random();
    const status =
      roll < 0.15
        ? AuctionStatus.SCHEDULED
        : roll < 0.7
          ? AuctionStatus.ACTIVE
          : roll < 0.95
            ? AuctionStatus.ENDED
            : AuctionStatus.CANCELLED;
    const finished = status === AuctionStatus.ENDED || status === AuctionStatus.CANCELLED;
    // Finished auctions were listed at least two days ago so that they had time to run and end.
    const createdAt = new Date(now.getTime() - between(finished ? 2 * DAY : 0, 60 * DAY));
    const duration = between(1, 14) * DAY;
    const startsAt =
      status === AuctionStatus.SCHEDULED
        ? new Date(now.getTime() + between(HOUR, 10 * DAY))
        : status === AuctionStatus.ACTIVE
          ? new Date(now.getTime() - between(HOUR, duration - HOUR))
          : new Date(createdAt.getTime() + between(0, DAY));
    const endsAt =
      status === AuctionStatus.ENDED
        ? new Date(Math.min(startsAt.getTime() + duration, now.getTime() - HOUR))
        : new Date(startsAt.getTime() + duration);
    const startingPriceAmount = between(words.price[0], words.price[1]);
    const bidsRaised = status === AuctionStatus.ACTIVE || status === AuctionStatus.ENDED ? 1 + random() * 1.5 : 1;
    const tags = [...new Set([pick(words.tags), pick(words.tags), pick(words.tags)])].slice(0, between(1, 4));
    const description = `${title} ${pick(conditions)}. Lot ${index + 1} of the Gavel demo catalog, ${category} department.`;
    items.push({
      title,
      description,
      ...searchTermsOf({ title, description, tags }),
      category,
      status,
      currency: pick(currencies),
      priceAmount: Math.round(startingPriceAmount * bidsRaised),
      startingPriceAmount,
      startsAt,
      endsAt: endsAt.getTime() > startsAt.getTime() ? endsAt : new Date(startsAt.getTime() + HOUR),
      sellerId: `seller-${between(1, 200)}`,
      tags,
      createdAt: new Date(Math.min(createdAt.getTime(), startsAt.getTime())),
      updatedAt: new Date(Math.min(createdAt.getTime(), startsAt.getTime())),
    });
  }
  return items;
}
