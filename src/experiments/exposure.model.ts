import { Schema, type Connection, type Model } from 'mongoose';
import type { VariantSums } from './statistics';

/** An experiment's or a variant's key, as the web app tags tracking events with it. */
export const EXPERIMENT_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * An experiment as the growth team defined it (`experiments`): its variants with their planned
 * weights and its control. Only defined experiments and their declared variants count: tracking
 * is public, so a tag alone must not create work or results.
 */
export interface ExperimentDefinitionRecord {
  /** The key the pages tag events with. */
  _id: string;
  variants: Array<{ name: string; weight: number }>;
  control: string;
  updatedAt: Date;
  /** The API key that defined it last. */
  updatedBy: string;
}

/** The conversion kinds an experiment measures (see `ConversionKind`). */
export const MEASURED_KINDS = ['ITEM_VIEW', 'WATCH', 'BID', 'PURCHASE'] as const;
export type MeasuredKind = (typeof MEASURED_KINDS)[number];

/**
 * One session's figures in one experiment: tagged impressions and clicks, counted events before its
 * exposure (CUPED's covariate), whether it converted after it per kind; with the squares and
 * products the variant sums need, so that they are plain sums of fields.
 */
export interface SessionFigures {
  impressions: number;
  impressionsSquares: number;
  clicks: number;
  clicksSquares: number;
  impressionsClicks: number;
  pre: number;
  preSquares: number;
  /** 1 when the session converted so after its exposure, else 0. */
  conversions: Record<MeasuredKind, number>;
  /** `pre` × the conversion. */
  preConversions: Record<MeasuredKind, number>;
  /** 1 when the session clicked a tagged item, else 0 (the variant's funnel). */
  clicked: number;
}

/**
 * One session in one experiment (`experiment_exposures`), recomputed whole from the session's
 * counted events and conversions each time the funnel builder reads new ones of it, so a rebuild
 * writes the same document.
 */
export interface ExposureRecord {
  /** `<experiment>|<sessionId>`. */
  _id: string;
  experiment: string;
  sessionId: string;
  /** The user of the session's events, where one was sent (erasure finds it). */
  userId?: string;
  /** The variant of the session's first tagged event. */
  variant: string;
  /** How many variants of the experiment the session was seen in; more than 1 leaves it out of the results. */
  variants: number;
  /** The first tagged event's receive time. */
  exposedAt: Date;
  /** What the session contributes to its variant's sums (see `VariantSums`), conversions per kind. */
  figures: SessionFigures;
}

/** One variant's sums over its sessions (`experiment_variants`), recounted whole from the exposures. */
export interface VariantRowRecord {
  /** `<experiment>|<variant>`. */
  _id: string;
  experiment: string;
  variant: string;
  /** Sessions seen in more than one variant of the experiment (left out of `sums`). */
  conflicted: number;
  /** Sessions (of `sums`) with a tagged click. */
  clickedSessions: number;
  /** Per conversion kind, the sums the statistics read. */
  sums: Record<MeasuredKind, VariantSums>;
  updatedAt: Date;
}

const exposureSchema = new Schema<ExposureRecord>(
  {
    _id: { type: String, required: true },
    experiment: { type: String, required: true },
    sessionId: { type: String, required: true },
    userId: String,
    variant: { type: String, required: true },
    variants: { type: Number, required: true },
    exposedAt: { type: Date, required: true },
    figures: { type: Schema.Types.Mixed, required: true },
  },
  { collection: 'experiment_exposures', versionKey: false, minimize: false },
);
// The variant rows are recounted per experiment; the builder and erasure find a session's
// exposures; erasure a user's; retention reads by exposure time. Named apart from other
// collections' indexes (see conversionEvent.model.ts).
exposureSchema.index({ experiment: 1, variant: 1 }, { name: 'exposure_experiment' });
exposureSchema.index({ sessionId: 1 }, { name: 'exposure_session' });
exposureSchema.index({ userId: 1 }, { sparse: true, name: 'exposure_user' });
exposureSchema.index({ exposedAt: 1 }, { name: 'exposure_at' });

const variantRowSchema = new Schema<VariantRowRecord>(
  {
    _id: { type: String, required: true },
    experiment: { type: String, required: true },
    variant: { type: String, required: true },
    conflicted: { type: Number, required: true },
    clickedSessions: { type: Number, default: 0 },
    sums: { type: Schema.Types.Mixed, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'experiment_variants', versionKey: false, minimize: false },
);
variantRowSchema.index({ experiment: 1 }, { name: 'variant_experiment' });

const definitionSchema = new Schema<ExperimentDefinitionRecord>(
  {
    _id: { type: String, required: true },
    variants: { type: [{ name: String, weight: Number, _id: false }], required: true },
    control: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  { collection: 'experiments', versionKey: false },
);

/** The experiment definition model bound to a connection. */
export function experimentDefinitionModel(connection: Connection): Model<ExperimentDefinitionRecord> {
  return (
    (connection.models.ExperimentDefinition as Model<ExperimentDefinitionRecord> | undefined) ??
    connection.model<ExperimentDefinitionRecord>('ExperimentDefinition', definitionSchema)
  );
}

/** The collection of exposures. */
export const EXPOSURES = 'experiment_exposures';

/** The exposure model bound to a connection. */
export function exposureModel(connection: Connection): Model<ExposureRecord> {
  return (
    (connection.models.ExperimentExposure as Model<ExposureRecord> | undefined) ??
    connection.model<ExposureRecord>('ExperimentExposure', exposureSchema)
  );
}

/** The variant row model bound to a connection. */
export function variantRowModel(connection: Connection): Model<VariantRowRecord> {
  return (
    (connection.models.ExperimentVariant as Model<VariantRowRecord> | undefined) ??
    connection.model<VariantRowRecord>('ExperimentVariant', variantRowSchema)
  );
}
