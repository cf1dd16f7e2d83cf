import type { ConversionsService } from '../conversions/conversions.service';
import type { CohortsService } from '../cohorts/cohorts.service';
import type { ExperimentsService } from '../experiments/experiments.service';
import type { FunnelLoaders, FunnelsService } from '../funnels/funnels.service';
import type { CatalogImportService } from '../catalog/catalogImport.service';
import type { CatalogService } from '../catalog/auctionItem.service';
import type { SearchService } from '../catalog/search.service';
import type { SuggestionService } from '../catalog/suggestion.service';
import type { SearchAnalyticsService } from '../searches/searchAnalytics.service';
import type { AnalyticsLoaders, AnalyticsService } from '../analytics/analytics.service';
import type { AuthService } from '../auth/auth.service';
import type { Viewer } from '../auth/viewer';
import type { LiveService } from '../live/live.service';
import type { TrackingService } from '../tracking/tracking.service';
import type { TrackingOutcomesService } from '../tracking/outcomes';
import type { Logger } from '../shared/logger';
import type { OperationTrace } from '../observability/operations';
import type { RetentionService } from '../retention/retention.service';

/** The services resolvers call; one instance each per process (see `createApp`). */
export interface GavelServices {
  readonly catalog: CatalogService;
  readonly catalogImport: CatalogImportService;
  readonly search: SearchService;
  readonly suggestions: SuggestionService;
  readonly searches: SearchAnalyticsService;
  readonly analytics: AnalyticsService;
  readonly tracking: TrackingService;
  readonly conversions: ConversionsService;
  readonly funnels: FunnelsService;
  readonly cohorts: CohortsService;
  readonly experiments: ExperimentsService;
  readonly live: LiveService;
  readonly auth: AuthService;
  readonly outcomes: TrackingOutcomesService;
  readonly retention: RetentionService;
}

/** Facts about the client taken from the transport, never from GraphQL input. */
export interface ClientInfo {
  /** Remote address (first `X-Forwarded-For` hop when behind a trusted proxy). */
  readonly ip: string;
  /** What per-address limits count this client under: `addressLimitKey(ip)` (its IPv6 /64, say). */
  readonly limitKey: string;
  /** `User-Agent` header, if any. */
  readonly userAgent: string | undefined;
  /** `x-session-id` header (HTTP) or `sessionId` connection parameter (websocket), if any. */
  readonly sessionId: string | undefined;
  /** Identifies the websocket connection (undefined over HTTP): per-connection limits. */
  readonly connectionId?: string;
  /**
   * The HTTP guard already found this request's tracking budget not spent (trackingBudgetGuard):
   * the service does not look again.
   */
  readonly trackingBudgetChecked?: boolean;
}

/** DataLoaders of one request: batching and caching live exactly as long as the request. */
export interface RequestLoaders {
  readonly analytics: AnalyticsLoaders;
  readonly funnels: FunnelLoaders;
}

/** Per-operation GraphQL context: shared services plus this request's state. */
export interface GavelContext {
  readonly services: GavelServices;
  readonly client: ClientInfo;
  readonly viewer: Viewer;
  readonly loaders: RequestLoaders;
  /** Carries this request's id (`reqId` in its log lines). */
  readonly logger: Logger;
  /** This operation's request id, name and outcome as the request log and metrics see them. */
  readonly trace?: OperationTrace;
}
