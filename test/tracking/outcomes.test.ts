import { TrackClicksDocument, TrackImpressionsDocument, TrackingOutcomesDocument } from '../generated/graphql';
import { BROWSER, insertDemoItems } from '../support/catalogFixtures';
import { errorCodes, execute, startTestApp, type TestApp } from '../support/testApp';

// trackingOutcomes: what happened to tracked events per hour, so that refusals and fraud show.

let app: TestApp;
let itemIds: string[];
const keys: Record<'ANALYST' | 'SELLER', string> = { ANALYST: '', SELLER: '' };

beforeAll(async () => {
  app = await startTestApp({ env: { AUTH_MODE: 'keys', TRACKING_AUDIT_ROWS_PER_MINUTE: '2' }, periodicJobs: false });
  itemIds = await insertDemoItems(app, 5);
  keys.ANALYST = (await app.services.auth.createKey({ role: 'ANALYST' })).key;
  keys.SELLER = (await app.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-1' })).key;
});
afterAll(() => app.stop());

const analyst = () => ({ authorization: `Bearer ${keys.ANALYST}` });

it('counts each outcome in the hour it arrived, sampled and aggregated refusals alike', async () => {
  // Stamped once, as the tracker stamps an event and resends the stamp: a retry then falls in the
  // first attempt's dedup window even when a window boundary passes between the two requests.
  const timestamp = new Date().toISOString();
  const impression = (itemId: string, sessionId = 's-1') => ({
    itemId,
    sessionId,
    source: 'SEARCH' as const,
    timestamp,
  });
  const accepted = await execute(
    app,
    TrackImpressionsDocument,
    { events: [impression(itemIds[0]!), impression(itemIds[1]!)] },
    BROWSER,
  );
  expect(accepted.data?.trackImpressions.accepted).toBe(2);
  // A retry of the same batch: duplicates are not stored, yet counted here.
  await execute(app, TrackImpressionsDocument, { events: [impression(itemIds[0]!), impression(itemIds[1]!)] }, BROWSER);
  // Five bot events: two stored as audit rows (the budget), three only aggregated.
  const bots = await execute(
    app,
    TrackImpressionsDocument,
    { events: itemIds.map((id) => impression(id)) },
    { 'user-agent': 'curl/8.0' },
  );
  expect(bots.data?.trackImpressions.rejectedBots).toBe(5);
  await execute(app, TrackImpressionsDocument, { events: [impression('not-an-id')] }, BROWSER);
  await execute(app, TrackClicksDocument, { events: [impression(itemIds[4]!)] }, BROWSER);
  await app.services.tracking.flushAuditAggregates();

  const response = await execute(app, TrackingOutcomesDocument, { range: { last: 'PT2H' } }, analyst());
  expect(response.errors).toBeUndefined();
  const buckets = response.data!.trackingOutcomes;
  expect(buckets.length).toBeGreaterThanOrEqual(2);
  // Summed over the buckets, so that a run across the turn of an hour reads the same.
  const sum = (field: Exclude<keyof (typeof buckets)[number], 'bucketStart' | '__typename'>) =>
    buckets.reduce((total, bucket) => total + bucket[field], 0);
  expect({
    accepted: sum('accepted'),
    duplicate: sum('duplicate'),
    rateLimited: sum('rateLimited'),
    rejectedBot: sum('rejectedBot'),
    invalid: sum('invalid'),
    flagged: sum('flagged'),
  }).toEqual({ accepted: 2, duplicate: 2, rateLimited: 0, rejectedBot: 5, invalid: 1, flagged: 1 });
  // Hours, oldest first, zeros included.
  const starts = buckets.map((bucket) => Date.parse(bucket.bucketStart));
  expect(starts.every((start, index) => index === 0 || start - starts[index - 1]! === 3_600_000)).toBe(true);

  const daily = await execute(app, TrackingOutcomesDocument, { range: { last: 'P2D' }, granularity: 'DAY' }, analyst());
  expect(daily.data!.trackingOutcomes.reduce((sum, bucket) => sum + bucket.rejectedBot, 0)).toBe(5);
});

it('needs an ANALYST (or ADMIN) key: SELLER is FORBIDDEN, no key UNAUTHENTICATED', async () => {
  const seller = await execute(app, TrackingOutcomesDocument, {}, { authorization: `Bearer ${keys.SELLER}` });
  expect(errorCodes(seller)).toEqual(['FORBIDDEN']);
  expect(errorCodes(await execute(app, TrackingOutcomesDocument, {}))).toEqual(['UNAUTHENTICATED']);
});

it('refuses ranges longer than 7 days and malformed ranges, naming the field', async () => {
  const long = await execute(app, TrackingOutcomesDocument, { range: { last: 'P8D' } }, analyst());
  expect(errorCodes(long)).toEqual(['BAD_USER_INPUT']);
  expect(long.errors![0]!.extensions!.field).toBe('range');
  expect(
    (await execute(app, TrackingOutcomesDocument, { range: { last: 'P7D' } }, analyst())).data!.trackingOutcomes,
  ).toHaveLength(169);
  const bad = await execute(app, TrackingOutcomesDocument, { range: { last: 'soon' } }, analyst());
  expect(errorCodes(bad)).toEqual(['BAD_USER_INPUT']);
});
