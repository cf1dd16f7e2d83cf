import type { Types } from 'mongoose';
import type { Clock } from '../shared/clock';
import { badUserInput, notFound } from '../shared/errors';
import { parseObjectId } from '../shared/ids';
import { AuctionStatus, type AuctionItemRecord } from './auctionItem.model';
import type { AuctionItemChanges, AuctionItemRepository, NewAuctionItem } from './auctionItem.repository';
import type { AuctionItem, CreateAuctionItemInput, MoneyInput, UpdateAuctionItemInput } from './auctionItem.types';
import { searchTermsOf } from './searchTerms';

/** Limits on what a client may store; documented in the schema descriptions too. */
export const CatalogLimits = {
  titleMin: 3,
  titleMax: 140,
  descriptionMax: 5000,
  categoryMax: 40,
  tagsMax: 20,
  tagMax: 32,
  /** 10^13 minor units: 100 billion in a two-decimal currency, far beyond any auction. */
  amountMax: 10_000_000_000_000,
  durationMaxMs: 365 * 24 * 60 * 60 * 1000,
} as const;

/** Allowed status changes; ENDED and CANCELLED are final. */
const allowedTransitions: Readonly<Record<AuctionStatus, readonly AuctionStatus[]>> = {
  [AuctionStatus.SCHEDULED]: [AuctionStatus.ACTIVE, AuctionStatus.CANCELLED],
  [AuctionStatus.ACTIVE]: [AuctionStatus.ENDED, AuctionStatus.CANCELLED],
  [AuctionStatus.ENDED]: [],
  [AuctionStatus.CANCELLED]: [],
};

// Control characters are never legitimate text and break logs and terminals downstream; only
// multi-line fields (descriptions) may hold tabs and newlines.
const singleLineForbidden = /[\u0000-\u001F\u007F]/;
const multiLineForbidden = /[\u0000-\u0008\u000B-\u001F\u007F]/;
const categoryPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const sellerIdPattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const tagPattern = /^[\p{L}\p{N}][\p{L}\p{N} &'-]*$/u;

function text(value: string, field: string, min: number, max: number, multiline = false): string {
  const trimmed = value.trim();
  if (trimmed.length < min || trimmed.length > max) {
    throw badUserInput(field, `${field} must be ${min} to ${max} characters long (got ${trimmed.length}).`);
  }
  if ((multiline ? multiLineForbidden : singleLineForbidden).test(trimmed)) {
    throw badUserInput(field, `${field} must not contain control characters.`);
  }
  return trimmed;
}

function category(value: string, field: string): string {
  if (value.length > CatalogLimits.categoryMax || !categoryPattern.test(value)) {
    throw badUserInput(
      field,
      `${field} must be a slug of lowercase letters, digits and single dashes, up to ${CatalogLimits.categoryMax} characters.`,
    );
  }
  return value;
}

function tags(values: readonly string[], field: string): string[] {
  if (values.length > CatalogLimits.tagsMax) {
    throw badUserInput(field, `${field} takes at most ${CatalogLimits.tagsMax} tags.`);
  }
  const normalized = values.map((tag, index) => {
    const value = tag.trim().toLowerCase();
    if (value.length === 0 || value.length > CatalogLimits.tagMax || !tagPattern.test(value)) {
      throw badUserInput(
        `${field}[${index}]`,
        `Each tag must be 1 to ${CatalogLimits.tagMax} letters, digits, spaces, dashes, apostrophes or &.`,
      );
    }
    return value;
  });
  return [...new Set(normalized)];
}

function amount(money: MoneyInput, field: string, currency?: string): number {
  if (!Number.isSafeInteger(money.amount) || money.amount < 0 || money.amount > CatalogLimits.amountMax) {
    throw badUserInput(
      `${field}.amount`,
      `${field}.amount must be a whole number of minor units from 0 to ${CatalogLimits.amountMax}.`,
    );
  }
  if (currency !== undefined && money.currency !== currency) {
    throw badUserInput(`${field}.currency`, `${field}.currency must be the item's currency, ${currency}.`);
  }
  return money.amount;
}

function validDate(value: Date, field: string): Date {
  if (Number.isNaN(value.getTime())) throw badUserInput(field, `${field} must be a valid date-time.`);
  return value;
}

function schedule(startsAt: Date, endsAt: Date, field: string): void {
  if (endsAt.getTime() <= startsAt.getTime()) {
    throw badUserInput(field, 'endsAt must be after startsAt.');
  }
  if (endsAt.getTime() - startsAt.getTime() > CatalogLimits.durationMaxMs) {
    throw badUserInput(field, 'An auction may last at most 365 days.');
  }
}

/** Maps a stored item to its GraphQL shape. */
export function toAuctionItem(record: AuctionItemRecord): AuctionItem {
  return {
    id: record._id.toHexString(),
    title: record.title,
    description: record.description,
    category: record.category,
    status: record.status,
    price: { amount: record.priceAmount, currency: record.currency },
    startingPrice: { amount: record.startingPriceAmount, currency: record.currency },
    startsAt: record.startsAt,
    endsAt: record.endsAt,
    sellerId: record.sellerId,
    tags: record.tags,
    externalId: record.externalId ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The catalog's rules: what a valid item is and how it may change. */
export class CatalogService {
  constructor(
    private readonly items: AuctionItemRepository,
    private readonly clock: Clock,
  ) {}

  /** The item with this id, or null; a malformed id is `BAD_USER_INPUT` on `field`. */
  async getItem(id: string, field = 'id'): Promise<AuctionItem | null> {
    const record = await this.items.findById(parseObjectId(id, field));
    return record ? toAuctionItem(record) : null;
  }

  /**
   * The seller of each of these items (ids as given; unknown ids are absent), in one query.
   * Malformed ids are `BAD_USER_INPUT` on `field[index]`.
   */
  async sellersOf(ids: readonly string[], field: string): Promise<Map<string, string>> {
    const parsed = ids.map((id, index) => parseObjectId(id, `${field}[${index}]`));
    const records = await this.items.findByIds(parsed);
    return new Map(records.map((record) => [record._id.toHexString(), record.sellerId]));
  }

  /** Validates and stores a new item; its status follows from `startsAt`. */
  async createItem(input: CreateAuctionItemInput): Promise<AuctionItem> {
    const record = await this.items.insert(this.newItem(input, this.clock.now(), 'input.'));
    return toAuctionItem(record);
  }

  /**
   * The item `input` describes, validated as `createAuctionItem` validates it, as it would be
   * stored at `now` (nothing is written).
   *
   * @param fieldPrefix - put before each field name in errors (`input.` for the mutation's argument)
   * @throws BAD_USER_INPUT naming the first offending field
   */
  newItem(input: CreateAuctionItemInput, now: Date, fieldPrefix = ''): NewAuctionItem {
    const at = (field: string) => `${fieldPrefix}${field}`;
    const startsAt = validDate(input.startsAt, at('startsAt'));
    const endsAt = validDate(input.endsAt, at('endsAt'));
    schedule(startsAt, endsAt, at('endsAt'));
    if (endsAt.getTime() <= now.getTime()) {
      throw badUserInput(at('endsAt'), `${at('endsAt')} must be in the future.`);
    }
    if (!sellerIdPattern.test(input.sellerId)) {
      throw badUserInput(at('sellerId'), `${at('sellerId')} must be 1 to 64 letters, digits or _ . : -`);
    }
    const startingPrice = amount(input.startingPrice, at('startingPrice'));
    const words = {
      title: text(input.title, at('title'), CatalogLimits.titleMin, CatalogLimits.titleMax),
      description: text(input.description ?? '', at('description'), 0, CatalogLimits.descriptionMax, true),
      tags: tags(input.tags ?? [], at('tags')),
    };
    return {
      ...words,
      ...searchTermsOf(words),
      category: category(input.category, at('category')),
      status: startsAt.getTime() <= now.getTime() ? AuctionStatus.ACTIVE : AuctionStatus.SCHEDULED,
      currency: input.startingPrice.currency,
      priceAmount: startingPrice,
      startingPriceAmount: startingPrice,
      startsAt,
      endsAt,
      sellerId: input.sellerId,
      createdAt: now,
      updatedAt: now,
    };
  }

  /**
   * Applies a partial update after checking every rule against the current item. The write is
   * conditional on the status read, so a concurrent status change makes this one fail cleanly
   * instead of skipping the transition check.
   */
  async updateItem(id: string, input: UpdateAuctionItemInput): Promise<AuctionItem> {
    const itemId: Types.ObjectId = parseObjectId(id, 'id');
    const current = await this.items.findById(itemId);
    if (!current) throw notFound(`No auction item has id ${id}.`, 'id');
    const changes = this.validateChanges(current, input);
    if (Object.keys(changes).length === 0) {
      throw badUserInput('input', 'input must change at least one field.');
    }
    changes.updatedAt = this.clock.now();
    const updated = await this.items.updateIfStatus(itemId, current.status, changes);
    if (!updated) {
      throw badUserInput('id', `Auction item ${id} was changed concurrently; read it again and retry.`);
    }
    return toAuctionItem(updated);
  }

  private validateChanges(current: AuctionItemRecord, input: UpdateAuctionItemInput): AuctionItemChanges {
    if (allowedTransitions[current.status].length === 0) {
      throw badUserInput('id', `Auction item is ${current.status}; a finished auction cannot be changed.`);
    }
    const changes: AuctionItemChanges = {};
    if (input.title != null) {
      changes.title = text(input.title, 'input.title', CatalogLimits.titleMin, CatalogLimits.titleMax);
    }
    if (input.description != null) {
      changes.description = text(input.description, 'input.description', 0, CatalogLimits.descriptionMax, true);
    }
    if (input.category != null) changes.category = category(input.category, 'input.category');
    if (input.tags != null) changes.tags = tags(input.tags, 'input.tags');
    if (input.price != null) changes.priceAmount = amount(input.price, 'input.price', current.currency);
    const scheduled = current.status === AuctionStatus.SCHEDULED;
    if (input.startingPrice != null) {
      if (!scheduled) throw badUserInput('input.startingPrice', 'startingPrice can only change while SCHEDULED.');
      changes.startingPriceAmount = amount(input.startingPrice, 'input.startingPrice', current.currency);
      // Nothing can be bid before the start: a price still at the starting price moves with it.
      if (input.price == null && current.priceAmount === current.startingPriceAmount)
        changes.priceAmount = changes.startingPriceAmount;
    }
    if (input.startsAt != null) {
      if (!scheduled) throw badUserInput('input.startsAt', 'startsAt can only change while SCHEDULED.');
      changes.startsAt = validDate(input.startsAt, 'input.startsAt');
    }
    if (input.endsAt != null) changes.endsAt = validDate(input.endsAt, 'input.endsAt');
    if (changes.startsAt || changes.endsAt) {
      schedule(changes.startsAt ?? current.startsAt, changes.endsAt ?? current.endsAt, 'input.endsAt');
    }
    if (input.status != null && input.status !== current.status) {
      if (!allowedTransitions[current.status].includes(input.status)) {
        throw badUserInput(
          'input.status',
          `Cannot change status from ${current.status} to ${input.status}; allowed: ${allowedTransitions[current.status].join(', ')}.`,
        );
      }
      changes.status = input.status;
    }
    if (changes.title !== undefined || changes.description !== undefined || changes.tags !== undefined) {
      Object.assign(changes, searchTermsOf({ ...current, ...changes }));
    }
    return changes;
  }
}
