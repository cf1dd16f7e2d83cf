import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { badUserInput } from '../shared/errors';

/** First byte of every cursor; authenticated with it, so a future format can tell its own apart. */
const FORMAT_VERSION = 1;
/** Random salt per cursor: its key is derived from the secret and this salt. */
const SALT_BYTES = 16;
/** AES-GCM authentication tag. */
const TAG_BYTES = 16;
/**
 * The plaintext is padded with spaces to a multiple of this, so that a cursor's length does not
 * tell how many digits its sort value has (every cursor Gavel makes today is one block long).
 */
const PAD_BYTES = 128;
/** Cursors longer than this are rejected before any decoding work. */
const MAX_CURSOR_LENGTH = 512;
/** A zero IV is safe here: every cursor is encrypted under a key of its own (see {@link CursorCodec}). */
const IV = Buffer.alloc(12);
/** HKDF context: a key derived for cursors is never the key of anything else made from the secret. */
const KEY_INFO = 'gavel pagination cursor v1';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Opaque pagination cursors: a JSON payload encrypted and authenticated with AES-256-GCM, so a
 * client learns nothing from a cursor (not the sort value of the item it points at, such as an
 * impression count) and an edited, truncated or forged one is a clean `BAD_USER_INPUT` instead of
 * a wrong page. Stateless: any instance with the secret decodes any cursor.
 *
 * A cursor is `base64url(version ‖ salt ‖ ciphertext ‖ tag)`. Each cursor's key is
 * HKDF-SHA256(secret, salt): a random 128-bit salt per cursor instead of a random 96-bit GCM nonce
 * under one key, because a busy server mints billions of cursors and GCM must never see a nonce
 * twice under one key.
 *
 * Key rotation: cursors are made with the current secret and decoded with it or any previous one,
 * so clients paging through a rotation keep their place; drop the previous secret once the cursors
 * it made no longer matter (pagination cursors are short-lived).
 */
export class CursorCodec {
  private readonly secrets: readonly Buffer[];

  /**
   * @param secret - `CURSOR_SECRET`: encrypts new cursors, decodes them
   * @param previousSecrets - `CURSOR_SECRET_PREVIOUS`: decode older cursors only
   */
  constructor(secret: string, previousSecrets: readonly string[] = []) {
    this.secrets = [secret, ...previousSecrets].map((value) => Buffer.from(value, 'utf8'));
  }

  /** Encrypts a JSON-serializable payload. */
  encode(payload: unknown): string {
    const json = Buffer.from(JSON.stringify(payload), 'utf8');
    const plaintext = Buffer.alloc(Math.max(1, Math.ceil(json.length / PAD_BYTES)) * PAD_BYTES, ' ');
    json.copy(plaintext);
    const header = Buffer.from([FORMAT_VERSION]);
    const salt = randomBytes(SALT_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keyOf(this.secrets[0]!, salt), IV, { authTagLength: TAG_BYTES });
    cipher.setAAD(header);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, salt, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * Decodes a cursor made by {@link encode}, or throws `BAD_USER_INPUT` on `field` when it is
   * malformed or fails authentication under every secret. The caller still validates the payload's
   * shape (and that it belongs to the same query).
   */
  decode(cursor: string, field: string): unknown {
    const payload = this.open(cursor);
    if (payload === undefined)
      throw badUserInput(field, `${field} is not a cursor returned by this API; start again from the first page.`);
    return payload;
  }

  /** The payload of a cursor made by {@link encode} under any of the secrets, or `undefined`. Never throws. */
  open(cursor: unknown): unknown {
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return undefined;
    const bytes = Buffer.from(cursor, 'base64url');
    // Only the canonical spelling: no second string for the same bytes.
    if (bytes.toString('base64url') !== cursor) return undefined;
    const length = bytes.length - 1 - SALT_BYTES - TAG_BYTES;
    if (bytes[0] !== FORMAT_VERSION || length < PAD_BYTES || length % PAD_BYTES !== 0) return undefined;
    const header = bytes.subarray(0, 1);
    const salt = bytes.subarray(1, 1 + SALT_BYTES);
    const ciphertext = bytes.subarray(1 + SALT_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    for (const secret of this.secrets) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyOf(secret, salt), IV, { authTagLength: TAG_BYTES });
        decipher.setAAD(header);
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
        return JSON.parse(plaintext.toString('utf8')) as unknown;
      } catch {
        // Not this secret's (authentication failed), or not JSON: try the next.
      }
    }
    return undefined;
  }
}

/** The AES-256 key of one cursor. */
function keyOf(secret: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, KEY_INFO, 32));
}
