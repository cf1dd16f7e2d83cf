import { createHmac } from 'node:crypto';
import { DAY_MS } from './clock';

/**
 * The shape of a user or session id that Gavel stores as sent: 1 to 128 letters, digits or
 * `_ . : -`. Tracking refuses (INVALID) events whose ids have another shape.
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Marks a stored pseudonym of a refused id. Outside {@link CLIENT_ID_PATTERN}, so a stored
 * pseudonym never equals an id stored as sent.
 */
const REFUSED_ID_MARK = '~';

/**
 * Pseudonyms for personal data that Gavel needs to compare but never to read back: client
 * addresses in stored tracking data, user ids in logs and erasure records. Keyed with
 * `PRIVACY_SECRET`, so nobody without it can test guesses (the IPv4 space is small enough to
 * enumerate against a plain hash).
 */
export class Pseudonymizer {
  /** Day number → that day's address key; two entries at most (around midnight). */
  private readonly dayKeys = new Map<number, Buffer>();

  constructor(private readonly secret: string) {}

  /**
   * The stored form of a client address: an HMAC under a key derived from the secret and the UTC
   * day of `at`. Equal within a day (what the audit and fraud reviews compare: "these refused
   * events came from one address"), unlinkable across days, and not reversible. 22 characters.
   */
  address(ip: string, at: Date): string {
    const day = Math.floor(at.getTime() / DAY_MS);
    let key = this.dayKeys.get(day);
    if (!key) {
      key = createHmac('sha256', this.secret).update(`address-key:${day}`).digest();
      if (this.dayKeys.size >= 2) this.dayKeys.clear();
      this.dayKeys.set(day, key);
    }
    return createHmac('sha256', key).update(ip).digest('base64url').slice(0, 22);
  }

  /** A stable pseudonym of a user or session id for logs, metrics and erasure records. 16 characters. */
  subject(id: string): string {
    return createHmac('sha256', this.secret).update(`subject:${id}`).digest('base64url').slice(0, 16);
  }

  /**
   * How a client-sent user or session id is stored with its events, and looked up by erasure: as
   * sent when it has the shape tracking accepts ({@link CLIENT_ID_PATTERN}: the click rule,
   * `userAnalytics` and the unique-visitor sketches need it), otherwise `~` and its
   * {@link subject} pseudonym (17 characters), so that a refused value (`alice@example.com`, a
   * 10,000-character string) never reaches the database or the archives, and erasure of that
   * value still finds its rows.
   */
  storedId(id: string): string {
    return CLIENT_ID_PATTERN.test(id) ? id : `${REFUSED_ID_MARK}${this.subject(id)}`;
  }
}
