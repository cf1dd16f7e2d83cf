/** One line of an NDJSON stream, numbered from 1 as an editor numbers it. */
export type NdjsonLine =
  | { readonly number: number; readonly text: string }
  /**
   * A line that cannot be read: longer than the limit (`TOO_LONG`: its bytes were discarded, not
   * held) or not UTF-8 (`NOT_UTF8`: a Latin-1 export, say, which would otherwise be stored garbled).
   */
  | { readonly number: number; readonly unreadable: 'TOO_LONG' | 'NOT_UTF8' };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of a byte stream (newline-delimited; a `\r\n` ending and a byte order mark are
 * accepted), read as the consumer asks for them: the stream is paused while the consumer works, so
 * a large file is never held whole. Blank lines are skipped but counted, so numbers match the file.
 * A line over `maxLineBytes` (its ending excluded) is reported as too long without being buffered:
 * one endless line costs at most `maxLineBytes` of memory.
 */
export async function* ndjsonLines(
  chunks: AsyncIterable<Uint8Array | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine> {
  // One buffer per line, grown by doubling: a line that arrives a byte at a time costs no more.
  let line = Buffer.allocUnsafe(Math.min(maxLineBytes + 1, 4_096));
  let length = 0;
  let tooLong = false;
  let number = 0;
  // Fatal: invalid UTF-8 refuses the line instead of becoming U+FFFD; a byte order mark is dropped.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const finish = (): NdjsonLine | undefined => {
    number++;
    const wasTooLong = tooLong;
    const end = length > 0 && line[length - 1] === CARRIAGE_RETURN ? length - 1 : length;
    length = 0;
    tooLong = false;
    if (wasTooLong) return { number, unreadable: 'TOO_LONG' };
    let text: string;
    try {
      text = decoder.decode(line.subarray(0, end));
    } catch {
      return { number, unreadable: 'NOT_UTF8' };
    }
    return text.trim() === '' ? undefined : { number, text };
  };
  const keep = (part: Uint8Array) => {
    if (tooLong) return;
    // One byte over the limit is allowed for the `\r` of a `\r\n` ending; finish() checks the rest.
    if (length + part.length > maxLineBytes + 1) {
      tooLong = true;
      return;
    }
    if (length + part.length > line.length) {
      const grown = Buffer.allocUnsafe(Math.min(maxLineBytes + 1, Math.max(line.length * 2, length + part.length)));
      line.copy(grown, 0, 0, length);
      line = grown;
    }
    line.set(part, length);
    length += part.length;
  };
  const overLimit = () => !tooLong && length > maxLineBytes && line[length - 1] !== CARRIAGE_RETURN;
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      keep(bytes.subarray(start, end));
      if (overLimit()) tooLong = true;
      start = end + 1;
      const result = finish();
      if (result) yield result;
    }
    if (start < bytes.length) keep(bytes.subarray(start));
  }
  if (length > 0 || tooLong) {
    if (overLimit()) tooLong = true;
    const result = finish();
    if (result) yield result;
  }
}
