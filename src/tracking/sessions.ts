import { createHmac, randomBytes } from 'node:crypto';
import { SignedTokenCodec } from '../shared/signedToken';
import type { Clock } from '../shared/clock';

/** Signed into every session id, so a token made for another purpose never passes for a session. */
const PURPOSE = 'tracking-session';
/** Random bytes per session: 96 bits, unguessable, short enough for a header. */
const NONCE_BYTES = 12;
const noncePattern = /^[A-Za-z0-9_-]{16}$/;
/** Keyed hash of the user a session is bound to: 96 bits of HMAC-SHA256, base64url. */
const USER_KEY_BYTES = 12;
const userKeyPattern = /^[A-Za-z0-9_-]{16}$/;
/** Signed into every user hash, so it never equals another HMAC made with the session secret. */
const USER_PURPOSE = 'tracking-session-user';

/** A session issued by `startSession`. */
export interface IssuedSession {
  readonly sessionId: string;
  readonly expiresAt: Date;
}

/** Why a session id was refused, or null when it is one this server issued and still valid. */
export type SessionVerdict = null | string;

/**
 * What a session id says: refused (with the reason), or valid and bound to a user (the keyed hash
 * of its user id, see {@link SessionSigner.userKey}) or to none.
 */
export type SessionCheck =
  { readonly valid: false; readonly reason: string } | { readonly valid: true; readonly userKey: string | null };

/**
 * Server-issued tracking sessions: `base64url({"s":nonce,"t":issuedAtMs,"u"?:userKey}).signature`,
 * signed with `SESSION_SECRET` (readable by its holder: a random nonce, the issue time and, for a
 * session started for a signed-in user, a keyed hash of the user id — never the id itself). The id
 * carries all it asserts, so verifying it, and whether an event's userId is its user, needs no
 * database or shared state, on any instance.
 */
export class SessionSigner {
  private readonly codec: SignedTokenCodec;

  constructor(
    private readonly secret: string,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxClockSkewMs: number,
  ) {
    this.codec = new SignedTokenCodec(secret, PURPOSE);
  }

  /**
   * A new signed session id (well within the 128 characters tracking accepts: about 70, 100 when
   * bound to a user).
   *
   * @param userId - the signed-in user the session is bound to (already validated), if any
   */
  issue(userId?: string | null): IssuedSession {
    const issuedAt = this.clock.now().getTime();
    const sessionId = this.codec.encode({
      s: randomBytes(NONCE_BYTES).toString('base64url'),
      t: issuedAt,
      ...(userId != null ? { u: this.userKey(userId) } : {}),
    });
    return { sessionId, expiresAt: new Date(issuedAt + this.ttlMs) };
  }

  /** Null for a valid issued session id; otherwise the reason it is refused (for the event's `reason`). */
  verify(sessionId: string): SessionVerdict {
    const check = this.check(sessionId);
    return check.valid ? null : check.reason;
  }

  /** Whether `sessionId` is a valid issued session, and the keyed hash of the user it is bound to. */
  check(sessionId: string): SessionCheck {
    const payload = this.codec.verify(sessionId) as { s?: unknown; t?: unknown; u?: unknown } | null | undefined;
    if (
      payload === undefined ||
      payload === null ||
      typeof payload !== 'object' ||
      typeof payload.s !== 'string' ||
      !noncePattern.test(payload.s) ||
      typeof payload.t !== 'number' ||
      !Number.isSafeInteger(payload.t) ||
      (payload.u !== undefined && (typeof payload.u !== 'string' || !userKeyPattern.test(payload.u)))
    ) {
      return { valid: false, reason: 'sessionId is not a session issued by startSession (unsigned or forged)' };
    }
    const now = this.clock.now().getTime();
    // Issued "in the future" only by a forged clock; a little skew between instances is normal.
    if (payload.t > now + this.maxClockSkewMs)
      return { valid: false, reason: 'sessionId is not a session issued by startSession' };
    if (now - payload.t > this.ttlMs)
      return { valid: false, reason: 'sessionId has expired; call startSession for a new one' };
    return { valid: true, userKey: typeof payload.u === 'string' ? payload.u : null };
  }

  /**
   * The keyed hash a session bound to `userId` carries: HMAC-SHA256 with the session secret, so a
   * holder of the session cannot tell which user it names (user ids are guessable; an unkeyed hash
   * would give them away), and nobody without the secret can make one for another user.
   */
  userKey(userId: string): string {
    return createHmac('sha256', this.secret)
      .update(`${USER_PURPOSE}|${userId}`)
      .digest()
      .subarray(0, USER_KEY_BYTES)
      .toString('base64url');
  }
}
