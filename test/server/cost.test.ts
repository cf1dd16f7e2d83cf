import 'reflect-metadata';
import {
  getIntrospectionQuery,
  specifiedRules,
  validate,
  getNamedType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  type GraphQLType,
} from 'graphql';
import { loadConfig } from '../../src/config';
import { buildGavelSchema } from '../../src/graphql/schema';
import {
  BOUNDED_BY_DESIGN,
  PRICED_COORDINATES,
  createRequestPolicy,
  type RequestPolicy,
} from '../../src/server/limits';

/** The cost model on its own (pure): the prices docs/security.md "Query limits" quotes, and that every list is priced. */

let policy: RequestPolicy;
let schema: Awaited<ReturnType<typeof buildGavelSchema>>;
const config = loadConfig({});

beforeAll(async () => {
  schema = await buildGavelSchema();
  policy = createRequestPolicy(
    schema,
    { ...config.limits, analyticsMaxRangeHours: config.analyticsMaxRangeDays * 24 },
    { introspection: true, production: false },
  );
});

const cost = (query: string, variables?: Record<string, unknown>) => policy.cost({ document: parse(query), variables });
const facets = 'facets { category { value count } status { value count } priceBands { min max count } }';
const page = (first: number, series: string) =>
  `{ auctionItems(first: ${first}) { totalCount ${facets} pageInfo { hasNextPage } edges { cursor node { id title price { amount } analytics(range: { last: "P7D" }) { impressions clicks ${series} } } } } }`;

describe('cost model', () => {
  it("prices the web app's search page (50 items, 7-day daily analytics) well under the default limit", () => {
    const value = cost(page(50, 'timeSeries(granularity: DAY) { bucketStart impressions }'));
    expect(value).toBeGreaterThan(500);
    expect(value).toBeLessThan(config.limits.maxCost / 2);
  });

  it('multiplies by the page size (first or last, 20 by default)', () => {
    const item = '{ edges { node { id price { amount } } } }';
    expect(cost(`{ auctionItems(first: 100) ${item} }`)).toBeGreaterThan(
      4 * cost(`{ auctionItems(first: 20) ${item} }`),
    );
    expect(cost(`{ auctionItems(last: 20) ${item} }`)).toBe(cost(`{ auctionItems ${item} }`));
    expect(cost('query ($n: Int) { auctionItems(first: $n) { edges { node { id } } } }', { n: 100 })).toBe(
      cost('{ auctionItems(first: 100) { edges { node { id } } } }'),
    );
  });

  it('charges totalCount and facets once per search, not per item', () => {
    const base = cost('{ auctionItems(first: 50) { edges { node { id } } } }');
    expect(cost('{ auctionItems(first: 50) { totalCount edges { node { id } } } }')).toBe(
      base + config.limits.totalCountCost,
    );
    expect(cost(`{ auctionItems(first: 50) { ${facets} edges { node { id } } } }`)).toBeGreaterThan(
      base + config.limits.facetsCost,
    );
  });

  it('charges analytics by range length × granularity', () => {
    const series = (range: string, granularity: string) =>
      cost(
        `{ auctionItem(id: "x") { analytics(range: ${range}) { timeSeries(granularity: ${granularity}) { bucketStart } } } }`,
      );
    const hourly89 = series('{ last: "P89D" }', 'HOUR');
    expect(hourly89).toBeGreaterThan(89 * 24);
    expect(series('{ last: "P89D" }', 'DAY')).toBeLessThan(hourly89 / 20);
    expect(series('{ last: "P7D" }', 'HOUR')).toBeLessThan(hourly89 / 10);
    // An absolute range costs as much as the same relative one.
    const from = new Date(Date.now() - 89 * 86_400_000).toISOString();
    expect(Math.abs(series(`{ from: "${from}" }`, 'HOUR') - hourly89)).toBeLessThanOrEqual(2);
    // A range the resolver would refuse is priced at the longest allowed, not at zero.
    expect(series('{ last: "P900D" }', 'HOUR')).toBeGreaterThanOrEqual(hourly89);
  });

  it('refuses with QUERY_TOO_COMPLEX, cost and maxCost', () => {
    const document = parse(page(100, 'timeSeries(granularity: HOUR) { bucketStart }').replace('P7D', 'P89D'));
    expect(() => policy.assertCost({ document }, null)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', maxCost: config.limits.maxCost }),
      }),
    );
  });

  it('takes the limit from the role: GRAPHQL_MAX_COST anonymous, GRAPHQL_MAX_COST_<ROLE> with a key', () => {
    expect(config.limits.maxCostByRole).toEqual({ ADMIN: 25_000, ANALYST: 25_000, SELLER: 10_000, INGEST: 5_000 });
    expect(policy.maxCost(null)).toBe(5_000);
    expect(policy.maxCost('SELLER')).toBe(10_000);
    // Raising the public limit raises the role defaults with it; an explicit role limit wins.
    const raised = loadConfig({ GRAPHQL_MAX_COST: '40000', GRAPHQL_MAX_COST_ANALYST: '3000' }).limits.maxCostByRole;
    expect(raised).toEqual({ ADMIN: 40_000, ANALYST: 3_000, SELLER: 40_000, INGEST: 40_000 });
    expect(() => loadConfig({ GRAPHQL_MAX_COST_SELLER: '0' })).toThrow(/GRAPHQL_MAX_COST_SELLER/);
    const document = parse(page(50, 'timeSeries(granularity: HOUR) { bucketStart }')); // about 8,800
    expect(() => policy.assertCost({ document }, 'ANALYST')).not.toThrow();
    expect(() => policy.assertCost({ document }, null)).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ maxCost: 5_000 }) }),
    );
  });

  it('prices each set of variables of one document, however often the same document is sent', () => {
    // Apollo hands every request of one query text the same parsed document; the policy remembers
    // recent walks by document and variables, never one set's price for another.
    const document = parse(
      'query ($n: Int) { auctionItems(first: $n) { edges { node { id analytics(range: { last: "P7D" }) { timeSeries(granularity: HOUR) { bucketStart } } } } } }',
    );
    const refused = expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) });
    for (let round = 0; round < 2; round++) {
      expect(policy.assertCost({ document, variables: { n: 5 } }, null)).toBeLessThan(5_000);
      expect(() => policy.assertCost({ document, variables: { n: 100 } }, null)).toThrow(refused);
      expect(policy.assertCost({ document, variables: { n: 100 } }, 'ADMIN')).toBeGreaterThan(5_000);
      expect(() => policy.assertCost({ document, variables: { n: 100 } }, null)).toThrow(refused);
    }
    // Variables deeper than JSON.stringify recurses, or megabytes of them, are priced as ever (not remembered).
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = [deep];
    for (const extra of [deep, 'x'.repeat(5_000_000), Array.from({ length: 200_000 }, (_, i) => i)])
      expect(policy.assertCost({ document, variables: { n: 5, extra } }, null)).toBeLessThan(5_000);
    // Variables that do not coerce are left to execution, also the second time.
    expect(policy.assertCost({ document, variables: { n: 'many' } }, null)).toBeUndefined();
    expect(policy.assertCost({ document, variables: { n: 'many' } }, null)).toBeUndefined();
  });

  it('caps each timeSeries at ANALYTICS_MAX_POINTS (range hours for HOUR, days for DAY), whatever the role', () => {
    const series = (granularity: string, alias = '') =>
      `${alias}timeSeries(granularity: ${granularity}) { bucketStart }`;
    const item = (last: string, selection: string) =>
      parse(`{ auctionItem(id: "x") { analytics(range: { last: "${last}" }) { ${selection} } } }`);
    const refusal = (last: string, selection: string) => {
      try {
        policy.assertCost({ document: item(last, selection) }, 'ADMIN');
        return undefined;
      } catch (error) {
        return (error as { extensions: Record<string, unknown> }).extensions;
      }
    };
    expect(config.limits.analyticsMaxPoints).toBe(1_000);
    // 41 days hourly: 985 points; 42 days: 1,009.
    expect(refusal('P41D', series('HOUR'))).toBeUndefined();
    expect(refusal('P42D', series('HOUR'))).toMatchObject({
      code: 'RANGE_TOO_LARGE',
      points: 42 * 24 + 1,
      maxPoints: 1_000,
    });
    // Daily over the longest range is a few dozen points.
    expect(refusal('P90D', series('DAY'))).toBeUndefined();
    // Per field: two 30-day hourly series (721 points each) pass, though 1,442 points together.
    expect(refusal('P30D', `${series('HOUR', 'a: ')} ${series('HOUR', 'b: ')}`)).toBeUndefined();
    // A daily sibling does not hide an hourly series.
    expect(refusal('P60D', `${series('DAY', 'a: ')} ${series('HOUR', 'b: ')}`)).toMatchObject({
      code: 'RANGE_TOO_LARGE',
    });
    // The longest allowed range hourly is refused; a range the resolver refuses anyway (too long,
    // unreadable) is left to it, so its BAD_USER_INPUT says what is wrong.
    expect(refusal('P90D', series('HOUR'))).toMatchObject({ code: 'RANGE_TOO_LARGE' });
    expect(refusal('P120D', series('HOUR'))).toBeUndefined();
    expect(refusal('P1M', series('HOUR'))).toBeUndefined();
    expect(() => loadConfig({ ANALYTICS_MAX_POINTS: '0' })).toThrow(/ANALYTICS_MAX_POINTS/);
  });

  it('prices every field that returns a list of objects or takes arguments, or says why it needs no price', () => {
    const listOfObjects = (type: GraphQLType): boolean => {
      const inner = isNonNullType(type) ? type.ofType : type;
      return isListType(inner) && !isLeafType(getNamedType(inner));
    };
    const unpriced: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        if (!listOfObjects(field.type) && field.args.length === 0) continue;
        if (!PRICED_COORDINATES.includes(coordinate) && !(coordinate in BOUNDED_BY_DESIGN)) unpriced.push(coordinate);
      }
    }
    expect(unpriced).toEqual([]);
  });

  it('lets the standard introspection query (GraphiQL, codegen) through the shape limits when introspection is on', () => {
    const document = policy.parse(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true }));
    expect(document).not.toBeInstanceOf(Error);
    if (document instanceof Error) return;
    expect(validate(schema, document, [...specifiedRules, ...policy.validationRules])).toEqual([]);
  });
});
