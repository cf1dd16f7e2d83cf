import { LRUCache } from 'lru-cache';
import type { Connection } from 'mongoose';
import type { GavelConfig } from '../config';
import type { Clock } from '../shared/clock';
import {
  digestSecret,
  digestsEqual,
  generateApiKey,
  matchesAnyToken,
  parseApiKey,
  Role,
  type GeneratedKey,
} from './apiKey';
import { createApiKeyRepository, type ApiKeyRecord, type ApiKeyRepository } from './apiKey.repository';
import { ANONYMOUS, type Viewer } from './viewer';

/** How `AuthService` decides who calls. */
export interface AuthPolicy {
  /**
   * `keys`: API keys (database) and `AUTH_TOKENS` (as ADMIN) are checked, anonymous callers get
   * public operations only. `open`: every caller is ADMIN (development without keys; refused in
   * production by the config).
   */
  readonly mode: 'keys' | 'open';
  /** Legacy `AUTH_TOKENS`: each works as an ADMIN key. */
  readonly envTokens: readonly string[];
  /** How long a key lookup (hit or miss) is reused; revocation takes effect within this. */
  readonly cacheTtlMs: number;
  /** Most key ids cached (bounded, so random ids cannot grow memory). */
  readonly cacheMaxEntries: number;
}

type CachedLookup = { readonly record: ApiKeyRecord | null; readonly expiresAt: number };

/** A digest no secret has (all zeros): compared against when the key id is unknown, so the work is the same. */
const NO_DIGEST = Buffer.alloc(32);

/**
 * Turns an `Authorization` value into a {@link Viewer}, and creates, revokes and lists keys.
 * Lookups are cached per process for `cacheTtlMs`, so most requests cost no database round trip.
 */
export class AuthService {
  private readonly envDigests: readonly Buffer[];
  private readonly cache: LRUCache<string, CachedLookup>;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly clock: Clock,
    private readonly policy: AuthPolicy,
  ) {
    this.envDigests = policy.envTokens.map((token) => digestSecret(token));
    this.cache = new LRUCache({ max: policy.cacheMaxEntries });
  }

  /**
   * The viewer for an `Authorization` value (`Bearer <key>`, or the bare key as websocket clients
   * often send it in `connectionParams.authorization`). Never throws for a bad key: the transport
   * decides (HTTP 401, websocket close 4403).
   */
  async viewerFor(authorization: unknown): Promise<Viewer> {
    if (this.policy.mode === 'open') return { role: Role.ADMIN, keyId: 'open', invalidToken: false };
    if (typeof authorization !== 'string' || authorization.trim().length === 0) return ANONYMOUS;
    const presented = authorization.replace(/^Bearer\s+/i, '').trim();
    if (matchesAnyToken(presented, this.envDigests)) return { role: Role.ADMIN, keyId: 'env', invalidToken: false };
    const parsed = parseApiKey(presented);
    if (!parsed) return { ...ANONYMOUS, invalidToken: true };
    const record = await this.lookup(parsed.id);
    // Always one fixed-length comparison, even for an unknown id.
    const matches = digestsEqual(record?.secretDigest ?? NO_DIGEST, digestSecret(parsed.secret));
    if (!record || !matches || record.revokedAt) return { ...ANONYMOUS, invalidToken: true };
    return {
      role: record.role,
      sellerId: record.role === Role.SELLER ? (record.sellerId ?? undefined) : undefined,
      keyId: record._id,
      invalidToken: false,
    };
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the client. */
  async createKey(options: { role: Role; sellerId?: string; label?: string }): Promise<GeneratedKey> {
    if (options.role === Role.SELLER && !options.sellerId)
      throw new Error('A SELLER key needs a seller id (--seller).');
    if (options.role !== Role.SELLER && options.sellerId) throw new Error('Only SELLER keys are bound to a seller.');
    const generated = generateApiKey();
    await this.keys.insert({
      _id: generated.id,
      secretDigest: generated.digest,
      role: options.role,
      sellerId: options.sellerId ?? null,
      label: options.label ?? null,
      createdAt: this.clock.now(),
      revokedAt: null,
    });
    return generated;
  }

  /**
   * Revokes a key. This process forgets it at once; other processes within `cacheTtlMs`.
   * Returns false when no key has this id.
   */
  async revokeKey(id: string): Promise<boolean> {
    const revoked = await this.keys.revoke(id, this.clock.now());
    this.cache.delete(id);
    return revoked;
  }

  /** Every key without its digest, newest first. */
  listKeys(): ReturnType<ApiKeyRepository['list']> {
    return this.keys.list();
  }

  private async lookup(id: string): Promise<ApiKeyRecord | null> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(id);
    if (cached && cached.expiresAt > now) return cached.record;
    const record = await this.keys.findById(id);
    // Misses are cached too, so a flood of made-up ids costs one lookup per id and TTL at most.
    this.cache.set(id, { record, expiresAt: now + this.policy.cacheTtlMs });
    return record;
  }
}

/** Most key ids one process caches. */
const CACHE_MAX_ENTRIES = 10_000;

/** The process's AuthService from the validated configuration (shared by the server and `npm run keys`). */
export function createAuthService(config: GavelConfig, connection: Connection, clock: Clock): AuthService {
  return new AuthService(createApiKeyRepository(connection), clock, {
    mode: config.authMode,
    envTokens: config.authTokens,
    cacheTtlMs: config.authKeyCacheTtlMs,
    cacheMaxEntries: CACHE_MAX_ENTRIES,
  });
}
