import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { badUserInput } from '../shared/errors';

/**
 * First byte of every cursor; authenticated with it, so a format can tell its own apart. Version 1
 * (one key per cursor) is still decoded: cursors minted before an upgrade keep paging.
 */
const FORMAT_VERSION = 2;
const FORMAT_VERSION_SINGLE = 1;
/** Random salt, per page of cursors (version 1: per cursor): the key is derived from the secret and it. */
const SALT_BYTES = 16;
/** Version 2: the cursor's number under its key (big-endian), the last bytes of its GCM IV. */
const INDEX_BYTES = 2;
/** Cursors made under one key before a {@link CursorMinter} draws a fresh salt. */
const CURSORS_PER_KEY = 2 ** (8 * INDEX_BYTES);
/** AES-GCM authentication tag. */
const TAG_BYTES = 16;
/**
 * The plaintext is padded with spaces to a multiple of this, so that a cursor's length does not
 * tell how many digits its sort value has (every cursor Gavel makes today is one block long).
 */
const PAD_BYTES = 128;
/** Cursors longer than this are rejected before any decoding work. */
const MAX_CURSOR_LENGTH = 512;
/** GCM IV length; a version-1 cursor's IV is all zeros (its key is its own). */
const IV_BYTES = 12;
const ZERO_IV = Buffer.alloc(IV_BYTES);
/**
 * HKDF context per format: a key derived for cursors is never the key of anything else made from
 * the secret, nor a version-1 cursor's key (whose IV was all zeros) for the same salt.
 */
const KEY_INFO = {
  [FORMAT_VERSION]: 'gavel pagination cursor v2',
  [FORMAT_VERSION_SINGLE]: 'gavel pagination cursor v1',
};
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Opaque pagination cursors: a JSON payload encrypted and authenticated with AES-256-GCM, so a
 * client learns nothing from a cursor (not the sort value of the item it points at, such as an
 * impression count) and an edited, truncated or forged one is a clean `BAD_USER_INPUT` instead of
 * a wrong page. Stateless: any instance with the secret decodes any cursor.
 *
 * A cursor is `base64url(version ‖ salt ‖ index ‖ ciphertext ‖ tag)`. Its key is
 * HKDF-SHA256(secret, salt) with a random 128-bit salt drawn per page of cursors (a
 * {@link CursorMinter}), and its GCM IV is its index under that key: a busy server mints billions
 * of cursors and GCM must never see an IV twice under one key, which a fresh key per page and a
 * counter within it guarantee (a random 96-bit IV under one long-lived key would not, at that
 * volume). One key per page instead of per cursor: deriving the key was most of a cursor's cost.
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

  /** Encrypts a JSON-serializable payload (one cursor; a page's cursors share a {@link minter}). */
  encode(payload: unknown): string {
    return this.minter().encode(payload);
  }

  /**
   * A minter for the cursors of one page: they share one derived key (drawn on the first cursor),
   * each under an IV of its own.
   */
  minter(): CursorMinter {
    return new CursorMinter(this.secrets[0]!);
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
    const version = bytes[0];
    const headerBytes = version === FORMAT_VERSION ? 1 + SALT_BYTES + INDEX_BYTES : 1 + SALT_BYTES;
    const length = bytes.length - headerBytes - TAG_BYTES;
    if (
      (version !== FORMAT_VERSION && version !== FORMAT_VERSION_SINGLE) ||
      length < PAD_BYTES ||
      length % PAD_BYTES !== 0
    )
      return undefined;
    const header = version === FORMAT_VERSION ? bytes.subarray(0, headerBytes) : bytes.subarray(0, 1);
    const salt = bytes.subarray(1, 1 + SALT_BYTES);
    const iv = version === FORMAT_VERSION ? ivOf(bytes.readUInt16BE(1 + SALT_BYTES)) : ZERO_IV;
    const ciphertext = bytes.subarray(headerBytes, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    for (const secret of this.secrets) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyOf(secret, salt, version), iv, {
          authTagLength: TAG_BYTES,
        });
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

/**
 * Makes the cursors of one page (see {@link CursorCodec.minter}): the key is derived on the first
 * cursor, so a page whose cursors nobody selects costs nothing.
 */
export class CursorMinter {
  private salt: Buffer | undefined;
  private key: Buffer | undefined;
  private index = 0;

  /** @param secret - the current secret (`CURSOR_SECRET`) */
  constructor(private readonly secret: Buffer) {}

  /** Encrypts a JSON-serializable payload. */
  encode(payload: unknown): string {
    if (this.key === undefined || this.index === CURSORS_PER_KEY) {
      this.salt = randomBytes(SALT_BYTES);
      this.key = keyOf(this.secret, this.salt, FORMAT_VERSION);
      this.index = 0;
    }
    const json = Buffer.from(JSON.stringify(payload), 'utf8');
    const plaintext = Buffer.alloc(Math.max(1, Math.ceil(json.length / PAD_BYTES)) * PAD_BYTES, ' ');
    json.copy(plaintext);
    const header = Buffer.alloc(1 + SALT_BYTES + INDEX_BYTES);
    header[0] = FORMAT_VERSION;
    this.salt!.copy(header, 1);
    header.writeUInt16BE(this.index, 1 + SALT_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, ivOf(this.index), { authTagLength: TAG_BYTES });
    this.index++;
    cipher.setAAD(header);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }
}

/** The GCM IV of the cursor numbered `index` under its key. */
function ivOf(index: number): Buffer {
  const iv = Buffer.alloc(IV_BYTES);
  iv.writeUInt16BE(index, IV_BYTES - INDEX_BYTES);
  return iv;
}

/** The AES-256 key of one salt, for cursors of `version`. */
function keyOf(secret: Buffer, salt: Buffer, version: typeof FORMAT_VERSION | typeof FORMAT_VERSION_SINGLE): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, KEY_INFO[version], 32));
}
