import { createHmac, timingSafeEqual } from 'node:crypto';

/** Bytes of HMAC-SHA256 kept in a token: enough to make forging impractical, short in URLs. */
const SIGNATURE_BYTES = 12;
/** Tokens longer than this are rejected before any decoding work. */
const MAX_TOKEN_LENGTH = 512;

/**
 * Signed, readable tokens: `base64url(JSON payload).base64url(HMAC)`. The signature makes an
 * edited or forged token fail verification, but the payload is only encoded, not hidden: use it for
 * data the holder may see (a tracking session's nonce and issue time), never for anything else
 * (pagination cursors are encrypted, see `src/graphql/cursor.ts`).
 */
export class SignedTokenCodec {
  /**
   * @param secret - the HMAC key
   * @param purpose - signed along with every payload, so a token made for one purpose never
   *   verifies as another even when both share a secret.
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
   * The payload of a token made by {@link encode}, or `undefined` when it is not a string, too long,
   * malformed or its signature does not match (compared in constant time). Never throws.
   */
  verify(token: unknown): unknown {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
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
