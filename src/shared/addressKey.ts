import { isIP } from 'node:net';

/** What a single IPv6 subscriber is normally given (RFC 6177): a /64 at least, often a /56 or /48. */
export const DEFAULT_IPV6_LIMIT_PREFIX = 64;

/**
 * The key a per-address limit counts a client under (`IPV6_LIMIT_PREFIX`): an IPv4 address as is;
 * an IPv6 address by its first `ipv6Prefix` bits, written `2001:db8:1:2:0:0:0:0/64`, because one
 * host commonly holds a whole /64 and can send each request from a fresh address of it; an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports an IPv4 client)
 * as the IPv4 address it carries. A zone (`fe80::1%eth0`) is dropped. Anything that is not an IP
 * address (`unknown`) is its own key.
 *
 * Every per-address limit uses this key: HTTP requests per minute, websockets per address,
 * tracking events and new sessions per address, and the audit row budget.
 */
export function addressLimitKey(address: string, ipv6Prefix: number = DEFAULT_IPV6_LIMIT_PREFIX): string {
  if (isIP(address) === 4) return address;
  const bytes = ipv6Bytes(address);
  if (!bytes) return address;
  if (bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return bytes.subarray(12).join('.');
  const prefix = Math.min(128, Math.max(0, Math.floor(ipv6Prefix)));
  for (let bit = prefix; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(((bytes[index]! << 8) | bytes[index + 1]!).toString(16));
  return `${groups.join(':')}/${prefix}`;
}

/** The 16 bytes of an IPv6 address (`::` and a dotted IPv4 tail expanded), or undefined if it is not one. */
function ipv6Bytes(address: string): Uint8Array | undefined {
  const text = address.split('%')[0]!;
  if (isIP(text) !== 6) return undefined;
  const bytes = new Uint8Array(16);
  let hex = text;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    // The last 32 bits written as IPv4: two hex groups' worth.
    tail.split('.').forEach((part, index) => (bytes[12 + index] = Number(part)));
    hex = `${text.slice(0, text.length - tail.length)}0:0`;
  }
  const [left, right] = hex.split('::') as [string, string | undefined];
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right === undefined ? [] : right ? right.split(':') : [];
  const groups = [
    ...leftGroups,
    ...Array<string>(8 - leftGroups.length - rightGroups.length).fill('0'),
    ...rightGroups,
  ];
  groups.forEach((group, index) => {
    // The dotted tail's bytes are already in place.
    if (tail.includes('.') && index >= 6) return;
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}
