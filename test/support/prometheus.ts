/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for asserting on
 * scrapes. Written here because the npm parser tried (parse-prometheus-text-format 1.1.1) merges
 * every series of a labelled histogram into one and drops their counts. Throws on any line that
 * is not a comment, a HELP/TYPE line or a well-formed sample of a declared family.
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed scrape: declared families (name → type) and every sample. */
export interface Scrape {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const sampleLine = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const labelPair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const typeLine = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const helpLine = new RegExp(`^# HELP (${NAME}) `);

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = labelPair.exec(rest);
    if (!match) throw new Error(`malformed labels in: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

/** Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function parseValue(text: string, line: string): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`malformed value in: ${line}`);
  return value;
}

/** The family a sample belongs to: histogram and summary samples carry a suffix. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(base) === 'histogram' || types.get(base) === 'summary' ? base : undefined;
}

/** Parses a scrape; throws naming the first line that does not follow the format. */
export function parsePrometheusText(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = typeLine.exec(line);
    if (type) {
      if (types.has(type[1]!)) throw new Error(`family declared twice: ${line}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (helpLine.test(line) || line.startsWith('# ')) continue;
    const sample = sampleLine.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    if (familyOf(sample[1]!, types) === undefined) throw new Error(`sample of an undeclared family: ${line}`);
    samples.push({ name: sample[1]!, labels: parseLabels(sample[2] ?? '', line), value: parseValue(sample[3]!, line) });
  }
  return { types, samples };
}

/** Sum of the samples named `name` whose labels include `labels` (0 when there is none yet). */
export function sumOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.samples
    .filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** The distinct values `label` takes among the samples named `name`. */
export function labelValues(scrape: Scrape, name: string, label: string): Set<string | undefined> {
  return new Set(scrape.samples.filter((sample) => sample.name === name).map((sample) => sample.labels[label]));
}
