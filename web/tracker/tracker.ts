/**
 * Gavel's browser tracker: viewability impressions and clicks of elements marked with
 * `data-gavel-item`, batched to `trackImpressions` / `trackClicks`. No dependencies; served as
 * `/tracker.js` (one script tag, see `auto.ts`) and importable as an ES module.
 *
 * An element's events say where it was shown with `data-gavel-source` and `data-gavel-position`
 * (0 = first), and which search listed it with `data-gavel-search` (the `searchId` of
 * `auctionItems`), on the element or on its list. An experiment the page runs is named with
 * `data-gavel-experiment` and `data-gavel-variant` on one element (the card, its list or `<body>`):
 * the events of every card inside carry both.
 */

/** Where an impression or click happened (the API's `TrafficSource`). */
export type TrafficSource = 'SEARCH' | 'ITEM_PAGE' | 'RECOMMENDATION' | 'HOME' | 'EXTERNAL' | 'OTHER';

/** What the tracker can be told; every field has a default. */
export interface TrackerOptions {
  /** GraphQL endpoint; default `/graphql` of the page's origin. */
  endpoint?: string;
  /**
   * The signed-in user: its session is started for this user (`startSession(userId)`) and its events
   * carry the id; only then do they count toward the user's figures (uniqueUsers).
   */
  userId?: string;
  /** Where to look for marked elements; default the whole document. */
  root?: Element | Document;
  /** Source of elements without `data-gavel-source`; default `OTHER`. */
  defaultSource?: TrafficSource;
  /** Events per request; a full batch is sent at once (default 20; the API takes up to TRACKING_MAX_BATCH, 500 by default). */
  batchSize?: number;
  /** A partial batch is sent this long after its first event (default 1,000 ms). */
  flushDelayMs?: number;
  /** Continuous time at ≥ 50 % in view that makes an impression (IAB/MRC display: 1,000 ms). */
  dwellMs?: number;
  /** Events kept while the API cannot be reached; beyond, the oldest are dropped (default 1,000). */
  maxQueue?: number;
  /** Longest wait between retries (default 30,000 ms; retries start at 500 ms and double). */
  maxRetryDelayMs?: number;
  /** Called with errors that drop a batch (not retryable) or a session that cannot be had. */
  onError?: (error: Error) => void;
}

/** A running tracker. */
export interface Tracker {
  /** Sends everything queued now (resolves when the send finished or was scheduled for retry). */
  flush(): Promise<void>;
  /** Sets or clears the user id of later events (sign-in, sign-out): they go in a new session, started for that user. */
  setUserId(userId: string | undefined): void;
  /** Events queued and not yet acknowledged (waiting, in flight or awaiting retry). */
  pending(): number;
  /** Events dropped because the queue was full. */
  dropped(): number;
  /** Stops observing; queued events are sent once more with `keepalive`. */
  stop(): void;
  /**
   * The session the current user's events go in (started if need be). Send it as `x-session-id`
   * with searches: a click is credited to its search only from the session that searched.
   */
  sessionId(): Promise<string>;
}

type Kind = 'i' | 'c';
interface TrackEvent {
  kind: Kind;
  itemId: string;
  userId?: string;
  source: TrafficSource;
  position?: number;
  /** The search that listed the element (`data-gavel-search`). */
  searchId?: string;
  /** The experiment and variant the element is shown under (`data-gavel-experiment`, `data-gavel-variant`). */
  experiment?: string;
  variant?: string;
  /** When it happened: stable across retries. */
  timestamp: string;
}
interface Session {
  sessionId: string;
  expiresAt: string;
  /** The user it was started for (none: a visitor). */
  userId?: string;
}
interface GraphQLReply {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; retryAfterMs?: unknown } }>;
}

const SESSION_KEY = 'gavel.session';
/** A session this close to its expiry is replaced before use. */
const SESSION_MARGIN_MS = 5 * 60_000;
const SOURCES = ['SEARCH', 'ITEM_PAGE', 'RECOMMENDATION', 'HOME', 'EXTERNAL', 'OTHER'];
const SELECTOR = '[data-gavel-item]';
/** A searchId as `auctionItems` returns it; anything else is left out (the API would refuse the event). */
const SEARCH_ID = /^[0-9a-f]{24}$/;
/** An experiment or variant key the API accepts; anything else is left out (the API would refuse the event). */
const EXPERIMENT_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A failure worth retrying: the network, a 5xx, `SERVICE_UNAVAILABLE` or `RATE_LIMITED`; the
 * latter says when its budget is back (`retryAfterMs`), and no retry comes sooner.
 */
class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/**
 * One request for a batch: `trackImpressions` then `trackClicks` as two fields of one mutation,
 * which GraphQL runs in order, so a click's impression is always counted first.
 */
function batchRequest(batch: readonly TrackEvent[], sessionId: string): { query: string; variables: object } {
  const events = (kind: Kind) =>
    batch.filter((event) => event.kind === kind).map(({ kind: _kind, ...event }) => ({ ...event, sessionId }));
  const impressions = events('i');
  const clicks = events('c');
  const params = [impressions.length && '$i:[ImpressionInput!]!', clicks.length && '$c:[ClickInput!]!'];
  const fields = [
    impressions.length && 'trackImpressions(events:$i){accepted}',
    clicks.length && 'trackClicks(events:$c){accepted}',
  ];
  return {
    query: `mutation(${params.filter(Boolean).join(',')}){${fields.filter(Boolean).join(' ')}}`,
    variables: { i: impressions.length ? impressions : undefined, c: clicks.length ? clicks : undefined },
  };
}

/** Starts tracking the marked elements under `options.root`. */
export function startTracker(options: TrackerOptions = {}): Tracker {
  const endpoint = options.endpoint ?? '/graphql';
  const root = options.root ?? document;
  const batchSize = Math.min(Math.max(options.batchSize ?? 20, 1), 100);
  const flushDelayMs = options.flushDelayMs ?? 1_000;
  const dwellMs = options.dwellMs ?? 1_000;
  const maxQueue = options.maxQueue ?? 1_000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const onError = options.onError ?? ((error: Error) => console.warn('[gavel]', error.message));
  // An empty id (e.g. `data-user-id=""`) is no user.
  let userId = options.userId || undefined;

  // Events in the order they happened; a batch leaves the queue while in flight and comes back to
  // its head when a retryable failure hits it.
  const queue: TrackEvent[] = [];
  let inFlight = 0;
  let droppedCount = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retries = 0;
  let sending: Promise<void> = Promise.resolve();
  let stopped = false;

  // Per element: its dwell timer while ≥ 50 % in view, and whether its impression was recorded.
  const dwell = new Map<Element, ReturnType<typeof setTimeout>>();
  const inView = new Set<Element>();
  const seen = new WeakSet<Element>();

  const post = async (body: unknown, keepalive = false): Promise<GraphQLReply> => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        keepalive,
        credentials: 'omit',
      });
    } catch (error) {
      throw new Retryable(String(error));
    }
    if (response.status >= 500) throw new Retryable(`HTTP ${response.status}`);
    const reply = (await response.json().catch(() => ({}))) as GraphQLReply;
    const codes = (reply.errors ?? []).map((error) => error.extensions?.code);
    if (codes.includes('SERVICE_UNAVAILABLE') || codes.includes('RATE_LIMITED')) {
      const waits = reply.errors!.map((error) => Number(error.extensions?.retryAfterMs)).filter(Number.isFinite);
      throw new Retryable(reply.errors![0]!.message, Math.max(0, ...waits));
    }
    if (reply.errors?.length || !reply.data)
      throw new Error(reply.errors?.map((error) => error.message).join('; ') ?? `HTTP ${response.status}`);
    return reply;
  };

  // A session is started for one user (or none) and vouches for that user only, so events go in
  // the session of the user they were stamped with; the current user's is kept in sessionStorage.
  const fresh = (session: Session | null | undefined, user: string | undefined): session is Session =>
    !!session && session.userId === user && Date.parse(session.expiresAt) - SESSION_MARGIN_MS > Date.now();
  const issuedHere = new Map<string | undefined, Session>();
  const readSession = (user: string | undefined): Session | undefined => {
    const here = issuedHere.get(user);
    if (fresh(here, user)) return here;
    try {
      const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
      if (fresh(stored, user)) return stored;
    } catch {
      // Storage disabled or corrupt: a new session is started below.
    }
    return undefined;
  };

  const sessionRequests = new Map<string | undefined, Promise<Session>>();
  const session = (user: string | undefined): Promise<Session> => {
    const known = readSession(user);
    if (known) return Promise.resolve(known);
    let request = sessionRequests.get(user);
    if (!request) {
      request = post({
        query: 'mutation($u:ID){startSession(userId:$u){sessionId expiresAt}}',
        variables: { u: user ?? null },
      })
        .then((reply) => {
          const issued = { ...(reply.data!.startSession as Session), ...(user ? { userId: user } : {}) };
          issuedHere.set(user, issued);
          try {
            if (user === userId) sessionStorage.setItem(SESSION_KEY, JSON.stringify(issued));
          } catch {
            // Without storage the session lasts as long as this page.
          }
          return issued;
        })
        .finally(() => sessionRequests.delete(user));
      sessionRequests.set(user, request);
    }
    return request;
  };

  const schedule = (delay: number): void => {
    if (timer !== undefined || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, delay);
  };

  const retryLater = (error?: unknown): void => {
    // Exponential backoff with jitter, so clients that lost the server do not come back in step;
    // never before a rate limit says its budget is back (a retry sooner is refused again).
    const backoff = Math.min(maxRetryDelayMs, 500 * 2 ** retries++) * (0.75 + Math.random() / 2);
    schedule(Math.max(backoff, error instanceof Retryable ? error.retryAfterMs : 0));
  };

  const enqueue = (kind: Kind, element: Element): void => {
    const data = (element as HTMLElement).dataset;
    const source = (data.gavelSource ?? '').toUpperCase();
    const position = Number.parseInt(data.gavelPosition ?? '', 10);
    const searchId = (element.closest('[data-gavel-search]') as HTMLElement | null)?.dataset.gavelSearch ?? '';
    const tagged = (element.closest('[data-gavel-experiment]') as HTMLElement | null)?.dataset;
    const experiment = tagged?.gavelExperiment ?? '';
    const variant = tagged?.gavelVariant ?? '';
    queue.push({
      kind,
      itemId: data.gavelItem!,
      source: (SOURCES.includes(source) ? source : (options.defaultSource ?? 'OTHER')) as TrafficSource,
      ...(Number.isInteger(position) && position >= 0 ? { position } : {}),
      ...(SEARCH_ID.test(searchId) ? { searchId } : {}),
      ...(EXPERIMENT_KEY.test(experiment) && EXPERIMENT_KEY.test(variant) ? { experiment, variant } : {}),
      ...(userId ? { userId } : {}),
      // Stamped once: retries resend it, which is what makes them DUPLICATE on the server.
      timestamp: new Date().toISOString(),
    });
    // Bounded memory while offline: the oldest waiting events are dropped first.
    while (queue.length + inFlight > maxQueue && queue.length > 0) {
      queue.shift();
      droppedCount++;
    }
    // A full batch leaves at once, unless the API is failing: then the backoff timer decides.
    if (queue.length >= batchSize && retries === 0) void flush();
    else schedule(flushDelayMs);
  };

  /**
   * Sends one batch. A retryable failure puts it back at the head of the queue: the same events
   * with the same timestamps are sent again. That is safe because the server deduplicates per
   * session and item in windows taken from that timestamp (one impression per 30 s, one click per
   * 5 s) for up to TRACKING_RETRY_WINDOW_MS (5 min): a retry of a batch that was in fact stored
   * (only its answer was lost) comes back DUPLICATE, whenever within that time it arrives.
   */
  const sendBatch = async (batch: TrackEvent[], keepalive: boolean): Promise<void> => {
    inFlight += batch.length;
    try {
      // Without an await before fetch when the session is known: a page being unloaded runs no more tasks.
      const user = batch[0]!.userId;
      const { sessionId } = readSession(user) ?? (await session(user));
      await post(batchRequest(batch, sessionId), keepalive);
    } catch (error) {
      if (error instanceof Retryable) {
        queue.unshift(...batch);
        throw error;
      }
      // Not retryable (a refused request): sending it again would fail the same way.
      onError(error as Error);
    } finally {
      inFlight -= batch.length;
    }
  };

  /** The next events to send: up to a batch, all of one user (one session per user). */
  const nextBatch = (): TrackEvent[] => {
    let length = 1;
    while (length < Math.min(batchSize, queue.length) && queue[length]!.userId === queue[0]!.userId) length++;
    return queue.splice(0, length);
  };

  const flush = (keepalive = false): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (keepalive) {
      // The page may be going away: every batch leaves now, none waits for another's answer.
      const sends: Promise<void>[] = [];
      while (queue.length > 0) sends.push(sendBatch(nextBatch(), true).catch(retryLater));
      return Promise.all(sends).then(() => undefined);
    }
    // One batch after another, so that retries keep the order of events.
    sending = sending.then(async () => {
      try {
        while (queue.length > 0) await sendBatch(nextBatch(), false);
        retries = 0;
      } catch (error) {
        retryLater(error);
      }
    });
    return sending;
  };

  const recordImpression = (element: Element): void => {
    if (seen.has(element)) return;
    seen.add(element);
    clearTimeout(dwell.get(element));
    dwell.delete(element);
    intersection.unobserve(element);
    enqueue('i', element);
  };

  const startDwell = (element: Element): void => {
    if (!dwell.has(element) && !seen.has(element) && document.visibilityState === 'visible')
      dwell.set(
        element,
        setTimeout(() => recordImpression(element), dwellMs),
      );
  };
  const cancelDwell = (element: Element): void => {
    clearTimeout(dwell.get(element));
    dwell.delete(element);
  };

  const intersection = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting && entry.intersectionRatio >= 0.5) {
          inView.add(entry.target);
          startDwell(entry.target);
        } else {
          inView.delete(entry.target);
          cancelDwell(entry.target);
        }
      }
    },
    { threshold: [0, 0.5, 1] },
  );

  const observeTree = (node: Node): void => {
    if (!(node instanceof Element)) return;
    const found = node.matches(SELECTOR) ? [node] : [];
    for (const element of [...found, ...node.querySelectorAll(SELECTOR)])
      if (!seen.has(element)) intersection.observe(element);
  };
  const forgetTree = (node: Node): void => {
    if (!(node instanceof Element)) return;
    for (const element of [node, ...node.querySelectorAll(SELECTOR)]) {
      intersection.unobserve(element);
      inView.delete(element);
      cancelDwell(element);
    }
  };
  const mutations = new MutationObserver((records) => {
    for (const record of records) {
      record.removedNodes.forEach(forgetTree);
      record.addedNodes.forEach(observeTree);
    }
  });

  // A click proves the item was seen: its impression (if not yet recorded) is queued first.
  const onClick = (event: Event): void => {
    const element = (event.target as Element | null)?.closest?.(SELECTOR);
    if (!element || !(root === document || (root as Element).contains(element))) return;
    recordImpression(element);
    enqueue('c', element);
  };

  // Hidden pages are not viewable: dwell stops, and queued events leave now (the page may never return).
  const onVisibility = (): void => {
    if (document.visibilityState === 'hidden') {
      for (const element of dwell.keys()) cancelDwell(element);
      void flush(true);
    } else for (const element of inView) startDwell(element);
  };
  const onPageHide = (): void => void flush(true);

  document.addEventListener('click', onClick, true);
  document.addEventListener('visibilitychange', onVisibility);
  window.addEventListener('pagehide', onPageHide);
  mutations.observe(root, { childList: true, subtree: true });
  observeTree(root instanceof Document ? root.documentElement : root);
  // The session is started at once, so that a page left early can still send with keepalive.
  session(userId).catch(() => undefined);

  return {
    flush: () => flush(),
    setUserId: (id) => {
      if ((id || undefined) === userId) return;
      userId = id || undefined;
      // A new user (sign-in, sign-out) gets a session of its own, started now for the same reason.
      session(userId).catch(() => undefined);
    },
    pending: () => queue.length + inFlight,
    dropped: () => droppedCount,
    sessionId: async () => (await session(userId)).sessionId,
    stop: () => {
      document.removeEventListener('click', onClick, true);
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('pagehide', onPageHide);
      mutations.disconnect();
      intersection.disconnect();
      for (const element of dwell.keys()) cancelDwell(element);
      void flush(true);
      stopped = true;
    },
  };
}
