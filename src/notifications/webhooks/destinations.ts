import { BlockList, isIP } from 'node:net';

/**
 * Where deliveries may go (SSRF): never to loopback, private, link-local or otherwise special
 * addresses, unless the configuration allows a range (`IDFLOW_WEBHOOK_ALLOWED_NETWORKS`:
 * `loopback`, `private`, `linklocal` or CIDRs). A name is resolved once and the connection
 * goes to an address that passed this check (see `sender.ts`), so a DNS answer that changes
 * between the check and the connection (rebinding) cannot slip through.
 */
type Range = [address: string, prefix: number];

const NAMED: Record<string, Range[]> = {
  loopback: [['127.0.0.0', 8], ['::1', 128]],
  private: [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['fc00::', 7]],
  linklocal: [['169.254.0.0', 16], ['fe80::', 10]],
};

/** Never a receiver: "this host", multicast, reserved, benchmarking, documentation, NAT64 and 6to4 (which can embed any IPv4 address). */
const SPECIAL: Range[] = [
  ['0.0.0.0', 8], ['192.0.0.0', 24], ['192.0.2.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
  ['::', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2001:db8::', 32], ['2002::', 16], ['ff00::', 8],
];

export const NETWORK_NAMES = Object.keys(NAMED);

function blockList(ranges: Range[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of ranges) list.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  return list;
}

/** `::ffff:a.b.c.d` (and its hex form) is an IPv4 address: checked as one. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!mapped) return address;
  if (mapped[1]) return mapped[1];
  const hi = parseInt(mapped[2]!, 16);
  const lo = parseInt(mapped[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export class DestinationPolicy {
  readonly #refused = blockList([...Object.values(NAMED).flat(), ...SPECIAL]);
  readonly #allowed: BlockList;

  /** `allowed`: network names (`loopback`, `private`, `linklocal`) and CIDRs, as validated by the configuration. */
  constructor(allowed: readonly string[] = []) {
    this.#allowed = blockList(allowed.flatMap((entry): Range[] => NAMED[entry] ?? [cidr(entry)]));
  }

  allows(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(plain)) return false;
    return this.#allowed.check(plain, family) || !this.#refused.check(plain, family);
  }
}

function cidr(entry: string): Range {
  const [address, prefix] = entry.split('/');
  return [address!, prefix === undefined ? (isIP(address!) === 6 ? 128 : 32) : Number(prefix)];
}
