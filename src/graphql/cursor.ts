import { createHmac, timingSafeEqual } from 'node:crypto';
import { badUserInput } from '../shared/errors';

/** Bytes of HMAC-SHA256 kept in a cursor: enough to make forging impractical, short in URLs. */
const SIGNATURE_BYTES = 12;
/** Cursors longer than this are rejected before any decoding work. */
const MAX_CURSOR_LENGTH = 512;

/**
 * Opaque, signed pagination cursors. A cursor is `base64url(JSON payload).base64url(HMAC)`: the
 * payload stays private to the server by convention (clients must treat it as opaque) and the
 * signature makes an edited or forged cursor a clean `BAD_USER_INPUT` instead of a wrong page.
 */
export class CursorCodec {
  constructor(private readonly secret: string) {}

  /** Encodes a JSON-serializable payload. */
  encode(payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /**
   * Decodes a cursor made by {@link encode}, or throws `BAD_USER_INPUT` on `field` when it is
   * malformed or its signature does not match. The caller still validates the payload's shape.
   */
  decode(cursor: string, field: string): unknown {
    const invalid = () =>
      badUserInput(field, `${field} is not a cursor returned by this API; start again from the first page.`);
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalid();
    const [body, signature, ...rest] = cursor.split('.');
    if (!body || !signature || rest.length > 0) throw invalid();
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
  }
}
