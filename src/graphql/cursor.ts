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
  /**
   * @param secret - the HMAC key
   * @param purpose - signed along with every payload, so a token made for one purpose (a cursor)
   *   never verifies as another (a tracking session) even when both share a secret. Empty for
   *   cursors, which keeps the cursors issued before purposes existed valid.
   */
  constructor(
    private readonly secret: string,
    private readonly purpose = '',
  ) {}

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
    const payload = this.verify(cursor);
    if (payload === undefined)
      throw badUserInput(field, `${field} is not a cursor returned by this API; start again from the first page.`);
    return payload;
  }

  /**
   * The payload of a token made by {@link encode}, or `undefined` when it is not a string, too long,
   * malformed or its signature does not match (compared in constant time). Never throws.
   */
  verify(token: unknown): unknown {
    if (typeof token !== 'string' || token.length > MAX_CURSOR_LENGTH) return undefined;
    const [body, signature, ...rest] = token.split('.');
    if (!body || !signature || rest.length > 0) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    const signed = this.purpose ? `${this.purpose}|${body}` : body;
    return createHmac('sha256', this.secret).update(signed).digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
  }
}
