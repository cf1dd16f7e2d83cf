import { Kind, parse, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Compares an answer with the one a document shows. What must agree: every object's keys (none
 * missing, none extra), null where the document shows null and non-null where it shows a value,
 * the JSON type of every value, arrays empty where the document's is empty (else non-empty, each
 * element shaped like the document's), and every value exactly, except ISO times (any time) and
 * ids and signed tokens (sessions, cursors), which change from run to run: the document's value is
 * recorded in `learned` with the server's, so that later examples written with the document's
 * values are sent with the real ones (and the same id shown twice must be the same item).
 *
 * @returns the differences, one line each (empty when the answer matches)
 */
export function compareShape(
  expected: unknown,
  actual: unknown,
  learned?: Map<string, string>,
  loose: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  walk(expected, actual, '$', problems, { learned, loose });
  return problems;
}

interface WalkOptions {
  readonly learned?: Map<string, string>;
  /** Keys whose values are compared by type only. */
  readonly loose: readonly string[];
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z$/;
/** Values that change from run to run: object ids and signed tokens (sessions, cursors). */
const VOLATILE = /^(?:[0-9a-f]{24}|[A-Za-z0-9_-]{12,}\.[A-Za-z0-9_-]{8,}|[A-Za-z0-9_-]{40,})$/;

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function walk(expected: unknown, actual: unknown, path: string, problems: string[], options: WalkOptions): void {
  const { learned } = options;
  if (kind(expected) !== kind(actual)) {
    problems.push(`${path}: the document shows ${show(expected)}, the server answered ${show(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    const list = actual as unknown[];
    if (expected.length === 0 && list.length > 0)
      problems.push(`${path}: the document shows [], the server answered ${show(list)}`);
    if (expected.length > 0 && list.length === 0)
      problems.push(`${path}: the document shows a non-empty list, the server answered []`);
    list.forEach((item, index) => {
      if (expected.length > 0)
        walk(expected[Math.min(index, expected.length - 1)], item, `${path}[${index}]`, problems, options);
    });
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    const object = actual as Record<string, unknown>;
    const shown = Object.keys(expected);
    for (const key of shown)
      if (!(key in object)) problems.push(`${path}.${key}: shown in the document, missing from the answer`);
    for (const key of Object.keys(object))
      if (!shown.includes(key))
        problems.push(`${path}.${key}: in the answer (${show(object[key])}), not in the document`);
    for (const key of shown) {
      if (!(key in object)) continue;
      const value = (expected as Record<string, unknown>)[key];
      if (options.loose.includes(key) && (value === null || typeof value !== 'object')) {
        if (kind(value) !== kind(object[key]))
          problems.push(`${path}.${key}: the document shows ${show(value)}, the server answered ${show(object[key])}`);
      } else walk(value, object[key], `${path}.${key}`, problems, options);
    }
    return;
  }
  if (typeof expected === 'string') {
    const text = actual as string;
    if (expected === text || (ISO_TIME.test(expected) && ISO_TIME.test(text))) return;
    if (VOLATILE.test(expected)) {
      const known = learned?.get(expected);
      if (known !== undefined && known !== text)
        problems.push(
          `${path}: the document shows ${show(expected)} for ${show(known)} earlier, the server answered ${show(text)}`,
        );
      learned?.set(expected, text);
      return;
    }
    if (learned && substitute(expected, learned) === text) return;
    problems.push(`${path}: the document shows ${show(expected)}, the server answered ${show(text)}`);
    return;
  }
  if (expected !== actual)
    problems.push(`${path}: the document shows ${show(expected)}, the server answered ${show(actual)}`);
}

/** Replaces every value in `learned` (a document's example id) by the value the server gave. */
export function substitute(text: string, learned: ReadonlyMap<string, string>): string {
  let result = text;
  for (const [shown, real] of learned) result = result.split(shown).join(real);
  return result;
}

/** The single operation of a document (documents of several operations are refused). */
export function onlyOperation(document: DocumentNode): OperationDefinitionNode {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.length !== 1)
    throw new Error(`an example holds one operation (found ${operations.length}); split it into several blocks`);
  return operations[0]!;
}

/**
 * Checks that `data` holds every field the operation selects, at every level (aliases by their
 * alias), so that an answer missing a selected field is caught even where no answer is shown.
 *
 * @returns the missing fields' paths
 */
export function missingSelections(query: string, data: unknown): string[] {
  const document = parse(query);
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition.selectionSet] as const] : [],
    ),
  );
  const missing: string[] = [];
  const visit = (selectionSet: SelectionSetNode, value: unknown, path: string): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(selectionSet, item, `${path}[${index}]`));
      return;
    }
    const object = value as Record<string, unknown>;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, value, path);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment, value, path);
      } else {
        const key = selection.alias?.value ?? selection.name.value;
        if (!(key in object)) missing.push(`${path}.${key}`);
        else if (selection.selectionSet) visit(selection.selectionSet, object[key], `${path}.${key}`);
      }
    }
  };
  visit(onlyOperation(document).selectionSet, data, '$.data');
  return missing;
}

/** The `extensions.code` of each error of a GraphQL answer. */
export function errorCodesOf(answer: unknown): string[] {
  const errors = (answer as { errors?: Array<{ extensions?: { code?: string } }> } | null)?.errors ?? [];
  return errors.map((error) => error.extensions?.code ?? '(no code)');
}

/**
 * A text line as a reader compares it: ids and ISO times stand for any id and any time.
 */
export function normalizeLine(line: string): string {
  return line
    .trimEnd()
    .replace(/\b[0-9a-f]{24}\b/g, '<id>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>');
}
