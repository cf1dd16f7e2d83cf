import { timingSafeEqual } from 'node:crypto';
import type { AuthChecker } from 'type-graphql';
import type { GavelContext } from '../graphql/context';

/** Who is calling, as far as Gavel's access rules care. */
export interface Viewer {
  /**
   * True when the request carries a valid API token, or when no tokens are configured (then
   * every caller is trusted, which suits a private network or local development).
   */
  readonly authenticated: boolean;
  /** A presented token was not valid (as opposed to no token at all). */
  readonly invalidToken: boolean;
}

/**
 * Checks bearer tokens against `AUTH_TOKENS`. Public operations (search, item reads, tracking)
 * need none; catalog writes, analytics and live subscriptions need one when tokens are configured.
 */
export class TokenAuthenticator {
  private readonly tokens: readonly Buffer[];

  constructor(tokens: readonly string[]) {
    this.tokens = tokens.map((token) => Buffer.from(token));
  }

  /** Whether any token is configured. */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /**
   * The viewer for an `Authorization` value (`Bearer <token>`, or the bare token as websocket
   * clients often send it in `connectionParams.authorization`).
   */
  viewerFor(authorization: unknown): Viewer {
    if (!this.enabled) return { authenticated: true, invalidToken: false };
    if (typeof authorization !== 'string' || authorization.length === 0)
      return { authenticated: false, invalidToken: false };
    const given = Buffer.from(authorization.replace(/^Bearer\s+/i, ''));
    // Compare against every token in constant time per token: no early exit that leaks which.
    const valid = this.tokens.reduce(
      (found, token) => (token.length === given.length && timingSafeEqual(token, given)) || found,
      false,
    );
    return { authenticated: valid, invalidToken: !valid };
  }
}

/** type-graphql's check behind `@Authorized()`: an authenticated viewer (UNAUTHENTICATED otherwise). */
export const authChecker: AuthChecker<GavelContext> = ({ context }) => context.viewer.authenticated;
