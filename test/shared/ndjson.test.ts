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

  it('allows the one byte over the limit only to a carriage return', async () => {
    const over = `{"a":"${'x'.repeat(64 - 7)}"}`;
    expect(over).toHaveLength(65);
    for (const size of [1, 5, 1_000]) {
      expect(await linesOf(Buffer.from(`${over}\n${over}\r\n{"b":2}\n${over}`), size)).toEqual([
        { number: 1, unreadable: 'TOO_LONG' },
        { number: 2, unreadable: 'TOO_LONG' },
        { number: 3, text: '{"b":2}' },
        { number: 4, unreadable: 'TOO_LONG' },
      ]);
    }
  });

  it('refuses a line that is not UTF-8 and reads the next', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"t":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"t":"ok"}\n')]);
    expect(await linesOf(latin1, 3)).toEqual([
      { number: 1, unreadable: 'NOT_UTF8' },
      { number: 2, text: '{"t":"ok"}' },
    ]);
  });

  it('refuses an endless line and reads the next', async () => {
    // 10 MB without a newline in fresh 64 KiB blocks, as a socket delivers them, then a short line.
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < 10_000_000; sent += 65_536) yield Buffer.alloc(65_536, 0x61);
      yield Buffer.from('\n{"after":true}\n');
    }
    const lines: NdjsonLine[] = [];
    for await (const line of ndjsonLines(endless(), 1_024)) lines.push(line);
    expect(lines).toEqual([
      { number: 1, unreadable: 'TOO_LONG' },
      { number: 2, text: '{"after":true}' },
    ]);
  });

  it('copies what it keeps: a source that reuses its buffer does not corrupt a line', async () => {
    // A line split over two chunks delivered in one reused buffer (as some streams do).
    async function* reusing(): AsyncGenerator<Uint8Array> {
      const buffer = Buffer.alloc(6);
      buffer.write('{"a":1');
      yield buffer;
      buffer.write('}\n{"b"');
      yield buffer.subarray(0, 6);
      buffer.write(':2}\n');
      yield buffer.subarray(0, 4);
    }
    const lines: NdjsonLine[] = [];
    for await (const line of ndjsonLines(reusing(), 64)) lines.push(line);
    expect(lines).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: '{"b":2}' },
    ]);
  });
});
