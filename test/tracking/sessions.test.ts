import { SignedTokenCodec } from '../../src/shared/signedToken';
import { ManualClock } from '../../src/shared/clock';
import { RateLimiter } from '../../src/tracking/rateLimiter';
import { SessionSigner } from '../../src/tracking/sessions';

// Pure rules of the session signer and the rate limiter (no server, no database).
const SECRET = 'unit-test-session-secret-0123';

describe('SessionSigner', () => {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  const signer = new SessionSigner(SECRET, clock, 3_600_000, 300_000);

  it('verifies its own ids, all distinct and within the tracking id alphabet and length', () => {
    const ids = Array.from({ length: 100 }, () => signer.issue().sessionId);
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
      expect(signer.verify(id)).toBeNull();
    }
  });

  it('refuses a token signed with the same secret for another purpose: the purpose is part of the signature', () => {
    const payload = { s: 'AAAAAAAAAAAAAAAA', t: clock.now().getTime() };
    expect(signer.verify(new SignedTokenCodec(SECRET).encode(payload))).toMatch(/not a session issued/);
    expect(signer.verify(new SignedTokenCodec(SECRET, 'tracking-session').encode(payload))).toBeNull();
  });

  it('refuses ids from the future and expired ids', () => {
    const codec = new SignedTokenCodec(SECRET, 'tracking-session');
    const at = (offset: number) => codec.encode({ s: 'AAAAAAAAAAAAAAAA', t: clock.now().getTime() + offset });
    expect(signer.verify(at(300_000))).toBeNull();
    expect(signer.verify(at(300_001))).toMatch(/not a session issued/);
    expect(signer.verify(at(-3_600_000))).toBeNull();
    expect(signer.verify(at(-3_600_001))).toMatch(/expired/);
  });
});

describe('RateLimiter (in process)', () => {
  it('allows the first points of a request within the budget, refuses the rest, and resets each minute', async () => {
    const clock = new ManualClock('2026-03-01T12:00:10.000Z');
    const limiter = new RateLimiter(`unit-${Math.random()}`, 10, clock);
    expect(await limiter.take('a', 4)).toEqual({ allowed: 4, retryAfterMs: 50_000 });
    expect((await limiter.take('a', 8)).allowed).toBe(6);
    expect((await limiter.take('a', 1)).allowed).toBe(0);
    expect((await limiter.take('b', 1)).allowed).toBe(1);
    clock.advance(50_000);
    expect((await limiter.take('a', 12)).allowed).toBe(10);
  });
});
