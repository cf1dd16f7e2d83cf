import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What an API key may do; see docs/security.md "Roles" for the matrix. */
export const Role = {
  /** Catalog writes and operations, plus everything ANALYST may read. */
  ADMIN: 'ADMIN',
  /** Every analytics field, query and subscription, marketplace-wide. */
  ANALYST: 'ANALYST',
  /** Analytics of the items of one seller (`sellerId` on the key) only. */
  SELLER: 'SELLER',
  /** The marketplace's backend: reports conversions (`trackConversions`) and reads nothing. */
  INGEST: 'INGEST',
} as const;

/** One of {@link Role}. */
export type Role = (typeof Role)[keyof typeof Role];

/** Every role, for validation (CLI, stored documents). */
export const ROLES: readonly Role[] = Object.freeze([Role.ADMIN, Role.ANALYST, Role.SELLER, Role.INGEST]);

/** Bytes of SHA-256: every stored and computed digest has this length, so comparisons never leak one. */
export const DIGEST_BYTES = 32;

const KEY_PREFIX = 'gvl';
/** `gvl_<16 hex id>_<43 base64url secret>`: the id finds the stored hash, the secret proves possession. */
const KEY_PATTERN = /^gvl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly generated key: `secret` is shown once, only `digest` is stored. */
export interface GeneratedKey {
  /** Public key id (also the database `_id`); safe to log and to list. */
  readonly id: string;
  /** The whole key the client sends (`Authorization: Bearer <key>`). Never stored. */
  readonly key: string;
  /** SHA-256 of the secret part, stored in `api_keys`. */
  readonly digest: Buffer;
}

/**
 * SHA-256 of a secret. A plain (unsalted, fast) hash is enough because generated secrets carry 256
 * random bits: there is no dictionary to precompute, and a slow hash would cost every request.
 */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Generates a new key from 8 random id bytes and 32 random secret bytes. */
export function generateApiKey(): GeneratedKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `${KEY_PREFIX}_${id}_${secret}`, digest: digestSecret(secret) };
}

/** Splits a presented key into id and secret, or undefined when it does not have a key's shape. */
export function parseApiKey(presented: string): { id: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(presented);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/**
 * Compares two digests in constant time. Both sides are fixed-length SHA-256 digests, so the
 * length check never fails for real input and `timingSafeEqual` always runs over 32 bytes: neither
 * the presented value's length nor how much of it matched shows in the timing.
 */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== DIGEST_BYTES || b.length !== DIGEST_BYTES) return false;
  return timingSafeEqual(a, b);
}

/**
 * Whether `presented` equals one of the `tokens` (legacy `AUTH_TOKENS`), in time independent of
 * which one matched and of the presented length: every token is compared, by digest.
 */
export function matchesAnyToken(presented: string, tokenDigests: readonly Buffer[]): boolean {
  const given = digestSecret(presented);
  let found = false;
  for (const digest of tokenDigests) found = digestsEqual(digest, given) || found;
  return found;
}
