/** One line of an NDJSON stream, numbered from 1 as an editor numbers it. */
export type NdjsonLine =
  | { readonly number: number; readonly text: string }
  /** The line was longer than the limit; its bytes were discarded, not held. */
  | { readonly number: number; readonly tooLong: true };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of a byte stream (newline-delimited; a `\r\n` ending is accepted), read as the
 * consumer asks for them: the stream is paused while the consumer works, so a large upload is
 * never held whole. Blank lines are skipped but counted, so numbers match the file. A line over
 * `maxLineBytes` is reported as too long without being buffered: a hostile upload of one endless
 * line costs at most `maxLineBytes` of memory.
 */
export async function* ndjsonLines(
  chunks: AsyncIterable<Uint8Array | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let number = 0;
  const finish = (): NdjsonLine | undefined => {
    number++;
    const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const wasTooLong = tooLong;
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    if (wasTooLong) return { number, tooLong: true };
    const end = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.length - 1 : line.length;
    const text = line.toString('utf8', 0, end);
    return text.trim() === '' ? undefined : { number, text };
  };
  const keep = (part: Buffer) => {
    if (tooLong) return;
    if (pendingBytes + part.length > maxLineBytes) {
      tooLong = true;
      pending = [];
      pendingBytes = 0;
      return;
    }
    pending.push(part);
    pendingBytes += part.length;
  };
  for await (const chunk of chunks) {
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      keep(bytes.subarray(start, end));
      start = end + 1;
      const line = finish();
      if (line) yield line;
    }
    // The bytes after the last newline are copied: the stream may reuse its chunk's memory.
    if (start < bytes.length) keep(Buffer.from(bytes.subarray(start)));
  }
  if (pendingBytes > 0 || tooLong) {
    const line = finish();
    if (line) yield line;
  }
}
