import { ndjsonLines, type NdjsonLine } from '../../src/shared/ndjson';

/** The stream of `bytes` cut into chunks of `size` bytes, as a socket may deliver it. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

async function linesOf(bytes: Buffer, size: number, max = 64): Promise<NdjsonLine[]> {
  const lines: NdjsonLine[] = [];
  for await (const line of ndjsonLines(chunked(bytes, size), max)) lines.push(line);
  return lines;
}

describe('ndjsonLines', () => {
  // A byte order mark, CRLF and LF endings, blank lines, a character of 4 bytes, a line of exactly
  // the limit ending in CRLF, one over it, no newline at the end.
  const exact = `{"a":"${'x'.repeat(64 - 8)}"}`;
  const text = `\uFEFF{"a":1}\r\n\n  \n{"b":"𝒜é"}\n${exact}\r\n{"c":"${'y'.repeat(80)}"}\n{"d":4}`;
  const expected: NdjsonLine[] = [
    { number: 1, text: '{"a":1}' },
    { number: 4, text: '{"b":"𝒜é"}' },
    { number: 5, text: exact },
    { number: 6, unreadable: 'TOO_LONG' },
    { number: 7, text: '{"d":4}' },
  ];

  it.each([1, 2, 3, 7, 1_000])('numbers and splits lines alike whatever the chunk size (%i bytes)', async (size) => {
    expect(exact).toHaveLength(64);
    expect(await linesOf(Buffer.from(text), size)).toEqual(expected);
  });

  it('refuses a line that is not UTF-8 and reads the next', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"t":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"t":"ok"}\n')]);
    expect(await linesOf(latin1, 3)).toEqual([
      { number: 1, unreadable: 'NOT_UTF8' },
      { number: 2, text: '{"t":"ok"}' },
    ]);
  });

  it('holds at most the limit of an endless line', async () => {
    // 10 MB without a newline, then a short line: the first is refused, the second read.
    async function* endless(): AsyncGenerator<Uint8Array> {
      const block = Buffer.alloc(65_536, 0x61);
      for (let sent = 0; sent < 10_000_000; sent += block.length) yield block;
      yield Buffer.from('\n{"after":true}\n');
    }
    const before = process.memoryUsage().arrayBuffers;
    const lines: NdjsonLine[] = [];
    let peak = 0;
    for await (const line of ndjsonLines(endless(), 1_024)) {
      lines.push(line);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(lines).toEqual([
      { number: 1, unreadable: 'TOO_LONG' },
      { number: 2, text: '{"after":true}' },
    ]);
    expect(peak).toBeLessThan(5_000_000);
  });
});
