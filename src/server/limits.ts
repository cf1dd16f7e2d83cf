/**
 * Gavel's request policy, in one place for both transports: the parse limit, the validation rules
 * (shape limits, introspection) and the cost limit that every GraphQL document passes before any
 * resolver runs. HTTP (Apollo) and websockets (graphql-ws) both build on {@link createRequestPolicy},
 * so an attacker gains nothing by switching transport.
 *
 * Libraries do the analysis: graphql-js's own `maxTokens` parse option bounds the document before
 * anything recursive touches it, GraphQL Armor's rules count depth, aliases and directives, and
 * graphql-query-complexity walks the operation with the estimators below.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  Lexer,
  NoSchemaIntrospectionCustomRule,
  Source,
  TokenKind,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isLeafType,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationTypeNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { parseDuration } from '../analytics/timeRange';
import type { GavelConfig } from '../config';
import type { Role } from '../auth/apiKey';
import { ErrorCode } from '../shared/errors';

/** The limits and prices of {@link createRequestPolicy}; every one is an env var, documented in config.ts. */
export type RequestLimits = GavelConfig['limits'] & {
  /** Longest analytics range the resolvers accept (ANALYTICS_MAX_RANGE_DAYS), in hours. */
  readonly analyticsMaxRangeHours: number;
};

/** Prices that are not worth a knob: relative weights of one database round trip or one object. */
const COST = {
  /** Any field returning an object or list element: one object built. Leaves are free. */
  object: 1,
  /** A root read that is one database query (search page, item read). */
  query: 10,
  /** `analytics` on an item: batched rollup reads, shared by the page but not free. */
  itemAnalytics: 2,
  /** Marketplace-wide aggregations over the rollups (`analyticsOverview`, `popularItems`). */
  aggregation: 50,
  /** Each tracked event of a mutation. */
  trackedEvent: 1,
} as const;

/**
 * Most field evaluations of one cost walk. The walk expands every fragment spread, so a small
 * document that re-spreads fragments can ask for millions; graphql-query-complexity stops there.
 */
const MAX_COST_NODES = 10_000;

/** Page size of `auctionItems` when neither `first` nor `last` is given (see search.service). */
const DEFAULT_PAGE_SIZE = 20;
/** Analytics ranges default to the last 7 days (see timeRange.resolveTimeRange). */
const DEFAULT_RANGE_HOURS = 7 * 24;
const HOUR_MS = 3_600_000;

/**
 * Per-walk scratch state. graphql-query-complexity calls a field's estimator after those of its
 * children, so a child that needs its parent's arguments (a connection's `edges` needs `first`,
 * `timeSeries` needs the range of `analytics`) leaves its share here and the parent settles it.
 * The schema has no connection inside `edges` nor `analytics` inside `timeSeries`, so one slot each
 * never mixes two parents.
 */
interface CostWalk {
  /** Cost of one page element of the connection being walked. */
  pendingEdges: number;
  /** timeSeries points per hour of range (1 hourly, 1/24 daily) selected under this `analytics`. */
  pendingPointsPerHour: number;
  /** Points per hour of the finest single `timeSeries` under this `analytics` (for ANALYTICS_MAX_POINTS). */
  pendingFinestPointsPerHour: number;
  /** Points of the largest single `timeSeries` field of the whole operation. */
  largestSeries: number;
}

function pageSize(args: Record<string, unknown>): number {
  const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : undefined;
  // Out-of-range sizes are refused by the resolver; price what would actually be read at most.
  return size === undefined ? DEFAULT_PAGE_SIZE : Math.min(Math.max(size, 0), 100);
}

/** A list's `first` argument as its resolver reads it: `fallback` when absent, else kept to 1–`max`. */
function firstOf(args: Record<string, unknown>, max: number, fallback: number): number {
  return typeof args.first === 'number' ? Math.min(Math.max(args.first, 1), max) : fallback;
}

/** `searchAnalytics`' price (query and subscription): one read, three lists of up to `first` queries. */
function searchAnalyticsCost(args: Record<string, unknown>, childComplexity: number): number {
  return COST.aggregation + firstOf(args, 50, 10) * childComplexity;
}

/**
 * Hours an analytics `range` argument covers, as the resolver would read it, and whether the
 * resolver would accept that length (`valid`). An unreadable, inverted or too long range is priced
 * at the longest (`valid` false): the resolver refuses it with a precise BAD_USER_INPUT.
 */
function rangeHours(range: unknown, maxHours: number): { hours: number; valid: boolean } {
  if (range == null || typeof range !== 'object') return { hours: DEFAULT_RANGE_HOURS, valid: true };
  const { from, to, last } = range as { from?: unknown; to?: unknown; last?: unknown };
  let hours: number;
  try {
    if (typeof last === 'string') hours = parseDuration(last, 'range.last') / HOUR_MS;
    else {
      const start = from == null ? NaN : new Date(from as string | Date).getTime();
      const end = to == null ? Date.now() : new Date(to as string | Date).getTime();
      hours = (end - start) / HOUR_MS;
    }
  } catch {
    return { hours: maxHours, valid: false };
  }
  // Buckets are whole hours; a range the resolver refuses (too long, inverted) is priced at most.
  return Number.isFinite(hours) && hours > 0 && hours <= maxHours
    ? { hours: Math.min(Math.ceil(hours) + 1, maxHours), valid: true }
    : { hours: maxHours, valid: false };
}

/**
 * The cost model, one estimator per priced coordinate; anything else costs {@link COST.object} per
 * object and nothing per leaf. A new list or expensive field gets its line here (the schema test
 * checks that every list-returning or argument-taking field is priced).
 */
function pricedFields(
  limits: RequestLimits,
): Record<string, (options: ComplexityEstimatorArgs, walk: CostWalk) => number> {
  return {
    'Query.auctionItems': ({ args, childComplexity }, walk) => {
      const perItem = walk.pendingEdges;
      walk.pendingEdges = 0;
      return COST.query + (childComplexity - perItem) + pageSize(args) * perItem;
    },
    'AuctionItemConnection.edges': ({ childComplexity }, walk) => {
      walk.pendingEdges += COST.object + childComplexity;
      return COST.object + childComplexity;
    },
    'AuctionItemConnection.totalCount': () => limits.totalCountCost,
    // At most one word per query word (8), computed from the item already read: free.
    'AuctionItemEdge.matchedTerms': () => 0,
    'AuctionItemConnection.facets': ({ childComplexity }) => limits.facetsCost + childComplexity,
    'Query.auctionItem': ({ childComplexity }) => COST.query + childComplexity,
    // A keystroke: one read per suggestion kind, then up to `first` (1–20, default 8) objects.
    'Query.searchSuggestions': ({ args, childComplexity }) =>
      COST.query + firstOf(args, 20, 8) * (COST.object + childComplexity),
    'AuctionItem.analytics': ({ args, childComplexity }, walk) => {
      const { hours, valid } = rangeHours(args.range, limits.analyticsMaxRangeHours);
      const points = walk.pendingPointsPerHour * hours;
      // An invalid range is left to the resolver, whose BAD_USER_INPUT says what is wrong with it.
      if (valid) walk.largestSeries = Math.max(walk.largestSeries, Math.ceil(walk.pendingFinestPointsPerHour * hours));
      walk.pendingPointsPerHour = 0;
      walk.pendingFinestPointsPerHour = 0;
      return COST.itemAnalytics + childComplexity + Math.ceil(points) * limits.analyticsPointCost;
    },
    'ItemAnalytics.timeSeries': ({ args, childComplexity }, walk) => {
      const perHour = args.granularity === 'DAY' ? 1 / 24 : 1;
      walk.pendingPointsPerHour += perHour;
      walk.pendingFinestPointsPerHour = Math.max(walk.pendingFinestPointsPerHour, perHour);
      return COST.object + childComplexity;
    },
    'Query.popularItems': ({ args, childComplexity }) => COST.aggregation + firstOf(args, 100, 10) * childComplexity,
    'Query.analyticsOverview': ({ childComplexity }) => COST.aggregation + childComplexity,
    // One read of the search rollups; each of its three lists holds up to `first` (1–50, default 10) queries.
    'Query.searchAnalytics': ({ args, childComplexity }) => searchAnalyticsCost(args, childComplexity),
    // The same read, again at most once per LIVE_INTERVAL_MS while open.
    'Subscription.searchAnalyticsUpdated': ({ args, childComplexity }) => searchAnalyticsCost(args, childComplexity),
    // topItems is always 10 items.
    'AnalyticsOverview.topItems': ({ childComplexity }) => 10 * (COST.object + childComplexity),
    'Query.userAnalytics': ({ childComplexity }) => COST.aggregation + childComplexity,
    // One bucket per hour (or day) of the range: at most 7 days (169 hours), 24 hours by default.
    'Query.trackingOutcomes': ({ args, childComplexity }) => {
      const hours = args.range == null ? 25 : rangeHours(args.range, 169).hours;
      const buckets = args.granularity === 'DAY' ? Math.ceil(hours / 24) + 1 : hours;
      return COST.aggregation + buckets * (COST.object + childComplexity);
    },
    'Subscription.analyticsOverviewUpdated': ({ childComplexity }) => COST.aggregation + childComplexity,
    'Subscription.itemAnalyticsUpdated': ({ args, childComplexity }) =>
      (Array.isArray(args.itemIds) ? args.itemIds.length : 1) * (COST.itemAnalytics + childComplexity),
    'Mutation.trackImpressions': ({ args }) =>
      (Array.isArray(args.events) ? args.events.length : 1) * COST.trackedEvent,
    'Mutation.trackClicks': ({ args }) => (Array.isArray(args.events) ? args.events.length : 1) * COST.trackedEvent,
    // One read of the day rows of the range (category or seller scope), whatever the steps.
    'Query.funnel': ({ childComplexity }) => COST.aggregation + childComplexity,
    // Batched per page by the request's loader, like the other item figures.
    'ItemAnalytics.funnel': ({ childComplexity }) => COST.object + childComplexity,
    // One read of the bidder-weeks up to the last week asked for.
    'Query.bidderCohorts': ({ childComplexity }) => COST.aggregation + childComplexity,
    // One read of the experiment's variant rows (at most MAX_VARIANTS).
    'Query.experimentResults': ({ childComplexity }) => COST.query + childComplexity,
    // The same reads, again at most once per FUNNEL_REFRESH_MS while open.
    'Subscription.experimentResultsUpdated': ({ childComplexity }) => COST.query + childComplexity,
    'Subscription.funnelUpdated': ({ childComplexity }) => COST.aggregation + childComplexity,
    // Each conversion has its session's touches read (one indexed read per 100 sessions of the batch) besides its insert.
    'Mutation.trackConversions': ({ args }) =>
      (Array.isArray(args.events) ? args.events.length : 1) * 3 * COST.trackedEvent,
  };
}

function costEstimator(limits: RequestLimits): ComplexityEstimator {
  const priced = pricedFields(limits);
  return (options) => {
    const walk = (options.context as { walk: CostWalk }).walk;
    const price = priced[`${options.type.name}.${options.field.name}`];
    if (price) return price(options, walk);
    return (isLeafType(getNamedType(options.field.type)) ? 0 : COST.object) + options.childComplexity;
  };
}

/** The schema coordinates (`Type.field`) the cost model prices explicitly (for the schema test). */
export const PRICED_COORDINATES: readonly string[] = Object.freeze(Object.keys(pricedFields({} as RequestLimits)));

/**
 * Fields that return a list of objects or take arguments but need no price of their own (the
 * default of one per object is right), each with the reason. With {@link PRICED_COORDINATES} this
 * is checked against the schema, so a new list or argument cannot slip in unpriced.
 */
export const BOUNDED_BY_DESIGN: Readonly<Record<string, string>> = Object.freeze({
  'AnalyticsOverview.byCategory': 'one entry per category: a few dozen, read by the one overview aggregation',
  'AnalyticsOverview.bySource': 'one entry per TrafficSource (6)',
  'ItemAnalytics.bySource': 'one entry per TrafficSource (6), from the batched rollup read',
  'AuctionItemFacets.category': 'part of the facets aggregation, priced by GRAPHQL_COST_FACETS',
  'AuctionItemFacets.status': 'one entry per AuctionStatus (4), part of facets',
  'AuctionItemFacets.priceBands': 'a fixed set of bands, part of facets',
  'Mutation.createAuctionItem': 'one write of one item; needs a token',
  'Mutation.updateAuctionItem': 'one write of one item; needs a token',
  'Mutation.trackImpression': 'one event, rate limited by the tracking rules',
  'Mutation.trackClick': 'one event, rate limited by the tracking rules',
  'Mutation.startSession':
    'signs one token, no database read; rate limited per address (TRACKING_NEW_SESSIONS_PER_MINUTE)',
  'TrackingResult.events': 'one entry per event sent, already priced on trackImpressions/trackClicks',
  'ConversionResult.events': 'one entry per conversion sent, already priced on trackConversions',
  'Funnel.steps': 'one entry per step asked for (2 to 6)',
  'Funnel.breakdown': 'one entry per source (7) or category (a few dozen), from the rows already read',
  'FunnelGroup.steps': 'one entry per step asked for (2 to 6)',
  'BidderCohorts.cohorts': 'one entry per week asked for (at most 26), from the one read',
  'BidderCohorts.lifecycle': 'one entry per week asked for (at most 26), from the one read',
  'BidderCohort.retention': 'one entry per later week asked for (at most 26), from the one read',
  'ExperimentResults.variants': 'one entry per variant kept (at most MAX_VARIANTS, 20), from the one read',
  'Query.experiments': 'the defined experiments: a handful, defined by ANALYST keys',
  'ExperimentDefinition.variants': 'the declared variants (at most 20)',
  'Mutation.defineExperiment': 'ANALYST only; one write and one recount of one experiment',
  'ExperimentVariant.funnel': 'one entry per step (5), from the variant row already read',
  'Mutation.purgeExpiredData':
    'ADMIN only; one purge at a time across instances (the retention lease), in bounded batches',
  'Mutation.eraseSubject': "ADMIN only; deletes one subject's raw events, under the retention lease",
  'PurgeReport.types': 'one entry per retention data type (11)',
  'SearchAnalytics.topQueries': 'up to `first` queries, priced on Query.searchAnalytics',
  'SearchAnalytics.zeroResultQueries': 'up to `first` queries, priced on Query.searchAnalytics',
  'SearchAnalytics.noClickQueries': 'up to `first` queries, priced on Query.searchAnalytics',
  'SearchAnalytics.positions': 'one entry per counted position (21), from the position rollups',
  'SearchQueryStats.clickedItems': 'at most 5 items, from the click maps already read',
  'SearchQueryStats.daily':
    'one entry per day of the range (at most ANALYTICS_MAX_RANGE_DAYS), from the rows already read',
});

/** An error Gavel raises for a document over one of its limits (HTTP 400, before execution). */
function limitError(message: string, code: ErrorCode, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

/** Armor reports "Syntax Error: <what>."; keep the numbers, drop the misleading prefix. */
function armorReject(code: ErrorCode, extensions: Record<string, unknown>, hint: string) {
  return (context: ValidationContext | null, error: GraphQLError): void => {
    context?.reportError(limitError(`${error.message.replace(/^Syntax Error: /, '')} ${hint}`, code, extensions));
  };
}

/** Counts the tokens of `body`, stopping at `limit + 1`: cheap and non-recursive. */
function tokensOver(body: string, limit: number): boolean {
  const lexer = new Lexer(new Source(body));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) if (++count > limit) return true;
  } catch {
    // A lexing error is a plain syntax error, reported as such.
  }
  return false;
}

/** The operation a request resolves to, with what cost analysis needs. */
export interface CostRequest {
  readonly document: DocumentNode;
  readonly variables?: Record<string, unknown> | null;
  readonly operationName?: string | null;
}

/** The policy both transports apply; see {@link createRequestPolicy}. */
export interface RequestPolicy {
  /** graphql-js parse options: `maxTokens` aborts a huge document before deep recursion can start. */
  readonly parseOptions: { readonly maxTokens: number };
  /** Validation rules beyond graphql-js's specified rules: shape limits and introspection. */
  readonly validationRules: readonly ValidationRule[];
  /** Whether "Did you mean …?" suggestions are removed from errors (production). */
  readonly hideSuggestions: boolean;
  /** The operation's cost under the model. */
  cost(request: CostRequest): number;
  /** The cost limit of a caller: `GRAPHQL_MAX_COST` anonymous, `GRAPHQL_MAX_COST_<ROLE>` with a key. */
  maxCost(role: Role | null): number;
  /**
   * Throws `QUERY_TOO_COMPLEX` (with `cost` and `maxCost`) when the operation costs more than the
   * caller's limit, then `RANGE_TOO_LARGE` (with `points` and `maxPoints`) when one `timeSeries`
   * would return more than ANALYTICS_MAX_POINTS points. Returns the cost; undefined when it is left
   * to execution (no such operation, variables that do not coerce), which refuses the request.
   *
   * @param role - the caller's role (null: anonymous), which picks the cost limit
   */
  assertCost(request: CostRequest, role: Role | null): number | undefined;
  /**
   * Parses with the token limit; a document over it fails with `QUERY_TOO_LARGE`, another syntax
   * error with graphql-js's message (code `GRAPHQL_PARSE_FAILED`). Never throws anything else.
   */
  parse(query: string): DocumentNode | GraphQLError;
  /**
   * The `QUERY_TOO_LARGE` error when `query` is longer than `GRAPHQL_MAX_QUERY_CHARS`: checked
   * before anything reads the text (lexing, hashing, error locations all cost time per character).
   */
  queryTooLong(query: string): GraphQLError | undefined;
  /** The `QUERY_TOO_LARGE` error when `source` is over the token limit (to re-code Apollo's parse failure). */
  tokenLimitError(source: string | undefined): GraphQLError | undefined;
}

/** What one walk of an operation found: its cost and the points of its largest time series. */
interface Walked {
  readonly cost: number;
  readonly largestSeries: number;
}

/**
 * The cost walks of the current second, per parsed document and variables: Apollo hands every
 * request of one query text the same parsed document, so a page requested again with the same
 * variables is not walked again (the walk was a tenth of what a search page cost the API). Only
 * the current second is kept (a range that ends "now" costs more as time passes): the walks of a
 * past second are dropped at once, and at most {@link MAX_RECENT_WALKS} walks of at most
 * {@link MAX_WALK_KEY_CHARS} characters of variables are held, so a client varying its documents
 * or variables holds at most a few MiB for a second and is walked as before.
 */
class RecentWalks {
  private second = -1;
  private byDocument = new Map<DocumentNode, Map<string, Walked>>();
  private size = 0;

  /**
   * The walk of the same document and variables in this second, or `walk()`'s, remembered for the
   * rest of the second when there is room.
   */
  walk(request: CostRequest, walk: () => Walked | undefined): Walked | undefined {
    const now = Math.floor(Date.now() / 1_000);
    if (now !== this.second) {
      this.second = now;
      this.byDocument = new Map();
      this.size = 0;
    }
    const variables = boundedJson(request.variables ?? {}, MAX_WALK_KEY_CHARS);
    const key = variables === undefined ? undefined : `${request.operationName ?? ''}\n${variables}`;
    const cacheable = key !== undefined;
    const hit = cacheable ? this.byDocument.get(request.document)?.get(key) : undefined;
    if (hit) return hit;
    const walked = walk();
    if (walked && key !== undefined && this.size < MAX_RECENT_WALKS) {
      let walks = this.byDocument.get(request.document);
      if (!walks) this.byDocument.set(request.document, (walks = new Map()));
      walks.set(key, walked);
      this.size++;
    }
    return walked;
  }
}

/** Thrown by {@link boundedJson} to stop as soon as its bound is passed. */
const OVER_BOUND = Symbol('over bound');

/**
 * The JSON of `value` (parsed JSON: variables) when it takes at most `max` characters and 32
 * levels, else undefined — found without ever serializing more than that: a client's variables
 * may be megabytes, or nested deeper than `JSON.stringify` can recurse.
 */
function boundedJson(value: unknown, max: number): string | undefined {
  const parts: string[] = [];
  let length = 0;
  const write = (text: string) => {
    length += text.length;
    if (length > max) throw OVER_BOUND;
    parts.push(text);
  };
  const visit = (item: unknown, depth: number): void => {
    if (depth > 32) throw OVER_BOUND;
    if (typeof item === 'string') {
      if (item.length > max) throw OVER_BOUND;
      write(JSON.stringify(item));
    } else if (item === null || typeof item !== 'object') {
      write(String(JSON.stringify(item) ?? null));
    } else if (Array.isArray(item)) {
      write('[');
      for (let index = 0; index < item.length; index++) {
        if (index > 0) write(',');
        visit(item[index], depth + 1);
      }
      write(']');
    } else {
      write('{');
      let first = true;
      for (const field in item) {
        if (!Object.hasOwn(item, field)) continue;
        if (!first) write(',');
        first = false;
        write(JSON.stringify(field));
        write(':');
        visit((item as Record<string, unknown>)[field], depth + 1);
      }
      write('}');
    }
  };
  try {
    visit(value, 0);
    return parts.join('');
  } catch (error) {
    if (error === OVER_BOUND) return undefined;
    throw error;
  }
}

/** Walks held by {@link RecentWalks} within one second. */
const MAX_RECENT_WALKS = 1_000;
/** Longer operation name + variables are walked every time (see {@link RecentWalks}). */
const MAX_WALK_KEY_CHARS = 2_048;

/**
 * Builds the request policy from validated limits.
 *
 * @param introspection - whether schema introspection is allowed (GRAPHQL_INTROSPECTION)
 * @param production - hide field suggestions from error messages
 */
export function createRequestPolicy(
  schema: GraphQLSchema,
  limits: RequestLimits,
  options: { introspection: boolean; production: boolean },
): RequestPolicy {
  const estimator = costEstimator(limits);
  const validationRules: ValidationRule[] = [
    maxDepthRule({
      n: limits.maxDepth,
      // Depth of fields as executed: wrapping a selection in a fragment does not make it deeper.
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [
        armorReject(
          ErrorCode.QUERY_TOO_DEEP,
          { maxDepth: limits.maxDepth },
          'Select fewer nested fields (GRAPHQL_MAX_DEPTH).',
        ),
      ],
    }),
    maxAliasesRule({
      n: limits.maxAliases,
      propagateOnRejection: false,
      onReject: [
        armorReject(
          ErrorCode.TOO_MANY_ALIASES,
          { maxAliases: limits.maxAliases },
          'Send fewer aliased fields, or several requests (GRAPHQL_MAX_ALIASES).',
        ),
      ],
    }),
    maxDirectivesRule({
      n: limits.maxDirectives,
      propagateOnRejection: false,
      onReject: [
        armorReject(
          ErrorCode.TOO_MANY_DIRECTIVES,
          { maxDirectives: limits.maxDirectives },
          'Use fewer directives (GRAPHQL_MAX_DIRECTIVES).',
        ),
      ],
    }),
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  /** Walks the operation once: its cost and the points of its largest time series. */
  const walkCost = ({ document, variables, operationName }: CostRequest): Walked => {
    const walk: CostWalk = {
      pendingEdges: 0,
      pendingPointsPerHour: 0,
      pendingFinestPointsPerHour: 0,
      largestSeries: 0,
    };
    const cost = getComplexity({
      schema,
      query: document,
      variables: variables ?? {},
      operationName: operationName ?? undefined,
      estimators: [estimator],
      maxQueryNodes: MAX_COST_NODES,
      context: { walk },
    });
    return { cost, largestSeries: walk.largestSeries };
  };
  /**
   * Prices `request` (undefined when its variables do not coerce: execution refuses them with a
   * precise message and code before any resolver runs; the cost walk would only fail on them).
   */
  const walkVariables = (request: CostRequest, limit: number, role: Role | null): Walked | undefined => {
    const operation = getOperationAST(request.document, request.operationName ?? undefined);
    if (!operation) return undefined;
    try {
      return walkCost(request);
    } catch {
      // The walk coerces the variables itself (a tracking batch's hundred events are the costliest
      // part of pricing it): only when it fails are they checked apart, to tell bad variables from
      // an operation too large to price.
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, {
        maxErrors: 1,
      });
      if (coerced.errors) return undefined;
      // Otherwise the walk stopped past MAX_COST_NODES field evaluations (fragments re-spread to
      // blow up the analysis itself): far beyond any legitimate operation, so refuse without a figure.
      throw limitError(
        `The query is too complex to price (more than ${MAX_COST_NODES} fields once fragments are expanded), over the maximum of ${limit} points (${maxCostVariable(role)}).`,
        ErrorCode.QUERY_TOO_COMPLEX,
        { cost: null, maxCost: limit },
      );
    }
  };
  const recentWalks = new RecentWalks();
  const maxCost = (role: Role | null): number => (role === null ? limits.maxCost : limits.maxCostByRole[role]);
  /** The variable a caller's cost limit comes from, for the error message. */
  const maxCostVariable = (role: Role | null): string =>
    role === null ? 'GRAPHQL_MAX_COST' : `GRAPHQL_MAX_COST_${role}`;
  const tooLarge = () =>
    limitError(
      `The document has more than ${limits.maxTokens} tokens; send a smaller query (GRAPHQL_MAX_TOKENS).`,
      ErrorCode.QUERY_TOO_LARGE,
      { maxTokens: limits.maxTokens },
    );
  const tooLong = (query: string): GraphQLError | undefined =>
    query.length > limits.maxQueryChars
      ? limitError(
          `The document is ${query.length} characters long, more than ${limits.maxQueryChars}; send a smaller query (GRAPHQL_MAX_QUERY_CHARS).`,
          ErrorCode.QUERY_TOO_LARGE,
          { maxQueryChars: limits.maxQueryChars },
        )
      : undefined;
  return {
    parseOptions: { maxTokens: limits.maxTokens },
    queryTooLong: tooLong,
    validationRules,
    hideSuggestions: options.production,
    cost: (request) => walkCost(request).cost,
    maxCost,
    assertCost(request, role) {
      const limit = maxCost(role);
      const walked = recentWalks.walk(request, () => walkVariables(request, limit, role));
      if (walked === undefined) return undefined;
      if (walked.cost > limit) {
        throw limitError(
          `The query costs ${walked.cost} points, more than the maximum of ${limit}: request fewer items, shorter analytics ranges or coarser granularity, or split it (${maxCostVariable(role)}).`,
          ErrorCode.QUERY_TOO_COMPLEX,
          { cost: walked.cost, maxCost: limit },
        );
      }
      if (walked.largestSeries > limits.analyticsMaxPoints) {
        throw limitError(
          `A timeSeries would return ${walked.largestSeries} points, more than the maximum of ${limits.analyticsMaxPoints}: use DAY granularity or a shorter range (ANALYTICS_MAX_POINTS).`,
          ErrorCode.RANGE_TOO_LARGE,
          { points: walked.largestSeries, maxPoints: limits.analyticsMaxPoints },
        );
      }
      return walked.cost;
    },
    parse(query) {
      const long = tooLong(query);
      if (long) return long;
      try {
        return parse(query, { maxTokens: limits.maxTokens });
      } catch (error) {
        if (tokensOver(query, limits.maxTokens)) return tooLarge();
        if (error instanceof GraphQLError)
          return new GraphQLError(error.message, {
            positions: error.positions,
            source: error.source,
            extensions: { code: 'GRAPHQL_PARSE_FAILED' },
          });
        // Not a GraphQLError: the parser itself failed (e.g. the stack); the document was too big for it.
        return tooLarge();
      }
    },
    tokenLimitError: (source) =>
      source !== undefined && tokensOver(source, limits.maxTokens) ? tooLarge() : undefined,
  };
}

/** What a graphql-ws `subscribe` message carries. */
export interface OperationPayload {
  readonly query?: unknown;
  readonly variables?: unknown;
  readonly operationName?: unknown;
}

/** An operation that passed the policy, ready for `execute`/`subscribe`. */
export interface PreparedOperation {
  readonly document: DocumentNode;
  readonly variableValues: Record<string, unknown>;
  readonly operationName: string | undefined;
  /** `query`, `mutation` or `subscription`. */
  readonly type: OperationTypeNode;
  /** Its cost under the model (what an open subscription holds of the caller's budget). */
  readonly cost: number;
}

function requestError(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * Runs the whole policy on a websocket operation, in the order Apollo runs it on HTTP: parse
 * (token limit), validate (graphql-js's rules plus {@link RequestPolicy.validationRules}), resolve
 * the operation, refuse queries and mutations unless allowed, coerce variables, check the cost.
 * Returns coded errors (what Apollo would answer with status 400) instead of throwing.
 *
 * @param allowQueries - WS_ALLOW_QUERIES: whether queries and mutations may run over websockets
 * @param role - the caller's role (null: anonymous), which picks the cost limit
 */
export function prepareOperation(
  schema: GraphQLSchema,
  policy: RequestPolicy,
  payload: OperationPayload,
  allowQueries: boolean,
  role: Role | null,
): PreparedOperation | GraphQLError[] {
  if (typeof payload.query !== 'string' || payload.query.length === 0)
    return [requestError('A subscribe message needs a non-empty `query`.', ErrorCode.BAD_REQUEST)];
  const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
  const document = policy.parse(payload.query);
  if (document instanceof GraphQLError) return [document];
  const invalid = validate(schema, document, [...specifiedRules, ...policy.validationRules], {
    hideSuggestions: policy.hideSuggestions,
  });
  if (invalid.length > 0)
    return invalid.map((error) =>
      typeof error.extensions.code === 'string'
        ? error
        : new GraphQLError(error.message, {
            nodes: error.nodes,
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
    );
  const operation = getOperationAST(document, operationName);
  if (!operation)
    return [
      requestError(
        operationName
          ? `Unknown operation named "${operationName}".`
          : 'Send exactly one operation or an operationName.',
        'OPERATION_RESOLUTION_FAILURE',
      ),
    ];
  if (operation.operation !== 'subscription' && !allowQueries)
    return [
      requestError(
        `Websockets carry subscriptions only; send ${operation.operation === 'query' ? 'queries' : 'mutations'} over HTTP POST to the same path (WS_ALLOW_QUERIES).`,
        ErrorCode.OPERATION_NOT_ALLOWED,
      ),
    ];
  const rawVariables = payload.variables ?? {};
  if (typeof rawVariables !== 'object' || Array.isArray(rawVariables))
    return [requestError('`variables` must be an object.', ErrorCode.BAD_REQUEST)];
  const coerced = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    rawVariables as Record<string, unknown>,
    {
      maxErrors: 10,
      hideSuggestions: policy.hideSuggestions,
    },
  );
  if (coerced.errors) return coerced.errors.map((error) => requestError(error.message, ErrorCode.BAD_USER_INPUT));
  let cost: number | undefined;
  try {
    cost = policy.assertCost({ document, variables: rawVariables as Record<string, unknown>, operationName }, role);
  } catch (error) {
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  return {
    document,
    variableValues: rawVariables as Record<string, unknown>,
    operationName,
    type: operation.operation,
    // Always set here: the operation exists and its variables coerced.
    cost: cost ?? 0,
  };
}
