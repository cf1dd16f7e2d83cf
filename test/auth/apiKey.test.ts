import {
  DIGEST_BYTES,
  digestSecret,
  digestsEqual,
  generateApiKey,
  matchesAnyToken,
  parseApiKey,
} from '../../src/auth/apiKey';
import type { ApiKeyRecord, ApiKeyRepository } from '../../src/auth/apiKey.repository';
import { AuthService } from '../../src/auth/auth.service';
import { ManualClock } from '../../src/shared/clock';

describe('API key format and hashing', () => {
  it('generates distinct keys whose stored digest is the SHA-256 of the secret part only', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    const parsed = parseApiKey(a.key)!;
    expect(parsed.id).toBe(a.id);
    expect(a.key).not.toContain(a.digest.toString('hex'));
    expect(digestsEqual(a.digest, digestSecret(parsed.secret))).toBe(true);
    expect(a.digest).toHaveLength(DIGEST_BYTES);
  });

  it('rejects anything without the key shape', () => {
    for (const bad of [
      '',
      'gvl_',
      'gvl_0123456789abcdef_short',
      'Bearer gvl_x',
      'gvl_XYZ3456789abcdef_' + 'a'.repeat(43),
    ])
      expect(parseApiKey(bad)).toBeUndefined();
  });

  it('compares fixed-length digests only: a value of another length is false, never a throw', () => {
    const digest = digestSecret('secret');
    expect(digestsEqual(digest, digestSecret('secret'))).toBe(true);
    expect(digestsEqual(digest, digestSecret('secreT'))).toBe(false);
    expect(digestsEqual(digest, Buffer.from('short'))).toBe(false);
  });

  it('checks legacy tokens by digest against every token (any length, no early exit)', () => {
    const tokens = ['dashboard-token-0123456789', 'another-token-abcdefghij'].map(digestSecret);
    expect(matchesAnyToken('another-token-abcdefghij', tokens)).toBe(true);
    expect(matchesAnyToken('x', tokens)).toBe(false);
    expect(matchesAnyToken('dashboard-token-0123456789-and-more', tokens)).toBe(false);
  });
});

describe('AuthService key lookups', () => {
  function fakeRepository() {
    const rows = new Map<string, ApiKeyRecord>();
    const calls = { findById: 0 };
    const repository: ApiKeyRepository = {
      findById: async (id) => {
        calls.findById += 1;
        const row = rows.get(id);
        return row ? { ...row } : null; // a copy, as a database returns
      },
      insert: async (record) => void rows.set(record._id, record),
      revoke: async (id, at) => {
        const row = rows.get(id);
        if (row) row.revokedAt ??= at;
        return Boolean(row);
      },
      list: async () => [...rows.values()],
    };
    return { repository, rows, calls };
  }
  const policy = {
    mode: 'keys' as const,
    envTokens: ['legacy-token-0123456789'],
    cacheTtlMs: 30_000,
    cacheMaxEntries: 100,
  };

  it('caches lookups for the TTL, so revocation elsewhere takes effect within it', async () => {
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    const { repository, rows, calls } = fakeRepository();
    const auth = new AuthService(repository, clock, policy);
    const { id, key } = await auth.createKey({ role: 'SELLER', sellerId: 'seller-1' });
    expect(await auth.viewerFor(`Bearer ${key}`)).toMatchObject({ role: 'SELLER', sellerId: 'seller-1', keyId: id });
    await auth.viewerFor(key);
    expect(calls.findById).toBe(1);
    // Revoked by another process (straight in the store): still valid here until the TTL passes.
    rows.get(id)!.revokedAt = clock.now();
    expect((await auth.viewerFor(key)).role).toBe('SELLER');
    clock.advance(30_001);
    expect(await auth.viewerFor(key)).toMatchObject({ role: null, invalidToken: true });
    expect(calls.findById).toBe(2);
  });

  it('forgets a key revoked through this process at once', async () => {
    const auth = new AuthService(fakeRepository().repository, new ManualClock(new Date()), policy);
    const { id, key } = await auth.createKey({ role: 'ANALYST' });
    expect((await auth.viewerFor(key)).role).toBe('ANALYST');
    expect(await auth.revokeKey(id)).toBe(true);
    expect((await auth.viewerFor(key)).invalidToken).toBe(true);
  });

  it('refuses a right id with a wrong secret, and caches unknown ids', async () => {
    const { repository, calls } = fakeRepository();
    const auth = new AuthService(repository, new ManualClock(new Date()), policy);
    const { id } = await auth.createKey({ role: 'ADMIN' });
    expect((await auth.viewerFor(`gvl_${id}_${'A'.repeat(43)}`)).invalidToken).toBe(true);
    const unknown = `gvl_0123456789abcdef_${'B'.repeat(43)}`;
    await auth.viewerFor(unknown);
    await auth.viewerFor(unknown);
    expect(calls.findById).toBe(2);
  });

  it('accepts AUTH_TOKENS as ADMIN without a lookup; anonymous without a key; everyone ADMIN in open mode', async () => {
    const { repository, calls } = fakeRepository();
    const auth = new AuthService(repository, new ManualClock(new Date()), policy);
    expect(await auth.viewerFor('Bearer legacy-token-0123456789')).toMatchObject({ role: 'ADMIN', keyId: 'env' });
    expect(await auth.viewerFor(undefined)).toEqual({ role: null, invalidToken: false });
    expect(calls.findById).toBe(0);
    const open = new AuthService(repository, new ManualClock(new Date()), { ...policy, mode: 'open' });
    expect((await open.viewerFor('anything')).role).toBe('ADMIN');
  });

  it('binds SELLER keys, and only SELLER keys, to a seller', async () => {
    const auth = new AuthService(fakeRepository().repository, new ManualClock(new Date()), policy);
    await expect(auth.createKey({ role: 'SELLER' })).rejects.toThrow(/seller id/);
    await expect(auth.createKey({ role: 'ANALYST', sellerId: 's' })).rejects.toThrow(/Only SELLER/);
  });
});
