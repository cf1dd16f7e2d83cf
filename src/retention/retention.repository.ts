import { registerEnumType } from 'type-graphql';
import type { Connection, Types } from 'mongoose';
import { ITEM_DAY_SKETCHES } from '../analytics/rollups.model';
import { BIDDER_WEEKS } from '../cohorts/bidderWeek.model';
import { EXPOSURES } from '../experiments/exposure.model';
import { CONVERSION_EVENTS } from '../conversions/conversionEvent.model';
import { ensureTtlIndex } from '../db/indexes';
import { DUPLICATE_KEY } from '../db/bulkWrites';
import { retryTransientConflicts } from '../db/transientConflicts';
import { TrackingOutcome } from '../tracking/trackingEvent.model';
import { chunks } from '../shared/chunks';

/** The kinds of tracking data with a retention period of their own. */
export enum RetentionDataType {
  /** Counted (ACCEPTED) raw events: `tracking_events`. */
  COUNTED_EVENTS = 'COUNTED_EVENTS',
  /** Raw audit rows (rejected, rate-limited, invalid, flagged events): `tracking_events`. */
  AUDIT_EVENTS = 'AUDIT_EVENTS',
  /** Conversions (views, watches, bids, purchases) the marketplace backend reported: `conversion_events`. */
  CONVERSIONS = 'CONVERSIONS',
  /** Each session's journey on each lot, the funnels' source (session ids included): `funnel_journeys`. */
  FUNNEL_JOURNEYS = 'FUNNEL_JOURNEYS',
  /** The funnels' day rows (counts of journeys, no session): `funnel_days`. */
  FUNNEL_ROLLUPS = 'FUNNEL_ROLLUPS',
  /** Which weeks each bidder bid in, the bidder cohorts' source (user or session ids): `cohort_bidder_weeks`. */
  BIDDER_WEEKS = 'BIDDER_WEEKS',
  /** Each session's exposure to each experiment, the experiments' source (session and user ids): `experiment_exposures`. */
  EXPERIMENT_EXPOSURES = 'EXPERIMENT_EXPOSURES',
  /** Aggregated counts of refused events per address and minute: `tracking_audit_aggregates`. */
  AUDIT_AGGREGATES = 'AUDIT_AGGREGATES',
  /** Item-day rollups and their unique-visitor sketches: `item_days`, `item_day_sketches`. */
  ROLLUPS = 'ROLLUPS',
  /** Rollup journal entries never closed (recovered ones are deleted at once): `rollup_journal`. */
  ROLLUP_JOURNAL = 'ROLLUP_JOURNAL',
  /** Recorded searches (query, filter, result count, session): `search_events`. */
  SEARCH_EVENTS = 'SEARCH_EVENTS',
  /** Per query and day counts of searches and attributed clicks (the query text included): `search_days`. */
  SEARCH_ROLLUPS = 'SEARCH_ROLLUPS',
  /** Each day's leading queries, drawn from its search rollups (the query text included): `search_day_lists`. */
  SEARCH_LISTS = 'SEARCH_LISTS',
}
registerEnumType(RetentionDataType, {
  name: 'RetentionDataType',
  description: 'A kind of tracking data with its own retention period.',
});

/** The raw-event types: the ones archived before deletion and reached by erasure. */
export const RAW_EVENT_TYPES = [
  RetentionDataType.COUNTED_EVENTS,
  RetentionDataType.AUDIT_EVENTS,
  RetentionDataType.CONVERSIONS,
] as const;

/** Where one type lives and which of its documents a cutoff expires. */
interface TypeSpec {
  readonly collection: string;
  /** The date field compared with the cutoff (indexed; TTL where the type has one). */
  readonly field: string;
  readonly filter: Record<string, unknown>;
  /** Collections whose documents share the `_id` of this type's and expire with them. */
  readonly companions?: readonly string[];
}

const SPECS: Record<RetentionDataType, TypeSpec> = {
  [RetentionDataType.COUNTED_EVENTS]: {
    collection: 'tracking_events',
    field: 'receivedAt',
    filter: { outcome: TrackingOutcome.ACCEPTED },
  },
  [RetentionDataType.AUDIT_EVENTS]: {
    collection: 'tracking_events',
    field: 'receivedAt',
    filter: { outcome: { $in: Object.values(TrackingOutcome).filter((o) => o !== TrackingOutcome.ACCEPTED) } },
  },
  [RetentionDataType.CONVERSIONS]: { collection: CONVERSION_EVENTS, field: 'occurredAt', filter: {} },
  [RetentionDataType.FUNNEL_JOURNEYS]: { collection: 'funnel_journeys', field: 'day', filter: {} },
  [RetentionDataType.FUNNEL_ROLLUPS]: { collection: 'funnel_days', field: 'day', filter: {} },
  [RetentionDataType.BIDDER_WEEKS]: { collection: BIDDER_WEEKS, field: 'week', filter: {} },
  [RetentionDataType.EXPERIMENT_EXPOSURES]: { collection: EXPOSURES, field: 'exposedAt', filter: {} },
  [RetentionDataType.AUDIT_AGGREGATES]: { collection: 'tracking_audit_aggregates', field: 'minute', filter: {} },
  [RetentionDataType.ROLLUPS]: {
    collection: 'item_days',
    field: 'day',
    filter: {},
    companions: [ITEM_DAY_SKETCHES],
  },
  [RetentionDataType.ROLLUP_JOURNAL]: { collection: 'rollup_journal', field: 'lastHourBucket', filter: {} },
  [RetentionDataType.SEARCH_EVENTS]: { collection: 'search_events', field: 'at', filter: {} },
  [RetentionDataType.SEARCH_ROLLUPS]: { collection: 'search_days', field: 'day', filter: {} },
  [RetentionDataType.SEARCH_LISTS]: { collection: 'search_day_lists', field: 'day', filter: {} },
};

/** Ids per delete command (and documents per erasure batch). */
const DELETE_CHUNK = 1_000;

/** A stored document as the purge sees it: its id and whatever else it holds (archived as is). */
export type StoredDocument = { _id: Types.ObjectId | string } & Record<string, unknown>;

/**
 * Whose raw events an erasure removes: those carrying one of `userIds` (the stored forms of one
 * user id) and those of the sessions in `sessionIds`. For a user these are every session the user
 * was seen in, so that what the same browser tab tracked before the user signed in goes too.
 */
export interface ErasureSubject {
  readonly userIds: ReadonlySet<string>;
  readonly sessionIds: ReadonlySet<string>;
}

/** Whether a stored event belongs to the erasure subject (the same test as the erasure's queries). */
export function isOfSubject(document: StoredDocument, subject: ErasureSubject): boolean {
  return (
    (typeof document.userId === 'string' && subject.userIds.has(document.userId)) ||
    (typeof document.sessionId === 'string' && subject.sessionIds.has(document.sessionId))
  );
}

/**
 * The queries of the subject's events, each naming at most {@link DELETE_CHUNK} sessions: user ids
 * come from clients, so one may appear in very many sessions, and one `$in` of them all could pass
 * the 16 MB command limit.
 */
function subjectFilters(subject: ErasureSubject): Array<Record<string, unknown>> {
  const sessions = [...subject.sessionIds];
  const filters: Array<Record<string, unknown>> =
    subject.userIds.size === 0 ? [] : [{ userId: { $in: [...subject.userIds] } }];
  for (const chunk of chunks(sessions, DELETE_CHUNK)) filters.push({ sessionId: { $in: chunk } });
  return filters;
}

/** Storage side of retention and erasure. No policy (cutoffs, archiving) here. */
export interface RetentionRepository {
  /** How many documents of `type` are older than `cutoff` (a dry run). */
  countExpired(type: RetentionDataType, cutoff: Date): Promise<number>;
  /**
   * Up to `limit` documents of `type` older than `cutoff` and, when given, dated `from` or later,
   * in no set order: whole documents when `whole` (to archive), ids and dates otherwise.
   */
  expiredBatch(
    type: RetentionDataType,
    cutoff: Date,
    limit: number,
    whole: boolean,
    from?: Date,
  ): Promise<StoredDocument[]>;
  /** The name of the date field `type` expires by. */
  dateField(type: RetentionDataType): string;
  /** Deletes these documents of `type` (ids from {@link expiredBatch}). Returns the number deleted. */
  deleteExpired(type: RetentionDataType, ids: ReadonlyArray<StoredDocument['_id']>): Promise<number>;
  /** The session ids of the raw events (counted, audit, conversions) that carry one of `userIds` (stored forms of one user id). */
  sessionsOfUser(userIds: readonly string[]): Promise<string[]>;
  /** Deletes the subject's raw events of one raw type, at most 1,000 per command; returns the number deleted. */
  eraseEvents(
    type:
      | (typeof RAW_EVENT_TYPES)[number]
      | RetentionDataType.SEARCH_EVENTS
      | RetentionDataType.FUNNEL_JOURNEYS
      | RetentionDataType.BIDDER_WEEKS
      | RetentionDataType.EXPERIMENT_EXPOSURES,
    subject: ErasureSubject,
  ): Promise<number>;
  /**
   * Takes or renews the purge lease for `claim.holder` until `until` when it is free, expired (at
   * `now`), already that holder's, or held for the same instance (`claim.instance`: a previous
   * process of this instance, which stopped without giving it back). One atomic upsert: of two
   * claims only one gets it. Says what it replaced, or who holds it.
   */
  acquirePurgeLease(claim: PurgeLeaseClaim, now: Date, until: Date): Promise<PurgeLeaseAnswer>;
  /** Gives the lease back (if `holder` still has it). */
  releasePurgeLease(holder: string): Promise<void>;
  /** Stores an erasure record (never the erased data). */
  recordErasure(record: ErasureRecord): Promise<void>;
  /**
   * Creates the TTL indexes of the types the engine expires itself, with these lifetimes
   * (seconds; `collMod` when a value changed). Returns what changed, for the startup log.
   */
  ensureTtlIndexes(ttl: { auditAggregates: number; rollups: number; journal: number }): Promise<Record<string, string>>;
}

/** Who asks for the purge lease: one process (`holder`) of one instance (`GAVEL_INSTANCE_ID`). */
export interface PurgeLeaseClaim {
  readonly holder: string;
  readonly instance: string;
}

/** The purge lease as stored (`retention_leases`, `_id: 'purge'`). */
export interface PurgeLease {
  readonly holder: string;
  /** Absent on leases taken before instances were recorded. */
  readonly instance?: string;
  readonly until: Date;
}

/** The answer to a lease claim: taken (and the lease it replaced, if any), or who holds it. */
export type PurgeLeaseAnswer =
  | { readonly acquired: true; readonly previous: PurgeLease | null }
  | { readonly acquired: false; readonly current: PurgeLease | null };

/** What an erasure removed, by whom, when; the subject only as a keyed pseudonym. */
export interface ErasureRecord {
  readonly at: Date;
  /** Id of the API key that asked (see `Viewer.keyId`). */
  readonly by: string;
  readonly subjectKind: 'userId' | 'sessionId';
  /** `Pseudonymizer.subject` of the id: lets an operator answer "was X erased?" without storing X. */
  readonly subjectPseudonym: string;
  readonly sessions: number;
  readonly countedEvents: number;
  readonly auditEvents: number;
  readonly searchEvents: number;
  readonly conversions: number;
  readonly funnelJourneys: number;
  readonly bidderWeeks: number;
  readonly experimentExposures: number;
  readonly archivedEvents: number;
  readonly archiveFiles: number;
}

/** Binds the retention repository to a connection. */
export function createRetentionRepository(connection: Connection): RetentionRepository {
  const collection = (type: RetentionDataType) => connection.collection(SPECS[type].collection);
  const expiredFilter = (type: RetentionDataType, cutoff: Date, from?: Date) => ({
    ...SPECS[type].filter,
    [SPECS[type].field]: from ? { $gte: from, $lt: cutoff } : { $lt: cutoff },
  });
  return {
    countExpired: (type, cutoff) => collection(type).countDocuments(expiredFilter(type, cutoff)),
    dateField: (type) => SPECS[type].field,
    expiredBatch: async (type, cutoff, limit, whole, from) =>
      (await collection(type)
        // No sort: an engine without secondary indexes (mongo-java-server) can then stop its scan at
        // `limit` matches instead of sorting the whole collection for every batch; with the index
        // the matches come oldest first anyway.
        .find(expiredFilter(type, cutoff, from), whole ? {} : { projection: { _id: 1, [SPECS[type].field]: 1 } })
        .limit(limit)
        .toArray()) as StoredDocument[],
    deleteExpired: async (type, ids) => {
      // By `_id` alone: the ids were just read as expired, and the fields that made them so (the
      // date, the outcome) never change, so nothing newer can be among them. A filter beside the
      // `$in` made each delete five times slower on mongo-java-server; chunks keep its `$in`
      // (linear in the list there) short, and cost one round trip per 1,000 elsewhere.
      let deleted = 0;
      for (const chunk of chunks(ids as never[], DELETE_CHUNK)) {
        deleted += (await retryTransientConflicts(() => collection(type).deleteMany({ _id: { $in: chunk } })))
          .deletedCount;
        for (const companion of SPECS[type].companions ?? [])
          await retryTransientConflicts(() => connection.collection(companion).deleteMany({ _id: { $in: chunk } }));
      }
      return deleted;
    },
    sessionsOfUser: async (userIds) => {
      // Counted and audit events live in one collection, conversions in another. A cursor rather
      // than `distinct`, whose one-document answer stops at 16 MB (some 300,000 session ids).
      const sessions = new Set<string>();
      for (const type of [RetentionDataType.COUNTED_EVENTS, RetentionDataType.CONVERSIONS] as const) {
        const rows = await collection(type)
          .aggregate<{ _id: unknown }>([
            { $match: { userId: { $in: [...userIds] } } },
            { $group: { _id: '$sessionId' } },
          ])
          .toArray();
        for (const row of rows) if (typeof row._id === 'string') sessions.add(row._id);
      }
      return [...sessions];
    },
    eraseEvents: async (type, subject) => {
      // In bounded batches (read ids, delete them), so that no single command removes an unbounded
      // number of documents: a user id may be spread over millions of events, and on a sharded
      // engine every such delete is a distributed transaction over all shards.
      let deleted = 0;
      for (const filter of subjectFilters(subject))
        for (;;) {
          const ids = (
            await collection(type)
              .find({ ...SPECS[type].filter, ...filter }, { projection: { _id: 1 } })
              .limit(DELETE_CHUNK)
              .toArray()
          ).map((document) => document._id);
          if (ids.length > 0)
            deleted += (await retryTransientConflicts(() => collection(type).deleteMany({ _id: { $in: ids } })))
              .deletedCount;
          if (ids.length < DELETE_CHUNK) break;
        }
      return deleted;
    },
    acquirePurgeLease: async ({ holder, instance }, now, until) => {
      const leases = connection.collection<PurgeLease & { _id: string }>('retention_leases');
      try {
        const previous = await leases.findOneAndUpdate(
          { _id: 'purge', $or: [{ until: { $lt: now } }, { holder }, { instance }] },
          { $set: { holder, instance, until } },
          { upsert: true, returnDocument: 'before', projection: { _id: 0 } },
        );
        return { acquired: true, previous };
      } catch (error) {
        // Held by another instance: the upsert's insert collides with its document.
        if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
        return { acquired: false, current: await leases.findOne({ _id: 'purge' }, { projection: { _id: 0 } }) };
      }
    },
    releasePurgeLease: async (holder) => {
      await connection
        .collection<{ _id: string; holder: string; until: Date }>('retention_leases')
        .deleteOne({ _id: 'purge', holder });
    },
    recordErasure: async (record) => {
      await connection.collection('erasure_records').insertOne({ ...record });
    },
    ensureTtlIndexes: async (ttl) => {
      // All at once: on an existing collection DocumentDB builds an index concurrently, which waits
      // for every transaction in flight on the server; one after the other, each would wait again.
      const [auditAggregates, rollups, rollupSketches, journal] = await Promise.all([
        ensureTtlIndex(collection(RetentionDataType.AUDIT_AGGREGATES), 'minute', ttl.auditAggregates),
        ensureTtlIndex(collection(RetentionDataType.ROLLUPS), 'day', ttl.rollups),
        // The sketches' own TTL index: they expire with their rollups even where the purge is not
        // what removes them (an operator who deleted rows by hand). Named apart from the rollups'
        // `day_1`: mongo-java-server loses one of two indexes of one name built at once in one
        // database (the rollups' being recreated, this one created) and then cannot drop the database.
        ensureTtlIndex(connection.collection(ITEM_DAY_SKETCHES), 'day', ttl.rollups, 'sketch_day'),
        ensureTtlIndex(collection(RetentionDataType.ROLLUP_JOURNAL), 'lastHourBucket', ttl.journal),
      ]);
      return { auditAggregates, rollups, rollupSketches, journal };
    },
  };
}
