import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ROLES, type Role } from '../../src/auth/apiKey';
import { startTestApp, type TestApp } from '../support/testApp';
import { anchors, examplesOf, parseBlocks, prose, unrunApiExamples, where, type Block, type Example } from './markdown';
import { RecordingProxy, type Exchange } from './proxy';
import { compareShape, errorCodesOf, missingSelections, normalizeLine, onlyOperation, substitute } from './shape';
import { ShellSession } from './shell';

/**
 * The documentation is tested: every example of README.md, docs/api.md and docs/search.md runs, in document
 * order, against a real server, and its answer must have the shape the document shows (see
 * markdown.ts for the conventions). README.md runs against a development server (no API keys, a
 * demo catalog), as after `npm start`; docs/api.md against a production one (keys enforced,
 * signed sessions required), with `$GAVEL_KEY` an ADMIN key. Every document is also checked for
 * broken links, setting names the code does not know, and unmarked examples that would not run.
 */

const ROOT = path.join(__dirname, '..', '..');
const README = 'README.md';
const API = 'docs/api.md';
const SEARCH = 'docs/search.md';
const DOCUMENTS = [
  README,
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
/** Documents whose examples run. */
const RUN = [README, API, SEARCH];
/** The user agent tracking examples are sent with (tracking refuses bots and clients without one). */
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

const read = (doc: string): string => readFileSync(path.join(ROOT, doc), 'utf8');

/** Runs one document's examples in order against `app`; throws at the first that fails. */
async function runDocument(doc: string, app: TestApp, keys: Partial<Record<Role, string>>): Promise<number> {
  const examples = examplesOf(parseBlocks(read(doc), doc));
  const dir = path.join(
    ROOT,
    '.cache',
    'doc-examples',
    `${path.basename(doc, '.md')}-${randomBytes(4).toString('hex')}`,
  );
  mkdirSync(dir, { recursive: true });
  const origin = new URL(app.url).origin;
  const proxy = new RecordingProxy(origin);
  const proxied = await proxy.start();
  // What the reader types, pointed at this server: `localhost:4000` through the recording proxy,
  // websockets straight to the server.
  const local = (text: string) =>
    text.replace(/ws:\/\/localhost:4000/g, origin.replace(/^http/, 'ws')).replace(/localhost:4000/g, proxied);
  const shell = new ShellSession(dir, {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    LANG: 'C.UTF-8',
    ...(keys.ADMIN ? { GAVEL_KEY: keys.ADMIN } : {}),
  });
  const learned = new Map<string, string>();
  let ran = 0;
  try {
    for (const example of examples) {
      try {
        if (example.kind === 'skipped') continue;
        ran++;
        if (example.kind === 'file') writeFileSync(path.join(dir, example.name), local(example.block.content));
        else if (example.kind === 'graphql') await runGraphql(example, app, keys, learned);
        else await runShell(example, shell, proxy, local, learned);
      } catch (error) {
        throw new Error(`${where(example.block)}:\n${(error as Error).message}\n\n${example.block.content}`);
      }
    }
  } finally {
    shell.close();
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return ran;
}

/** The answer a document shows after an example, parsed. */
function shown(block: Block | undefined): unknown {
  if (!block) return undefined;
  try {
    return JSON.parse(block.content) as unknown;
  } catch (error) {
    throw new Error(`${where(block)}: not JSON: ${(error as Error).message}`);
  }
}

/** Problems of one GraphQL answer: errors the document does not show, and missing selections. */
function answerProblems(query: string | undefined, answer: unknown, allowedCodes: readonly string[]): string[] {
  const problems = errorCodesOf(answer)
    .filter((code) => !allowedCodes.includes(code))
    .map((code) => `an error the document does not show: ${code}`);
  const data = (answer as { data?: unknown } | null)?.data;
  if (query && data)
    problems.push(...missingSelections(query, data).map((field) => `selected, not answered: ${field}`));
  return problems;
}

function fail(problems: readonly string[], answer: unknown): void {
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\nanswer: ${JSON.stringify(answer, null, 2)}`);
}

async function runGraphql(
  example: Extract<Example, { kind: 'graphql' }>,
  app: TestApp,
  keys: Partial<Record<Role, string>>,
  learned: Map<string, string>,
): Promise<void> {
  const query = substitute(example.block.content, learned);
  const variables = example.variables
    ? (JSON.parse(substitute(example.variables.content, learned)) as Record<string, unknown>)
    : undefined;
  const role = example.block.directive.key;
  if (role !== undefined && !(ROLES as readonly string[]).includes(role)) throw new Error(`unknown key role ${role}`);
  const key = role === undefined ? undefined : keys[role as Role];
  if (role !== undefined && !key) throw new Error(`no ${role} key on this server`);
  const operation = onlyOperation(parse(query));
  const answer =
    operation.operation === 'subscription'
      ? await firstMessage(app, query, variables, key)
      : await (
          await fetch(app.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'user-agent': BROWSER,
              ...(key ? { authorization: `Bearer ${key}` } : {}),
            },
            body: JSON.stringify({ query, variables }),
          })
        ).json();
  const expected = shown(example.expected);
  const problems = answerProblems(query, answer, errorCodesOf(expected));
  if (expected !== undefined) problems.push(...compareShape(expected, answer, learned, example.block.directive.loose));
  fail(problems, answer);
}

/** A subscription's first message over graphql-ws (errors as the answer's `errors`). */
async function firstMessage(
  app: TestApp,
  query: string,
  variables: Record<string, unknown> | undefined,
  key: string | undefined,
): Promise<unknown> {
  const client = createClient({
    url: app.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const iterator = client.iterate({ query, variables })[Symbol.asyncIterator]();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no subscription message within 10 s')), 10_000);
    });
    try {
      const next = await Promise.race([iterator.next(), timeout]);
      await iterator.return?.();
      return next.value;
    } catch (error) {
      if (Array.isArray(error)) return { errors: error };
      throw error;
    }
  } finally {
    clearTimeout(timer);
    await client.dispose();
  }
}

/** The GraphQL document of a proxied request, if it is one. */
function requestedQuery(exchange: Exchange): string | undefined {
  const url = new URL(exchange.url, 'http://proxy');
  if (!url.pathname.startsWith('/graphql')) return undefined;
  if (exchange.method === 'GET') return url.searchParams.get('query') ?? undefined;
  try {
    return (JSON.parse(exchange.requestBody) as { query?: string }).query;
  } catch {
    return undefined;
  }
}

async function runShell(
  example: Extract<Example, { kind: 'shell' }>,
  shell: ShellSession,
  proxy: RecordingProxy,
  local: (text: string) => string,
  learned: Map<string, string>,
): Promise<void> {
  const script = local(substitute(example.block.content, learned));
  proxy.take();
  const run = await shell.run(script, 60_000);
  const exchanges = proxy.take();
  const expected = example.expected?.lang === 'json' ? shown(example.expected) : undefined;
  const allowed = errorCodesOf(expected);
  const output = `\n--- stdout\n${run.stdout}${run.stderr ? `\n--- stderr\n${run.stderr}` : ''}`;
  if (/\bcurl\s/.test(example.block.content) && exchanges.length === 0)
    throw new Error(`curl reached no server: does it call localhost:4000?${output}`);
  // Every answer the commands got, also those piped into jq and never shown.
  for (const exchange of exchanges) {
    const context = `${exchange.method} ${exchange.url} ${exchange.requestBody}\n→ ${exchange.status} ${exchange.responseBody}`;
    const query = requestedQuery(exchange);
    if (query === undefined) {
      if (exchange.status >= 400) throw new Error(`HTTP ${exchange.status}: ${context}`);
      continue;
    }
    let answer: unknown;
    try {
      answer = JSON.parse(exchange.responseBody);
    } catch {
      throw new Error(`not a GraphQL answer: ${context}`);
    }
    const problems = answerProblems(query, answer, allowed);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${context}`);
  }
  if (example.expected?.lang === 'json') {
    let actual: unknown;
    try {
      actual = JSON.parse(run.stdout);
    } catch {
      throw new Error(`the document shows JSON; the commands printed something else${output}`);
    }
    const problems = compareShape(expected, actual, learned, example.block.directive.loose);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}${output}`);
  } else if (example.expected) {
    await compareTerminal(example.expected, run.stdout, shell);
  }
}

/**
 * Compares what the document shows in a ```text block with what the terminal showed: the block's
 * output, then what background jobs printed meanwhile (waiting for them up to 15 s), line by line:
 * JSON lines by shape, other lines with ids and times standing for any.
 */
async function compareTerminal(expected: Block, stdout: string, shell: ShellSession): Promise<void> {
  const want = expected.content.split('\n').filter((line) => line.trim() !== '');
  const linesOf = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
  const deadline = Date.now() + 15_000;
  let lines = linesOf(stdout + shell.backgroundOutput(false));
  while (lines.length < want.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    lines = linesOf(stdout + shell.backgroundOutput(false));
  }
  shell.backgroundOutput(true);
  const problems: string[] = [];
  if (lines.length !== want.length)
    problems.push(`the document shows ${want.length} line(s), the terminal showed ${lines.length}`);
  want.forEach((line, index) => {
    const got = lines[index];
    if (got === undefined) return;
    if (/^\s*[[{]/.test(line)) {
      let actual: unknown;
      try {
        actual = JSON.parse(got);
      } catch {
        problems.push(`line ${index + 1}: the document shows JSON, the terminal showed ${got}`);
        return;
      }
      problems.push(...compareShape(JSON.parse(line), actual).map((problem) => `line ${index + 1}: ${problem}`));
    } else if (normalizeLine(line) !== normalizeLine(got)) {
      problems.push(`line ${index + 1}: the document shows ${line}, the terminal showed ${got}`);
    }
  });
  const errors = shell.errorOutput();
  if (problems.length > 0)
    throw new Error(
      `${problems.join('\n')}\n--- terminal\n${lines.join('\n')}${errors ? `\n--- stderr\n${errors}` : ''}`,
    );
}

describe('the documents', () => {
  it.each(DOCUMENTS)('%s: every relative link and anchor resolves', (doc) => {
    const broken: string[] = [];
    for (const match of prose(read(doc)).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [file, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = file === '' ? doc : path.normalize(path.join(path.dirname(doc), file));
      if (!existsSync(path.join(ROOT, resolved))) broken.push(`${target}: no such file`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor))
        broken.push(`${target}: no such heading in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCUMENTS)('%s: names only settings, codes and values that the code knows', (doc) => {
    const unknown = [...new Set(namesIn(read(doc)))].filter((name) => !KNOWN.has(name) && !codeText().includes(name));
    expect(unknown).toEqual([]);
  });

  it.each(DOCUMENTS)('%s: tells no build history and names no machine paths', (doc) => {
    const text = read(doc);
    const found = [/\.\.\/shared\b/, /\bissue \d+/i, /\bthese machines\b/i, /\/work\//, /\/tmp\/n\d/, /\bGUIDE\.md\b/]
      .filter((pattern) => pattern.test(text))
      .map(String);
    expect(found).toEqual([]);
  });

  it.each(DOCUMENTS.filter((doc) => !RUN.includes(doc)))(
    '%s: API examples (not run here) say why they are not run',
    (doc) => {
      expect(unrunApiExamples(parseBlocks(read(doc), doc)).map(where)).toEqual([]);
    },
  );

  it.each(RUN)('%s: every example runs or is marked no-run with a reason', (doc) => {
    const examples = examplesOf(parseBlocks(read(doc), doc));
    expect(examples.filter((example) => example.kind !== 'skipped').length).toBeGreaterThan(5);
  });

  it('README.md stays a front door: at most 300 lines', () => {
    expect(read(README).trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });
});

/** Names a document may use that the code does not spell out: the examples' own shell variables. */
const KNOWN = new Set(['GAVEL_KEY']);

/** UPPER_SNAKE_CASE names in a document's code (spans and blocks): settings, error codes, enum values. */
function namesIn(markdown: string): string[] {
  const code = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`\n]+)`/g)].map((match) => match[1] ?? match[2]);
  return code.flatMap((text) => [...(text ?? '').matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)].map((m) => m[0]));
}

let corpus: string | undefined;
/** The text of the code and configuration (not the documents), where a documented name must occur. */
function codeText(): string {
  if (corpus !== undefined) return corpus;
  const files: string[] = ['.env.example', 'Dockerfile', 'compose.yaml', 'package.json', 'schema.graphql', '.ci/run'];
  for (const dir of ['src', 'scripts', 'bench', 'test', 'web', 'deploy', 'engine/java'])
    for (const entry of readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]) {
      const file = path.join(dir, entry);
      if (file.startsWith(path.join('test', 'docs')) || /\.(md|png|jar)$/.test(file) || file.includes('lib/')) continue;
      if (statSync(path.join(ROOT, file)).isFile()) files.push(file);
    }
  corpus = files
    .filter((file) => existsSync(path.join(ROOT, file)))
    .map((file) => read(file))
    .join('\n');
  return corpus;
}

describe('the examples run', () => {
  let dev: TestApp | undefined;
  let production: TestApp | undefined;
  afterAll(async () => {
    await dev?.stop();
    await production?.stop();
  });

  it(`${README}: the tour, on a development server`, async () => {
    // The tour keeps ids in shell variables with jq, as a reader does.
    if (spawnSync('jq', ['--version']).status !== 0)
      throw new Error("the README's examples need jq on PATH (Debian: apt-get install -y jq)");
    // As after `npm start`: development mode (no keys, hand-written sessions allowed), a demo catalog.
    dev = await startTestApp({ env: { NODE_ENV: 'development', GAVEL_DEMO_ITEMS: '200' } });
    expect(await runDocument(README, dev, {})).toBeGreaterThan(5);
  }, 240_000);

  it(`${SEARCH}: every example, on a development server with an empty catalog`, async () => {
    const search = await startTestApp({ env: { NODE_ENV: 'development', GAVEL_SEED_DEMO: 'false' } });
    try {
      expect(await runDocument(SEARCH, search, {})).toBeGreaterThan(5);
    } finally {
      await search.stop();
    }
  }, 240_000);

  it(`${API}: every example, on a production server with API keys`, async () => {
    const secret = () => randomBytes(32).toString('base64url');
    production = await startTestApp({
      env: { NODE_ENV: 'production', CURSOR_SECRET: secret(), SESSION_SECRET: secret(), PRIVACY_SECRET: secret() },
    });
    const keys: Record<Role, string> = {
      ADMIN: (await production.services.auth.createKey({ role: 'ADMIN', label: 'docs' })).key,
      ANALYST: (await production.services.auth.createKey({ role: 'ANALYST' })).key,
      SELLER: (await production.services.auth.createKey({ role: 'SELLER', sellerId: 'seller-42' })).key,
      INGEST: (await production.services.auth.createKey({ role: 'INGEST', label: 'docs backend' })).key,
    };
    expect(await runDocument(API, production, keys)).toBeGreaterThan(5);
  }, 240_000);
});
