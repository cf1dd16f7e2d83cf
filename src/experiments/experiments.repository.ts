import type { Connection } from 'mongoose';
import { CONVERSION_EVENTS } from '../conversions/conversionEvent.model';
import { bulkWriteRetryingConflicts } from '../db/bulkWrites';
import { ensureSchemaIndexes } from '../db/indexes';
import { chunks } from '../shared/chunks';
import { EventType, TrackingOutcome, trackingEventModel } from '../tracking/trackingEvent.model';
import {
  exposureModel,
  MEASURED_KINDS,
  variantRowModel,
  type ExposureRecord,
  type MeasuredKind,
  type VariantRowRecord,
} from './exposure.model';
import type { SessionConversion, SessionTouch } from './exposures';
import type { VariantSums } from './statistics';

/**
 * Variants kept per experiment: the largest by sessions. Tracking is public, so a client could tag
 * events with any number of variants; an experiment has a handful.
 */
export const MAX_VARIANTS = 20;

/** Sessions per read of their events. */
const SESSION_CHUNK = 500;

/** Storage of exposures and variant rows, and the reads of a session's events they come from. */
export interface ExperimentsRepository {
  /** The sessions among these that have an exposure. */
  exposedSessions(sessionIds: readonly string[]): Promise<Set<string>>;
  /** Every counted impression and click, and every conversion, of these sessions. */
  sessionActivity(
    sessionIds: readonly string[],
  ): Promise<{ touches: Map<string, SessionTouch[]>; conversions: Map<string, SessionConversion[]> }>;
  /** Replaces these exposures whole (creating them). */
  writeExposures(exposures: readonly ExposureRecord[]): Promise<void>;
  /**
   * Recounts the variant rows of one experiment whole from its exposures (two aggregations, then
   * the writes), keeping the {@link MAX_VARIANTS} largest variants.
   */
  recountVariants(experiment: string, now: Date): Promise<void>;
  /** The variant rows of one experiment; one read. */
  variantRows(experiment: string): Promise<VariantRowRecord[]>;
  ensureIndexes(): Promise<void>;
}

/** Binds experiment storage to a connection. */
export function createExperimentsRepository(connection: Connection): ExperimentsRepository {
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
  return {
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
        const [events, conversionsOf] = await Promise.all([
          tracked
            .find(
              {
                sessionId: { $in: chunk },
                outcome: TrackingOutcome.ACCEPTED,
                type: { $in: [EventType.IMPRESSION, EventType.CLICK] },
              },
              { projection: { _id: 0, sessionId: 1, type: 1, receivedAt: 1, experiment: 1, variant: 1, userId: 1 } },
            )
            .toArray(),
          conversions
            .find({ sessionId: { $in: chunk } }, { projection: { _id: 0, sessionId: 1, kind: 1, occurredAt: 1 } })
            .toArray(),
        ]);
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
    writeExposures: async (records) => {
      if (records.length === 0) return;
      // In id order, so that two builders (one whose lease lapsed) lock documents in one order.
      const ordered = [...records].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      const failed = await bulkWriteRetryingConflicts(
        exposureDocs,
        ordered.map((record) => ({ replaceOne: { filter: { _id: record._id }, replacement: record, upsert: true } })),
        // A whole replacement sent twice is the same document: repeating is exact.
        { unknownOutcome: 'repeat' },
      );
      if (failed.length > 0) throw new Error(`${failed.length} exposures could not be written`);
    },
    recountVariants: async (experiment, now) => {
      const sums: Record<string, unknown> = { sessions: { $sum: 1 } };
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
      const variants = new Set([...counted.map((entry) => entry._id), ...conflictedOf.keys()]);
      const countedOf = new Map(counted.map((entry) => [entry._id, entry]));
      const largest = [...variants]
        .sort((a, b) => (countedOf.get(b)?.sessions ?? 0) - (countedOf.get(a)?.sessions ?? 0) || (a < b ? -1 : 1))
        .slice(0, MAX_VARIANTS);
      const replacements = largest.sort().map((variant): VariantRowRecord => {
        const entry = countedOf.get(variant);
        const base = Object.fromEntries(sumFields.map((field) => [field, entry?.[field] ?? 0]));
        return {
          _id: `${experiment}|${variant}`,
          experiment,
          variant,
          conflicted: conflictedOf.get(variant) ?? 0,
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
      if (replacements.length === 0) return;
      // Variants that fell out of the largest (or whose sessions were erased) go.
      await rowDocs.deleteMany({ experiment, _id: { $nin: replacements.map((row) => row._id) } });
      await bulkWriteRetryingConflicts(
        rowDocs,
        replacements.map((row) => ({ replaceOne: { filter: { _id: row._id }, replacement: row, upsert: true } })),
        { unknownOutcome: 'repeat' },
      );
    },
    variantRows: (experiment) => rowDocs.find({ experiment }).sort({ variant: 1 }).toArray(),
    ensureIndexes: async () => {
      await ensureSchemaIndexes(exposures);
      await ensureSchemaIndexes(rows);
    },
  };
}
