import type { Connection, mongo } from 'mongoose';
import { CONVERSION_EVENTS } from '../conversions/conversionEvent.model';
import { upsertsRetryingRaces } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { chunks } from '../shared/chunks';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import {
  experimentDefinitionModel,
  exposureModel,
  MEASURED_KINDS,
  variantRowModel,
  type ExperimentDefinitionRecord,
  type ExposureRecord,
  type MeasuredKind,
  type VariantRowRecord,
} from './exposure.model';
import type { SessionConversion, SessionTouch } from './exposures';
import type { VariantSums } from './statistics';

/** Most variants one experiment may declare. */
export const MAX_VARIANTS = 20;

/** Sessions per read of their events. */
const SESSION_CHUNK = 100;
/**
 * Counted events of one session an exposure is computed from, its earliest: a session with more
 * is a bot that slipped past the tracking rules, and must not make one page of the build read
 * without bound.
 */
export const MAX_EVENTS_PER_SESSION = 2_000;
/** Events one read of a chunk of sessions returns at most before it is read session by session. */
const CHUNK_EVENTS = 20_000;

/** Storage of experiment definitions, exposures and variant rows, and the reads of a session's events they come from. */
export interface ExperimentsRepository {
  /** Creates or replaces a definition. */
  define(definition: ExperimentDefinitionRecord): Promise<void>;
  /** The definition of one experiment (null: not defined). */
  definition(key: string): Promise<ExperimentDefinitionRecord | null>;
  /** Every definition, by key (a handful: read whole). */
  definitions(): Promise<ExperimentDefinitionRecord[]>;
  /** The sessions among these that have an exposure. */
  exposedSessions(sessionIds: readonly string[]): Promise<Set<string>>;
  /**
   * Every counted impression and click (the earliest {@link MAX_EVENTS_PER_SESSION} of a session),
   * and every conversion, of these sessions.
   */
  sessionActivity(
    sessionIds: readonly string[],
  ): Promise<{ touches: Map<string, SessionTouch[]>; conversions: Map<string, SessionConversion[]> }>;
  /** Replaces these exposures whole (creating them). */
  writeExposures(exposures: readonly ExposureRecord[]): Promise<void>;
  /**
   * Recounts the rows of the experiment's declared variants whole from its exposures (two
   * aggregations, then the writes; a variant without sessions gets a row of zeros).
   */
  recountVariants(definition: ExperimentDefinitionRecord, now: Date): Promise<void>;
  /** The variant rows of one experiment; one read. */
  variantRows(experiment: string): Promise<VariantRowRecord[]>;
  ensureIndexes(): Promise<void>;
}

/** Binds experiment storage to a connection. */
export function createExperimentsRepository(connection: Connection): ExperimentsRepository {
  const definitionsModel = experimentDefinitionModel(connection);
  const definitionDocs = connection.collection<ExperimentDefinitionRecord>(definitionsModel.collection.collectionName);
  const exposures = exposureModel(connection);
  const rows = variantRowModel(connection);
  const exposureDocs = connection.collection<ExposureRecord>(exposures.collection.collectionName);
  const rowDocs = connection.collection<VariantRowRecord>(rows.collection.collectionName);
  const tracked = trackingEventModel(connection).collection;
  const conversions = connection.collection(CONVERSION_EVENTS);
  const sumFields = [
    'impressions',
    'impressionsSquares',
    'clicks',
    'clicksSquares',
    'impressionsClicks',
    'pre',
    'preSquares',
  ] as const;
  /** Replaces documents whole (creating them), in id order. */
  const replaceAll = <T extends { _id: string }>(collection: mongo.Collection<T>, records: readonly T[]) =>
    upsertsRetryingRaces(
      collection,
      [...records]
        .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
        .map((record) => ({
          replaceOne: { filter: { _id: record._id } as mongo.Filter<T>, replacement: record, upsert: true },
        })),
      `${collection.collectionName} documents`,
    );
  return {
    define: async (definition) => {
      await definitionDocs.replaceOne({ _id: definition._id }, definition, { upsert: true });
    },
    definition: (key) => definitionDocs.findOne({ _id: key }),
    definitions: () => definitionDocs.find({}).sort({ _id: 1 }).toArray(),
    exposedSessions: async (sessionIds) => {
      const found = new Set<string>();
      for (const chunk of chunks([...sessionIds], SESSION_CHUNK))
        for (const session of await exposureDocs.distinct('sessionId', { sessionId: { $in: chunk } }))
          found.add(session as string);
      return found;
    },
    sessionActivity: async (sessionIds) => {
      const touches = new Map<string, SessionTouch[]>();
      const converted = new Map<string, SessionConversion[]>();
      for (const chunk of chunks([...sessionIds], SESSION_CHUNK)) {
        const touchesOf = (sessions: readonly string[], limit: number) =>
          tracked
            .find(
              {
                sessionId: { $in: sessions },
                outcome: TrackingOutcome.ACCEPTED,
                type: { $in: [EventType.IMPRESSION, EventType.CLICK] },
              },
              {
                projection: { _id: 0, sessionId: 1, type: 1, receivedAt: 1, experiment: 1, variant: 1, userId: 1 },
                ...(sessions.length === 1 ? { sort: { receivedAt: 1 } } : {}),
                limit,
              },
            )
            .toArray();
        const [firstRead, conversionsOf] = await Promise.all([
          touchesOf(chunk, CHUNK_EVENTS + 1),
          conversions
            .find({ sessionId: { $in: chunk } }, { projection: { _id: 0, sessionId: 1, kind: 1, occurredAt: 1 } })
            .toArray(),
        ]);
        // A heavy session in the chunk: each session's earliest events instead, one read each.
        const events =
          firstRead.length > CHUNK_EVENTS
            ? (await Promise.all(chunk.map((session) => touchesOf([session], MAX_EVENTS_PER_SESSION)))).flat()
            : firstRead;
        for (const event of events) {
          const list = touches.get(event.sessionId as string) ?? [];
          list.push({
            type: event.type as SessionTouch['type'],
            receivedAt: event.receivedAt as Date,
            ...(typeof event.experiment === 'string' && typeof event.variant === 'string'
              ? { experiment: event.experiment, variant: event.variant }
              : {}),
            ...(typeof event.userId === 'string' ? { userId: event.userId } : {}),
          });
          touches.set(event.sessionId as string, list);
        }
        for (const conversion of conversionsOf) {
          const list = converted.get(conversion.sessionId as string) ?? [];
          list.push({ kind: conversion.kind as MeasuredKind, occurredAt: conversion.occurredAt as Date });
          converted.set(conversion.sessionId as string, list);
        }
      }
      return { touches, conversions: converted };
    },
    writeExposures: (records) => replaceAll(exposureDocs, records),
    recountVariants: async (definition, now) => {
      const experiment = definition._id;
      const sums: Record<string, unknown> = { sessions: { $sum: 1 }, clickedSessions: { $sum: '$figures.clicked' } };
      for (const field of sumFields) sums[field] = { $sum: `$figures.${field}` };
      for (const kind of MEASURED_KINDS) {
        sums[`conversions_${kind}`] = { $sum: `$figures.conversions.${kind}` };
        sums[`preConversions_${kind}`] = { $sum: `$figures.preConversions.${kind}` };
      }
      const [counted, conflicted] = await Promise.all([
        exposureDocs
          .aggregate<Record<string, number> & { _id: string }>([
            { $match: { experiment, variants: 1 } },
            { $group: { _id: '$variant', ...sums } },
          ])
          .toArray(),
        exposureDocs
          .aggregate<{ _id: string; count: number }>([
            { $match: { experiment, variants: { $gt: 1 } } },
            { $group: { _id: '$variant', count: { $sum: 1 } } },
          ])
          .toArray(),
      ]);
      const conflictedOf = new Map(conflicted.map((entry) => [entry._id, entry.count]));
      const countedOf = new Map(counted.map((entry) => [entry._id, entry]));
      const replacements = definition.variants.map(({ name: variant }): VariantRowRecord => {
        const entry = countedOf.get(variant);
        const base = Object.fromEntries(sumFields.map((field) => [field, entry?.[field] ?? 0]));
        return {
          _id: `${experiment}|${variant}`,
          experiment,
          variant,
          conflicted: conflictedOf.get(variant) ?? 0,
          clickedSessions: entry?.clickedSessions ?? 0,
          sums: Object.fromEntries(
            MEASURED_KINDS.map((kind) => [
              kind,
              {
                sessions: entry?.sessions ?? 0,
                ...base,
                conversions: entry?.[`conversions_${kind}`] ?? 0,
                preConversions: entry?.[`preConversions_${kind}`] ?? 0,
              } as VariantSums,
            ]),
          ) as Record<MeasuredKind, VariantSums>,
          updatedAt: now,
        };
      });
      await replaceAll(rowDocs, replacements);
      // Rows of variants the definition no longer declares go, after the new ones are written.
      await rowDocs.deleteMany({ experiment, _id: { $nin: replacements.map((row) => row._id) } });
    },
    variantRows: (experiment) => rowDocs.find({ experiment }).sort({ variant: 1 }).toArray(),
    ensureIndexes: async () => {
      await ensureSchemaIndexes(definitionsModel);
      await ensureSchemaIndexes(exposures);
      await ensureSchemaIndexes(rows);
    },
  };
}
