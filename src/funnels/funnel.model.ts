import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { Histogram, StepTimes } from './journeys';

/**
 * One session's journey on one lot (`funnel_journeys`): the first time it did each step, and the
 * first time each traffic source showed it the lot. Built from the counted tracking events and the
 * conversions by the funnel builder; `$min` updates, so building an event twice changes nothing.
 */
export interface JourneyRecord {
  /** `<itemId>:<sessionId>`. */
  _id: string;
  itemId: Types.ObjectId;
  sessionId: string;
  steps: StepTimes;
  /** Source → first time a counted impression or click from it reached the journey. */
  touches: Record<string, number>;
  /**
   * Experiment tag (see `tagField`) → first time a counted impression or click carrying it reached
   * the journey; declared variants of defined experiments only.
   */
  tags?: Record<string, number>;
  /** The UTC day of the journey's first step (what its day's rows count it under). */
  day?: Date;
}

/** Journeys of one signature, counted in a day's row. */
export interface CountedJourneys {
  /** See `signatureOf`. */
  signature: string;
  count: number;
  /** Pair of steps (`IB`) → bucketed times between them. */
  durations: Record<string, Histogram>;
}

/** Journeys of one signature from one source. */
export interface FunnelEntry extends CountedJourneys {
  /** Source of the journey's first touch; `NONE` for a journey without a tracked touch. */
  source: string;
}

/** Journeys of one signature in one variant of an experiment (the variant of their first tagged touch). */
export interface VariantEntry extends CountedJourneys {
  experiment: string;
  variant: string;
}

/** What a funnel row counts: one lot, one category or one seller (by category). */
export enum FunnelScope {
  ITEM = 'item',
  CATEGORY = 'category',
  SELLER = 'seller',
}

/**
 * The journeys that began on one UTC day, counted by source and signature (`funnel_days`), at one
 * scope: per lot (read by `AuctionItem.analytics.funnel`), per category (the marketplace's funnels)
 * and per seller and category (a seller's). Recomputed whole from what it counts, never
 * incremented, so a rebuild or a second builder cannot count anything twice.
 */
export interface FunnelDayRecord {
  /** `<scope>:<key>:<YYYY-MM-DD>`. */
  _id: string;
  scope: FunnelScope;
  day: Date;
  /** The lot (item scope); null otherwise. */
  itemId: Types.ObjectId | null;
  category: string;
  /** The seller (item and seller scopes); null at category scope. */
  sellerId: string | null;
  entries: FunnelEntry[];
  /** The same journeys again, those tagged in a defined experiment, by experiment and variant. */
  variants?: VariantEntry[];
}

const journeySchema = new Schema<JourneyRecord>(
  {
    _id: { type: String, required: true },
    itemId: { type: Schema.Types.ObjectId, required: true },
    sessionId: { type: String, required: true },
    steps: { type: Schema.Types.Mixed, default: {} },
    touches: { type: Schema.Types.Mixed, default: {} },
    tags: { type: Schema.Types.Mixed, default: {} },
    day: Date,
  },
  { collection: 'funnel_journeys', versionKey: false, minimize: false },
);
// A lot's day is recounted from its journeys; erasure finds a session's.
// Named apart from other collections' indexes of the same keys (see conversionEvent.model.ts).
journeySchema.index({ itemId: 1, day: 1 }, { name: 'journey_item_day' });
journeySchema.index({ sessionId: 1 }, { name: 'journey_session' });
// The retention purge reads by day.
journeySchema.index({ day: 1 }, { name: 'journey_day' });

const funnelDaySchema = new Schema<FunnelDayRecord>(
  {
    _id: { type: String, required: true },
    scope: { type: String, enum: Object.values(FunnelScope), required: true },
    day: { type: Date, required: true },
    itemId: { type: Schema.Types.ObjectId, default: null },
    category: { type: String, required: true },
    sellerId: { type: String, default: null },
    entries: { type: Schema.Types.Mixed, default: [] },
    variants: { type: Schema.Types.Mixed, default: [] },
  },
  { collection: 'funnel_days', versionKey: false, minimize: false },
);
// Each funnel reads one scope over a range of days; a category row is recounted from its lots' rows.
funnelDaySchema.index({ scope: 1, itemId: 1, day: 1 }, { name: 'funnel_item_day' });
funnelDaySchema.index({ scope: 1, category: 1, day: 1 }, { name: 'funnel_category_day' });
funnelDaySchema.index({ scope: 1, sellerId: 1, day: 1 }, { name: 'funnel_seller_day' });
funnelDaySchema.index({ day: 1 }, { name: 'funnel_day' });

/** The journeys model bound to a connection. */
export function journeyModel(connection: Connection): Model<JourneyRecord> {
  return (
    (connection.models.FunnelJourney as Model<JourneyRecord> | undefined) ??
    connection.model<JourneyRecord>('FunnelJourney', journeySchema)
  );
}

/** The funnel rows model bound to a connection. */
export function funnelDayModel(connection: Connection): Model<FunnelDayRecord> {
  return (
    (connection.models.FunnelDay as Model<FunnelDayRecord> | undefined) ??
    connection.model<FunnelDayRecord>('FunnelDay', funnelDaySchema)
  );
}
