/**
 * fast-check arbitraries for the fuzz suite: GraphQL documents generated from Gavel's schema
 * (valid-looking ones that reach the resolvers, and broken ones), hostile values for arguments
 * and variables, hostile HTTP requests and raw graphql-ws frame sequences.
 */
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

type Gen = fc.GeneratorValue;

/** Strings an attacker tries: unicode oddities, injection shapes, operator keys, control characters. */
const hostileStrings = [
  '',
  ' ',
  '\u0000',
  '\uFEFF',
  '\u202E' + 'gnp.exe',
  '🦄'.repeat(50),
  'e\u0301',
  '$where',
  '{"$gt": ""}',
  '$gt',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '%s%s%s%n',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9007199254740993',
  '0x7fffffff',
  '2026-02-30T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  '1970-01-01T00:00:00Z',
  'P9999999999Y',
  'PT0S',
  'P-1D',
  'XXX',
  'a'.repeat(10_000),
];

/** Numbers at and beyond every boundary a resolver or the driver might trip on. */
const hostileNumbers = [
  0,
  -0,
  -1,
  1,
  100,
  101,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  -(2 ** 53),
  1e21,
  1e308,
  5e-324,
  0.5,
  -0.000001,
];

/** A hostile or ordinary string (arbitrary unicode included). */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...hostileStrings),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }),
);

/** A hostile or ordinary number (JSON can carry neither NaN nor Infinity; their string forms are above). */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...hostileNumbers),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** An object whose keys are the ones prototype pollution uses. */
const pollutingObject: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    key: fc.constantFrom('__proto__', 'constructor', 'prototype', '$where', '$gt', 'toString'),
    value: fc.anything(),
  })
  .map(({ key, value }) => JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify({ polluted: value ?? true })}}`));

/** JSON nested `depth` levels deep (arrays or objects). */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Any JSON value a client could send as a variable, hostile shapes favoured. */
export const hostileJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  pollutingObject,
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 100, max: 3_000 }).map((depth) => JSON.parse(deepJson(depth, 'array'))),
  fc.integer({ min: 100, max: 3_000 }).map((depth) => JSON.parse(deepJson(depth, 'object'))),
  fc.integer({ min: 1_000, max: 200_000 }).map((size) => 'x'.repeat(size)),
  fc.array(fc.constant('tag'), { minLength: 100, maxLength: 5_000 }),
);

const name = fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,12}$/);

/** A GraphQL literal of `type`, mostly well-typed, sometimes wrong or hostile. */
function literal(g: Gen, type: GraphQLInputType, depth = 0): string {
  if (g(fc.integer, { min: 0, max: 19 }) === 0) return hostileLiteral(g);
  if (isNonNullType(type)) return literal(g, type.ofType, depth);
  if (g(fc.integer, { min: 0, max: 14 }) === 0) return 'null';
  if (isListType(type)) {
    const length = g(fc.integer, { min: 0, max: depth > 2 ? 1 : 4 });
    return `[${Array.from({ length }, () => literal(g, type.ofType, depth + 1)).join(', ')}]`;
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter(
      (field) => isNonNullType(field.type) || g(fc.boolean) || depth > 3,
    );
    return `{${fields.map((field) => `${field.name}: ${literal(g, field.type, depth + 1)}`).join(', ')}}`;
  }
  if (isEnumType(type)) {
    const values = type.getValues().map((value) => value.name);
    return g(fc.integer, { min: 0, max: 9 }) === 0 ? g(() => name) : g(fc.constantFrom, ...values);
  }
  if (isScalarType(type)) return JSON.stringify(scalarValue(g, type.name));
  return 'null';
}

/** A JSON value for a scalar: plausible most of the time. */
function scalarValue(g: Gen, scalar: string): unknown {
  const now = Date.now();
  switch (scalar) {
    case 'Int':
    case 'SafeInt':
      return g(() =>
        fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constantFrom(...hostileNumbers.filter(Number.isInteger))),
      );
    case 'Float':
      return g(() => hostileNumber);
    case 'Boolean':
      return g(fc.boolean);
    case 'DateTimeISO':
      return g(() =>
        fc.oneof(
          fc
            .integer({ min: -400 * 86_400_000, max: 400 * 86_400_000 })
            .map((offset) => new Date(now + offset).toISOString()),
          fc.constantFrom(...hostileStrings.filter((s) => /\d{4}|^$/.test(s))),
        ),
      );
    case 'Duration':
      return g(fc.constantFrom, 'P7D', 'PT24H', 'P89D', 'P1Y', 'P100000D', 'PT0S', 'P-1D', 'nonsense', '');
    case 'Currency':
      return g(fc.constantFrom, 'USD', 'EUR', 'XXX', 'usd', '', 'ZZZ');
    case 'ID':
      return g(() => fc.oneof(fc.stringMatching(/^[0-9a-f]{24}$/), hostileString));
    default:
      return g(() => hostileString);
  }
}

/** A literal of any kind, ignoring the expected type. */
function hostileLiteral(g: Gen): string {
  return g(() =>
    fc.oneof(
      hostileString.map((s) => JSON.stringify(s)),
      fc.constantFrom(...hostileNumbers).map((n) => (Object.is(n, -0) ? '-0' : String(n))),
      fc.constantFrom('true', 'null', 'NaN', 'Infinity', '{}', '[]', '$undeclared', '{__proto__: {polluted: true}}'),
      fc.integer({ min: 50, max: 400 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
    ),
  );
}

interface DocumentState {
  /** Variable definitions collected while generating (`$v0: Int`). */
  readonly variables: string[];
}

/** A selection set on `type`, `depth` levels deep at most. */
function selection(
  g: Gen,
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  depth: number,
  state: DocumentState,
): string {
  const fields = Object.values(type.getFields());
  const count = g(fc.integer, { min: 1, max: Math.min(4, fields.length) });
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    const roll = g(fc.integer, { min: 0, max: 29 });
    if (roll === 0) parts.push('__typename');
    else if (roll === 1)
      parts.push(g(() => name)); // unknown field: validation must answer
    else if (roll === 2) parts.push(`...on ${type.name} { __typename }`);
    else parts.push(fieldSelection(g, schema, g(fc.constantFrom, ...fields), depth, state));
  }
  return `{ ${parts.join(' ')} }`;
}

function fieldSelection(
  g: Gen,
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  depth: number,
  state: DocumentState,
): string {
  const alias = g(fc.integer, { min: 0, max: 5 }) === 0 ? `${g(() => name)}: ` : '';
  const args = field.args
    .filter((arg) => isNonNullType(arg.type) || g(fc.boolean))
    .map((arg) => {
      // Sometimes through a variable, whose value the request then carries (or omits).
      if (g(fc.integer, { min: 0, max: 3 }) === 0) {
        const variable = `v${state.variables.length}`;
        state.variables.push(`$${variable}: ${String(arg.type)}`);
        return `${arg.name}: $${variable}`;
      }
      return `${arg.name}: ${literal(g, arg.type)}`;
    });
  const directive = g(
    fc.constantFrom,
    '',
    '',
    '',
    ' @include(if: true)',
    ' @skip(if: false)',
    ' @deprecated',
    ' @nope',
  );
  const named = getNamedType(field.type);
  let sub = '';
  if (isObjectType(named)) sub = depth > 0 ? selection(g, schema, named, depth - 1, state) : '{ __typename }';
  return `${alias}${field.name}${args.length ? `(${args.join(', ')})` : ''}${directive} ${sub}`;
}

/** A generated operation and the variables sent with it. */
export interface GeneratedOperation {
  readonly kind: 'query' | 'mutation' | 'subscription';
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

/**
 * An operation generated from the schema: a root type, a random selection with arguments (literal
 * or through variables), aliases, directives and, now and then, unknown fields, wrong types and
 * hostile values; variables get plausible or hostile JSON.
 */
export function operationFrom(schema: GraphQLSchema): fc.Arbitrary<GeneratedOperation> {
  return fc.gen().map((g) => {
    const kind = g(
      fc.constantFrom,
      'query',
      'query',
      'query',
      'mutation',
      'subscription',
    ) as GeneratedOperation['kind'];
    const root =
      kind === 'query'
        ? schema.getQueryType()
        : kind === 'mutation'
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    const state: DocumentState = { variables: [] };
    const body = selection(g, schema, root!, g(fc.integer, { min: 0, max: 5 }), state);
    const header = state.variables.length ? `(${state.variables.join(', ')})` : '';
    const variables: Record<string, unknown> = {};
    state.variables.forEach((_definition, index) => {
      if (g(fc.integer, { min: 0, max: 4 }) > 0) variables[`v${index}`] = g(() => hostileJsonValue);
    });
    return { kind, query: `${kind} ${header} ${body}`, variables };
  });
}

/** Documents that are hostile by shape rather than by schema: broken syntax, abuse of the grammar. */
export const hostileDocument: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    '{',
    '}',
    '{ __typename',
    'query { ...A } fragment A on Query { ...A }',
    'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
    'query A { __typename } query A { __typename }',
    'subscription { a: itemAnalyticsUpdated(itemIds: []) { at } b: itemAnalyticsUpdated(itemIds: []) { at } }',
    '{ __schema { types { name } } }',
    '{ __type(name: "Query") { fields { name } } }',
    '{ auctionItems(first: 100) { edges { node { analytics(range: {last: "P89D"}) { timeSeries(granularity: HOUR) { at } } } } } }',
    '{ auctionItems(first: -1) { totalCount } }',
    '{ auctionItems(after: "not-a-cursor") { totalCount } }',
    '{ auctionItems(first: 1, last: 1) { totalCount } }',
    '{ auctionItem(id: "000000000000000000000000") { id } }',
    'mutation { startSession { sessionId } }',
    '{ __typename @include(if: true) @include(if: true) }',
    '# only a comment',
    '"""doc""" { __typename }',
  ),
  fc.integer({ min: 1, max: 6_000 }).map((n) => `{ ${'a: __typename '.repeat(n)}}`),
  fc.integer({ min: 10, max: 100_000 }).map((n) => `${'{ a '.repeat(n)}${'}'.repeat(n)}`),
  fc
    .integer({ min: 10, max: 6_000 })
    .map(
      (n) =>
        `query { ...F0 } ${Array.from({ length: n }, (_, i) => `fragment F${i} on Query { __typename ${i + 1 < n ? `...F${i + 1}` : ''} }`).join(' ')}`,
    ),
  fc.integer({ min: 10, max: 3_000 }).map((n) => `{ __typename ${'@include(if: true) '.repeat(n)}}`),
  fc.integer({ min: 100, max: 100_000 }).map((n) => `{ auctionItems(query: "${'x'.repeat(n)}") { totalCount } }`),
);
