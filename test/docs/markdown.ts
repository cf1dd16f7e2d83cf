/**
 * Reads the fenced code blocks of a Markdown document, each with the `<!-- doc-test: … -->`
 * directive written right above it, and pairs them into the examples that examples.test.ts runs.
 *
 * Conventions (also in docs/development.md, "The documentation is tested"):
 *
 * - A ```graphql block is one operation, run against the server (a subscription over graphql-ws,
 *   its first message). The ```json variables block right after it holds its variables, and the
 *   ```json block after those (or right after the operation) the answer it gets.
 * - A ```sh / ```bash / ```shell block runs in one bash session per document, in document order,
 *   so shell variables carry over from block to block as in a reader's terminal. The ```json or
 *   ```text block right after it is what the terminal shows: ```json for the block's output as one
 *   JSON value, ```text line by line (with the lines background jobs print meanwhile).
 * - `<!-- doc-test: no-run REASON -->` right above a block: not run, for the reason given.
 * - `<!-- doc-test: key=ROLE -->` above a ```graphql block: sent with an API key of that role.
 * - `<!-- doc-test: file=NAME -->` above a code block: written to NAME in the session's folder.
 * - `<!-- doc-test: loose=FIELD,… -->` above an example: those fields' values depend on timing, so
 *   only their type is compared (the rest of the answer still is, exactly).
 */

/** Languages whose blocks are examples: run, or marked `no-run` with a reason. */
export const EXAMPLE_LANGUAGES: ReadonlySet<string> = new Set([
  'graphql',
  'gql',
  'sh',
  'bash',
  'shell',
  'console',
  'js',
  'javascript',
  'mjs',
  'ts',
  'typescript',
  'json',
]);

export const SHELL_LANGUAGES: ReadonlySet<string> = new Set(['sh', 'bash', 'shell']);
export const SCRIPT_LANGUAGES: ReadonlySet<string> = new Set(['js', 'javascript', 'mjs']);

/** What a `<!-- doc-test: … -->` comment says about the block below it. */
export interface Directive {
  /** Not run; why. */
  readonly noRun?: string;
  /** Role whose API key a ```graphql block is sent with. */
  readonly key?: string;
  /** File name a code block is written to. */
  readonly file?: string;
  /** Fields whose values depend on timing (e.g. counts flushed every few seconds): only their type is compared. */
  readonly loose?: readonly string[];
}

/** One fenced code block. */
export interface Block {
  readonly doc: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** First word of the info string, lower-cased (`''` when none). */
  readonly lang: string;
  /** Further words of the info string (e.g. `variables`). */
  readonly flags: readonly string[];
  readonly content: string;
  readonly directive: Directive;
}

/** Where a block is, for messages. */
export function where(block: Block): string {
  return `${block.doc}:${block.line} (\`\`\`${[block.lang, ...block.flags].join(' ')})`;
}

const DIRECTIVE = /^<!--\s*doc-test:(.*?)-->\s*$/;

function parseDirective(text: string, doc: string, line: number): Directive {
  const body = text.trim();
  const noRun = /^no-run(?:\s+(.*))?$/s.exec(body);
  if (noRun) {
    if (!noRun[1]?.trim()) throw new Error(`${doc}:${line}: doc-test no-run needs a reason`);
    return { noRun: noRun[1].trim() };
  }
  const directive: { key?: string; file?: string; loose?: string[] } = {};
  for (const token of body.split(/\s+/).filter(Boolean)) {
    const [name, value] = token.split('=', 2);
    if ((name === 'key' || name === 'file') && value) directive[name] = value;
    else if (name === 'loose' && value) directive.loose = value.split(',');
    else throw new Error(`${doc}:${line}: unknown doc-test directive ${JSON.stringify(token)}`);
  }
  return directive;
}

/** Every fenced block of `markdown`, in order, with its directive. */
export function parseBlocks(markdown: string, doc: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let pending: { directive: Directive; line: number } | undefined;
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index]!;
    const directive = DIRECTIVE.exec(text.trim());
    if (directive) {
      if (pending) throw new Error(`${doc}:${pending.line}: doc-test comment not followed by a code block`);
      pending = { directive: parseDirective(directive[1]!, doc, index + 1), line: index + 1 };
      continue;
    }
    if (/^\s*<!--.*doc-test/.test(text)) throw new Error(`${doc}:${index + 1}: malformed doc-test comment`);
    const fence = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(text);
    if (!fence) {
      if (pending && text.trim() !== '')
        throw new Error(`${doc}:${pending.line}: doc-test comment not followed by a code block`);
      continue;
    }
    const [, indent, marker, info] = fence;
    const [lang = '', ...flags] = info!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !lines[end]!.trim().startsWith(marker!)) {
      body.push(lines[end]!.startsWith(indent!) ? lines[end]!.slice(indent!.length) : lines[end]!);
      end++;
    }
    if (end >= lines.length) throw new Error(`${doc}:${index + 1}: unclosed code block`);
    blocks.push({
      doc,
      line: index + 1,
      lang: lang.toLowerCase(),
      flags,
      content: body.join('\n'),
      directive: pending?.directive ?? {},
    });
    pending = undefined;
    index = end;
  }
  if (pending) throw new Error(`${doc}:${pending.line}: doc-test comment not followed by a code block`);
  return blocks;
}

/** An example to run, with the blocks that belong to it. */
export type Example =
  | { readonly kind: 'graphql'; readonly block: Block; readonly variables?: Block; readonly expected?: Block }
  | { readonly kind: 'shell'; readonly block: Block; readonly expected?: Block }
  | { readonly kind: 'file'; readonly block: Block; readonly name: string }
  | { readonly kind: 'skipped'; readonly block: Block; readonly reason: string };

const isJson = (block: Block | undefined, flag?: string): block is Block =>
  block !== undefined &&
  block.lang === 'json' &&
  !block.directive.noRun &&
  (flag === undefined ? block.flags.length === 0 : block.flags.includes(flag));

/**
 * Pairs a run-tested document's blocks into examples, in document order. Throws for an example
 * that can be neither run nor is marked `no-run` (nothing is skipped silently), and for an answer
 * or variables block that belongs to no example.
 */
export function examplesOf(blocks: readonly Block[]): Example[] {
  const examples: Example[] = [];
  for (let index = 0; index < blocks.length; index++) {
    const block = blocks[index]!;
    const next = blocks[index + 1];
    if (block.directive.noRun) {
      examples.push({ kind: 'skipped', block, reason: block.directive.noRun });
    } else if (block.directive.file) {
      examples.push({ kind: 'file', block, name: block.directive.file });
    } else if (block.lang === 'graphql' || block.lang === 'gql') {
      const variables = isJson(next, 'variables') ? next : undefined;
      const answer = blocks[index + (variables ? 2 : 1)];
      const expected = isJson(answer) ? answer : undefined;
      examples.push({ kind: 'graphql', block, variables, expected });
      index += (variables ? 1 : 0) + (expected ? 1 : 0);
    } else if (SHELL_LANGUAGES.has(block.lang)) {
      const output = next !== undefined && (next.lang === 'json' || next.lang === 'text');
      const expected = output && !next.directive.noRun && next.flags.length === 0 ? next : undefined;
      examples.push({ kind: 'shell', block, expected });
      if (expected) index++;
    } else if (block.lang === 'json') {
      throw new Error(
        `${where(block)}: a JSON block that follows no example (variables go in \`\`\`json variables right after a \`\`\`graphql block); run it or mark it <!-- doc-test: no-run REASON -->`,
      );
    } else if (EXAMPLE_LANGUAGES.has(block.lang)) {
      throw new Error(
        `${where(block)}: this example cannot be run (a script needs <!-- doc-test: file=NAME -->); mark it <!-- doc-test: no-run REASON -->`,
      );
    } else if (/\bcurl\s/.test(block.content)) {
      throw new Error(`${where(block)}: a curl command outside a \`\`\`sh block is never run; put it in one`);
    }
  }
  return examples;
}

/**
 * For a document whose examples are not run: its API examples (```graphql blocks, shell blocks
 * calling curl) must say why, so that none is mistaken for a tested one.
 */
export function unrunApiExamples(blocks: readonly Block[]): Block[] {
  return blocks.filter(
    (block) =>
      !block.directive.noRun &&
      (block.lang === 'graphql' || block.lang === 'gql' || (block.lang !== 'json' && /\bcurl\s/.test(block.content))),
  );
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a document's headings (duplicates numbered as GitHub does). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Prose of a document: the code blocks removed (so their contents are not taken for links). */
export function prose(markdown: string): string {
  return markdown.replace(/^(\s*)(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\2\s*$/gm, '');
}
