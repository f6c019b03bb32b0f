import { isIPv6 } from 'node:net';

/**
 * The key a client address is counted under. An IPv4 address is itself; an IPv6 address
 * counts as its /64, the smallest block an end site is given (RFC 6177): anyone holding
 * one can use billions of its addresses, and must not get billions of counters.
 */
export function addressKey(ip: string): string {
  const address = ip.trim().toLowerCase();
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}
