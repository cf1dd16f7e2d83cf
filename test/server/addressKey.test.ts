import { addressLimitKey } from '../../src/shared/addressKey';

// The key per-address limits count a client under (issue 19, finding 8): pure rules, no server.

describe('addressLimitKey', () => {
  it('keys an IPv4 client by its whole address', () => {
    expect(addressLimitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressLimitKey('203.0.113.8')).toBe('203.0.113.8');
    expect(addressLimitKey('127.0.0.1', 48)).toBe('127.0.0.1');
  });

  it('keys an IPv6 client by its /64: every address of one /64 is one key, the next /64 another', () => {
    const key = addressLimitKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2:0:0:0:0/64');
    for (const address of [
      '2001:db8:1:2::2',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2:abcd::9',
      '2001:db8:1:2::1%eth0',
    ])
      expect(addressLimitKey(address)).toBe(key);
    expect(addressLimitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3:0:0:0:0/64');
    expect(addressLimitKey('2001:db8:1:3::1')).not.toBe(key);
  });

  it('takes the prefix length from IPV6_LIMIT_PREFIX, on any bit boundary', () => {
    expect(addressLimitKey('2001:db8:1:2::1', 48)).toBe('2001:db8:1:0:0:0:0:0/48');
    expect(addressLimitKey('2001:db8:1:ff02::1', 56)).toBe('2001:db8:1:ff00:0:0:0:0/56');
    expect(addressLimitKey('2001:db8:1:2::1', 60)).toBe('2001:db8:1:0:0:0:0:0/60');
    expect(addressLimitKey('2001:db8:1:1f::1', 60)).toBe('2001:db8:1:10:0:0:0:0/60');
    expect(addressLimitKey('2001:db8:1:2:3:4:5:6', 128)).toBe('2001:db8:1:2:3:4:5:6/128');
    expect(addressLimitKey('::1', 64)).toBe('0:0:0:0:0:0:0:0/64');
    expect(addressLimitKey('::', 64)).toBe('0:0:0:0:0:0:0:0/64');
  });

  it('keys an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(addressLimitKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressLimitKey('::FFFF:203.0.113.7')).toBe('203.0.113.7');
    expect(addressLimitKey('::ffff:cb00:7107')).toBe('203.0.113.7');
    expect(addressLimitKey('0:0:0:0:0:ffff:203.0.113.7')).toBe('203.0.113.7');
    // Two mapped addresses are two clients, not one /64 (they share their first 64 bits).
    expect(addressLimitKey('::ffff:203.0.113.8')).not.toBe(addressLimitKey('::ffff:203.0.113.7'));
    // A dotted tail that is not the mapped form stays IPv6.
    expect(addressLimitKey('64:ff9b::203.0.113.7')).toBe('64:ff9b:0:0:0:0:0:0/64');
  });

  it('keeps anything that is not an address as its own key', () => {
    expect(addressLimitKey('unknown')).toBe('unknown');
    expect(addressLimitKey('')).toBe('');
    expect(addressLimitKey('2001:db8::1::2')).toBe('2001:db8::1::2');
  });
});
