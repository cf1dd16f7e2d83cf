import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DAY_MS, type Clock } from '../shared/clock';
import { badUserInput, serviceUnavailable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Pseudonymizer } from '../shared/privacy';
import { ArchiveError, type ArchiveSink } from './archive';
import {
  RAW_EVENT_TYPES,
  RetentionDataType,
  type ErasureSubject,
  type PurgeLease,
  type PurgeLeaseAnswer,
  type PurgeLeaseClaim,
  type RetentionRepository,
  type StoredDocument,
} from './retention.repository';

/** How long each kind of tracking data is kept, in days. */
export interface RetentionPolicy {
  readonly countedEventsDays: number;
  readonly auditDays: number;
  readonly rollupDays: number;
  readonly journalDays: number;
  /** Documents one purge step reads, archives and deletes at most. */
  readonly batchSize: number;
}

/** Counts of one data type in a purge. */
export interface PurgeCount {
  readonly dataType: RetentionDataType;
  /** Documents dated before this are expired. */
  readonly olderThan: Date;
  /** Deleted (a dry run: would be deleted). */
  readonly count: number;
  /** Archived before deletion (0 without an archive, and for types that are not archived). */
  readonly archived: number;
  /** Why the purge of this type stopped early (an archive failure: the batch was not deleted). */
  readonly error: string | null;
}

/** What one purge did, per data type. */
export interface PurgeReport {
  readonly dryRun: boolean;
  readonly ranAt: Date;
  readonly types: PurgeCount[];
}

/** What one erasure removed. */
export interface ErasureReport {
  /** Sessions whose events were erased (for a user id: every session the user was seen in). */
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

/** Hooks for metrics (counters of purged documents and archive failures); no-ops by default. */
export interface RetentionMetrics {
  purged?(type: RetentionDataType, count: number): void;
  archiveFailed?(type: RetentionDataType): void;
}

/**
 * Tracking used to store a refused id as sent, cut to this many characters; erasure still looks
 * for that form, so rows stored before refused ids were pseudonymised go too.
 */
const LEGACY_AUDIT_MAX = 256;

/**
 * How long the purge lease lasts without a renewal. Its holder renews it every third of that (a
 * heartbeat) and with every batch, so a live holder keeps it however long a purge or an erasure
 * takes, while one that died without giving it back (SIGKILL, a lost machine) blocks the others
 * this long at most; a stalled one stops at its next renewal. A restarted process of the same
 * instance (GAVEL_INSTANCE_ID) takes it over at once.
 */
const LEASE_MS = 30_000;
const HEARTBEAT_MS = LEASE_MS / 3;

/**
 * Retention per data type, archival before deletion, and erasure of one subject's raw events.
 * The purge works on every engine (TTL indexes, where the engine has them, only expire the types
 * that are never archived, a little after the purge would); it deletes in batches of
 * `batchSize` by the `_id`s just read as expired (dates and outcomes never change), so events
 * ingested meanwhile are never touched and running it twice (or on two instances) deletes nothing twice.
 */
export class RetentionService {
  private running?: Promise<PurgeReport>;
  /** This process, of this instance, in the purge lease. */
  private readonly leaseClaim: PurgeLeaseClaim;
  /** Uses of the lease in this process (a purge, erasures): it is given back when the last ends. */
  private leaseUsers = 0;
  private heartbeat?: NodeJS.Timeout;
  private heartbeatRenewal?: Promise<unknown>;

  constructor(
    private readonly repository: RetentionRepository,
    private readonly clock: Clock,
    private readonly policy: RetentionPolicy,
    private readonly pseudonyms: Pseudonymizer,
    private readonly logger: Logger,
    private readonly archive?: ArchiveSink,
    private readonly metrics: RetentionMetrics = {},
    /** `GAVEL_INSTANCE_ID`: unique among running instances; the same after a restart where it is set. */
    instanceId = `${hostname()}:${process.pid}`,
  ) {
    this.leaseClaim = { instance: instanceId, holder: `${instanceId}/${randomBytes(6).toString('hex')}` };
  }

  /** The cutoff of each type at `now`: documents dated before it are expired. */
  cutoffs(now: Date = this.clock.now()): Record<RetentionDataType, Date> {
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS);
    return {
      [RetentionDataType.COUNTED_EVENTS]: before(this.policy.countedEventsDays),
      [RetentionDataType.AUDIT_EVENTS]: before(this.policy.auditDays),
      // Conversions carry session and user ids like the events they are attributed to.
      [RetentionDataType.CONVERSIONS]: before(this.policy.countedEventsDays),
      // Journeys name their session, as the raw events do; the funnels' day rows are counts, kept as the rollups.
      [RetentionDataType.FUNNEL_JOURNEYS]: before(this.policy.countedEventsDays + 1),
      [RetentionDataType.FUNNEL_ROLLUPS]: before(this.policy.rollupDays + 1),
      // A week of a bidder's bids (its user or session ids) goes once the whole week is older than the raw events.
      [RetentionDataType.BIDDER_WEEKS]: before(this.policy.countedEventsDays + 7),
      // An exposure names its session and user, as the raw events it is computed from.
      [RetentionDataType.EXPERIMENT_EXPOSURES]: before(this.policy.countedEventsDays + 1),
      [RetentionDataType.AUDIT_AGGREGATES]: before(this.policy.auditDays),
      // A day's rollup goes once the whole day is older than the retention.
      [RetentionDataType.ROLLUPS]: before(this.policy.rollupDays + 1),
      [RetentionDataType.ROLLUP_JOURNAL]: before(this.policy.journalDays),
      // Searches are raw events too; their rollups hold what buyers typed, so they go with them.
      [RetentionDataType.SEARCH_EVENTS]: before(this.policy.countedEventsDays),
      [RetentionDataType.SEARCH_ROLLUPS]: before(this.policy.countedEventsDays + 1),
      [RetentionDataType.SEARCH_LISTS]: before(this.policy.countedEventsDays + 1),
    };
  }

  /** TTL lifetimes (seconds) for the types the engine may expire itself; see `ensureTtlIndexes`. */
  ttlSeconds(): { auditAggregates: number; rollups: number; journal: number } {
    return {
      auditAggregates: this.policy.auditDays * 86_400,
      rollups: (this.policy.rollupDays + 1) * 86_400,
      journal: this.policy.journalDays * 86_400,
    };
  }

  /** Creates or updates (`collMod`) the TTL indexes; returns what changed per collection. */
  ensureTtlIndexes(): Promise<Record<string, string>> {
    return this.repository.ensureTtlIndexes(this.ttlSeconds());
  }

  /**
   * Purges every type now (a dry run only counts). Concurrent calls in one process share one run.
   */
  purge(dryRun = false): Promise<PurgeReport> {
    if (dryRun) return this.run(true);
    this.running ??= this.run(false).finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Removes the subject's raw events (counted, audit, conversions) and searches from the database and from the archives
   * (for a user id, also every event of the sessions the user was seen in, anonymous ones too), and
   * writes an erasure record: who asked, when, what was removed, the subject only as a keyed
   * pseudonym. Rollup counters stay (they hold no personal data); see docs/privacy.md "Erasure"
   * for the sketches.
   */
  async erase(subject: { userId?: string | null; sessionId?: string | null }, by: string): Promise<ErasureReport> {
    const given = (['userId', 'sessionId'] as const).filter((key) => subject[key] != null);
    if (given.length !== 1) throw badUserInput('userId', 'Give exactly one of userId or sessionId.');
    const kind = given[0]!;
    // Any value tracking was sent (whose length only MAX_BODY_BYTES bounds, as here): found in
    // the forms tracking stores it in (see Pseudonymizer.storedId).
    const id = String(subject[kind]);
    const forms = this.storedForms(id);
    // Archives are rewritten under the purge lease, so no other instance appends to them meanwhile.
    if (this.archive && !(await this.takeLease()).acquired)
      throw serviceUnavailable('Another instance is purging into the archives; retry the erasure shortly.');
    let archived = { documents: 0, files: 0 };
    let countedEvents = 0;
    let auditEvents = 0;
    let searchEvents = 0;
    let conversions = 0;
    let funnelJourneys = 0;
    let bidderWeeks = 0;
    let experimentExposures = 0;
    let target: ErasureSubject = { userIds: new Set(), sessionIds: new Set(forms) };
    try {
      if (kind === 'userId') {
        // The sessions the user was seen in, wherever their events are: a session's events before
        // sign-in carry no user id but are the same person's (one browser tab's session).
        const sessions = new Set(await this.repository.sessionsOfUser(forms));
        if (this.archive)
          for (const session of await this.archive.sessionsOfUser(RAW_EVENT_TYPES, forms)) sessions.add(session);
        target = { userIds: new Set(forms), sessionIds: sessions };
      }
      [countedEvents, auditEvents, conversions, searchEvents, funnelJourneys, bidderWeeks, experimentExposures] =
        (await Promise.all(
          [
            ...RAW_EVENT_TYPES,
            RetentionDataType.SEARCH_EVENTS as const,
            RetentionDataType.FUNNEL_JOURNEYS as const,
            RetentionDataType.BIDDER_WEEKS as const,
            RetentionDataType.EXPERIMENT_EXPOSURES as const,
          ].map(
            // Journeys carry no user id: the user's sessions find them.
            (type) =>
              this.repository.eraseEvents(
                type,
                type === RetentionDataType.FUNNEL_JOURNEYS
                  ? { userIds: new Set(), sessionIds: target.sessionIds }
                  : target,
              ),
          ),
        )) as [number, number, number, number, number, number, number];
      if (this.archive) archived = await this.archive.erase(RAW_EVENT_TYPES, target);
    } finally {
      // A purge of this process may hold the same lease; it keeps it.
      if (this.archive) await this.giveLease();
    }
    const report: ErasureReport = {
      sessions: kind === 'sessionId' ? 1 : target.sessionIds.size,
      countedEvents,
      auditEvents,
      searchEvents,
      conversions,
      funnelJourneys,
      bidderWeeks,
      experimentExposures,
      archivedEvents: archived.documents,
      archiveFiles: archived.files,
    };
    const pseudonym = this.pseudonyms.subject(id);
    await this.repository.recordErasure({
      at: this.clock.now(),
      by,
      subjectKind: kind,
      subjectPseudonym: pseudonym,
      ...report,
    });
    this.logger.info({ subject: pseudonym, kind, by, ...report }, 'erased a subject');
    return report;
  }

  /**
   * The forms `id` may be stored in: as sent when tracking accepts its shape; otherwise its keyed
   * pseudonym, and as sent cut to 256 characters (how rows stored before pseudonymisation hold it).
   */
  private storedForms(id: string): string[] {
    const stored = this.pseudonyms.storedId(id);
    return stored === id ? [id] : [stored, id.slice(0, LEGACY_AUDIT_MAX)];
  }

  /**
   * Takes the lease for one use in this process (a purge, an erasure), renewed by a heartbeat
   * until the last use gives it back; not acquired when another holder has it.
   */
  private async takeLease(): Promise<PurgeLeaseAnswer> {
    const answer = await this.renewLease();
    if (answer.acquired && this.leaseUsers++ === 0) {
      this.logger.debug({ holder: this.leaseClaim.holder }, 'took the purge lease');
      this.heartbeat = setInterval(() => {
        this.heartbeatRenewal = this.renewLease().then(
          (renewed) => {
            if (!renewed.acquired)
              this.logger.warn(
                { holder: holderName(renewed.current) },
                'lost the purge lease to another instance; the purge stops at its next batch',
              );
          },
          (error: unknown) => this.logger.warn({ err: error }, 'could not renew the purge lease'),
        );
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    }
    return answer;
  }

  /** Ends one use of the lease; the last gives it back (after a renewal in flight, which would take it again). */
  private async giveLease(): Promise<void> {
    if (--this.leaseUsers > 0) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.heartbeatRenewal;
    await this.repository.releasePurgeLease(this.leaseClaim.holder);
  }

  /** Takes or renews the lease now, and says when it was taken from another holder. */
  private async renewLease(): Promise<PurgeLeaseAnswer> {
    const now = this.clock.now();
    const answer = await this.repository.acquirePurgeLease(this.leaseClaim, now, new Date(now.getTime() + LEASE_MS));
    const previous = answer.acquired ? answer.previous : null;
    if (previous && previous.holder !== this.leaseClaim.holder) {
      if (previous.instance === this.leaseClaim.instance)
        this.logger.warn(
          { previousHolder: previous.holder, until: previous.until },
          'took over the purge lease of a previous process of this instance, which stopped without giving it back',
        );
      else
        this.logger.warn(
          { previousHolder: previous.holder, expiredAt: previous.until },
          'took over an expired purge lease: its holder stopped renewing it',
        );
    }
    return answer;
  }

  private async run(dryRun: boolean): Promise<PurgeReport> {
    const ranAt = this.clock.now();
    const cutoffs = this.cutoffs(ranAt);
    const types: PurgeCount[] = [];
    // One purge at a time across instances: two appending to one archive day would overwrite each other.
    const lease = dryRun ? undefined : await this.takeLease();
    if (lease && !lease.acquired) {
      const holder = holderName(lease.current);
      const until = lease.current?.until.toISOString() ?? null;
      this.logger.info({ holder, until }, 'retention purge skipped: another instance holds the purge lease');
      const busy = `skipped: another instance (${holder}) is purging (retention_leases, until ${until}); try again later`;
      return {
        dryRun,
        ranAt,
        types: Object.values(RetentionDataType).map((type) => ({
          dataType: type,
          olderThan: cutoffs[type],
          count: 0,
          archived: 0,
          error: busy,
        })),
      };
    }
    try {
      return await this.runTypes(dryRun, ranAt, cutoffs, types);
    } finally {
      if (!dryRun) await this.giveLease();
    }
  }

  private async runTypes(
    dryRun: boolean,
    ranAt: Date,
    cutoffs: Record<RetentionDataType, Date>,
    types: PurgeCount[],
  ): Promise<PurgeReport> {
    for (const type of Object.values(RetentionDataType)) {
      const olderThan = cutoffs[type];
      if (dryRun) {
        types.push({
          dataType: type,
          olderThan,
          count: await this.repository.countExpired(type, olderThan),
          archived: 0,
          error: null,
        });
        continue;
      }
      types.push(await this.purgeType(type, olderThan));
    }
    const deleted = types.filter((entry) => entry.count > 0 || entry.error);
    if (!dryRun && deleted.length > 0)
      this.logger.info(
        { purged: Object.fromEntries(deleted.map((entry) => [entry.dataType, entry.count])) },
        'retention purge',
      );
    return { dryRun, ranAt, types };
  }

  /**
   * Batches until nothing older than the cutoff is left (or an archive failure stops it). Each
   * batch starts at the latest date of the previous one (keyset): on an engine that keeps deleted
   * index entries until a vacuum (DocumentDB on PostgreSQL), a scan from the oldest date would
   * walk every entry deleted so far, batch after batch. It ends only on a short batch without a
   * lower bound, so whatever an engine returned out of date order is taken too.
   */
  private async purgeType(type: RetentionDataType, olderThan: Date): Promise<PurgeCount> {
    const archived = this.archive && (RAW_EVENT_TYPES as readonly string[]).includes(type) ? this.archive : undefined;
    const field = this.repository.dateField(type);
    let count = 0;
    let archivedCount = 0;
    let from: Date | undefined;
    for (;;) {
      if (!(await this.renewLease()).acquired)
        return {
          dataType: type,
          olderThan,
          count,
          archived: archivedCount,
          error: 'stopped: the purge lease was lost',
        };
      const batch = await this.repository.expiredBatch(
        type,
        olderThan,
        this.policy.batchSize,
        archived !== undefined,
        from,
      );
      if (batch.length > 0 && archived) {
        try {
          for (const [day, documents] of byDay(batch, field)) await archived.append(type, day, field, documents);
        } catch (error) {
          // Nothing of this batch is deleted; the next run tries again.
          this.metrics.archiveFailed?.(type);
          this.logger.error({ err: error, dataType: type }, 'archiving expired events failed; nothing deleted');
          const message = error instanceof ArchiveError ? error.message : String(error);
          return { dataType: type, olderThan, count, archived: archivedCount, error: `archive failed: ${message}` };
        }
        archivedCount += batch.length;
      }
      const deleted = await this.repository.deleteExpired(
        type,
        batch.map((document) => document._id),
      );
      count += deleted;
      if (deleted > 0) this.metrics.purged?.(type, deleted);
      if (batch.length === this.policy.batchSize && deleted > 0) {
        // `$gte`: documents of the same instant not in this batch are read again.
        from = new Date(Math.max(...batch.map((document) => new Date(document[field] as Date).getTime())));
        continue;
      }
      // A short batch without a lower bound: nothing expired is left. After a short keyset batch,
      // sweep from the start once more (an engine may return matches out of date order).
      if (from === undefined) break;
      from = undefined;
    }
    return { dataType: type, olderThan, count, archived: archivedCount, error: null };
  }
}

/** A lease holder as logs and reports name it: its instance (older leases: its process). */
function holderName(lease: PurgeLease | null): string | null {
  return lease ? (lease.instance ?? lease.holder) : null;
}

/** Documents grouped by the UTC day of their date field, `YYYY-MM-DD` → documents (in input order). */
function byDay(documents: readonly StoredDocument[], field: string): Map<string, StoredDocument[]> {
  const days = new Map<string, StoredDocument[]>();
  for (const document of documents) {
    const day = new Date(document[field] as Date).toISOString().slice(0, 10);
    const list = days.get(day) ?? [];
    list.push(document);
    days.set(day, list);
  }
  return days;
}
