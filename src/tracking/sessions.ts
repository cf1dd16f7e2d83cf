import { randomBytes } from 'node:crypto';
import { SignedTokenCodec } from '../shared/signedToken';
import type { Clock } from '../shared/clock';

/** Signed into every session id, so a token made for another purpose never passes for a session. */
const PURPOSE = 'tracking-session';
/** Random bytes per session: 96 bits, unguessable, short enough for a header. */
const NONCE_BYTES = 12;
const noncePattern = /^[A-Za-z0-9_-]{16}$/;

/** A session issued by `startSession`. */
export interface IssuedSession {
  readonly sessionId: string;
  readonly expiresAt: Date;
}

/** Why a session id was refused, or null when it is one this server issued and still valid. */
export type SessionVerdict = null | string;

/**
 * Server-issued tracking sessions: `base64url({"s":nonce,"t":issuedAtMs}).signature`, signed with
 * `SESSION_SECRET` (readable by its holder: a random nonce and the issue time). The id carries its
 * issue time, so verifying needs no database or shared state, on any instance.
 */
export class SessionSigner {
  private readonly codec: SignedTokenCodec;

  constructor(
    secret: string,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxClockSkewMs: number,
  ) {
    this.codec = new SignedTokenCodec(secret, PURPOSE);
  }

  /** A new signed session id (well within the 128 characters tracking accepts). */
  issue(): IssuedSession {
    const issuedAt = this.clock.now().getTime();
    const sessionId = this.codec.encode({ s: randomBytes(NONCE_BYTES).toString('base64url'), t: issuedAt });
    return { sessionId, expiresAt: new Date(issuedAt + this.ttlMs) };
  }

  /** Null for a valid issued session id; otherwise the reason it is refused (for the event's `reason`). */
  verify(sessionId: string): SessionVerdict {
    const payload = this.codec.verify(sessionId) as { s?: unknown; t?: unknown } | null | undefined;
    if (
      payload === undefined ||
      payload === null ||
      typeof payload !== 'object' ||
      typeof payload.s !== 'string' ||
      !noncePattern.test(payload.s) ||
      typeof payload.t !== 'number' ||
      !Number.isSafeInteger(payload.t)
    ) {
      return 'sessionId is not a session issued by startSession (unsigned or forged)';
    }
    const now = this.clock.now().getTime();
    // Issued "in the future" only by a forged clock; a little skew between instances is normal.
    if (payload.t > now + this.maxClockSkewMs) return 'sessionId is not a session issued by startSession';
    if (now - payload.t > this.ttlMs) return 'sessionId has expired; call startSession for a new one';
    return null;
  }
}
