import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { GavelContext } from '../graphql/context';
import { ErrorCode } from '../shared/errors';
import { Role } from './apiKey';

/** Who is calling, as far as Gavel's access rules care. */
export interface Viewer {
  /** The role of the presented key; null for an anonymous caller (public operations only). */
  readonly role: Role | null;
  /** The seller a SELLER key is bound to. */
  readonly sellerId?: string;
  /** Id of the API key used (`env` for an `AUTH_TOKENS` token, `open` in open mode); for logs. */
  readonly keyId?: string;
  /** A key was presented but is unknown, malformed or revoked (as opposed to no key at all). */
  readonly invalidToken: boolean;
}

/** The caller without a key. */
export const ANONYMOUS: Viewer = Object.freeze({ role: null, invalidToken: false });

/**
 * Field-level "who are you?": no key where one is needed. No HTTP status here (200 with the error
 * on the field), unlike a wrong key, which fails the whole request with 401 before execution.
 */
export function missingKey(what: string): GraphQLError {
  return new GraphQLError(`${what} needs an API key: send \`Authorization: Bearer <key>\`.`, {
    extensions: { code: ErrorCode.UNAUTHENTICATED },
  });
}

/** A valid key whose role does not allow the action. */
export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN } });
}

/**
 * Throws unless the viewer has one of `roles`. ADMIN passes every check (it operates the
 * service and creates the keys, so hiding analytics from it would protect nothing).
 *
 * @throws UNAUTHENTICATED for an anonymous viewer, FORBIDDEN for a key of another role
 */
export function requireRole(viewer: Viewer, roles: readonly Role[], what: string): void {
  if (viewer.role === null) throw missingKey(what);
  if (viewer.role === Role.ADMIN || roles.includes(viewer.role)) return;
  throw forbidden(`${what} is not allowed for a ${viewer.role} key (needs ${[Role.ADMIN, ...roles].join(' or ')}).`);
}

/**
 * Whether the viewer may read engagement figures of items with these sellers: ADMIN and ANALYST
 * all, SELLER only its own (an unknown item, `undefined` seller, is never its own).
 *
 * @throws UNAUTHENTICATED / FORBIDDEN as {@link requireRole}, and FORBIDDEN for another seller's item
 */
export function requireItemAnalyticsAccess(viewer: Viewer, sellerIds: ReadonlyArray<string | undefined>): void {
  requireRole(viewer, [Role.ANALYST, Role.SELLER], 'Item analytics');
  if (viewer.role !== Role.SELLER) return;
  if (sellerIds.some((sellerId) => sellerId === undefined || sellerId !== viewer.sellerId))
    throw forbidden("A SELLER key reads analytics of its own seller's items only.");
}

/**
 * type-graphql's check behind `@Authorized(...roles)`: throws Gavel's own UNAUTHENTICATED or
 * FORBIDDEN (so both transports carry the same code), returns true otherwise.
 */
export const authChecker: AuthChecker<GavelContext, Role> = ({ context, info }, roles) => {
  requireRole(context.viewer, roles, `\`${info.parentType.name}.${info.fieldName}\``);
  return true;
};
