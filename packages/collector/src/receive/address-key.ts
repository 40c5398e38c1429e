import { isIP } from 'node:net';

/**
 * The key a client address is budgeted under: an IPv4 address as it is, an IPv6 address by its /64.
 * One IPv6 host usually holds a whole /64 (SLAAC, privacy addresses), so keying by the full address
 * would hand it 2^64 budgets. Written here because node:net can check an address against a block
 * (BlockList) but not take its prefix, and no kept library parses IPv6.
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) {
    return address;
  }
  const bare = address.split('%')[0]!.toLowerCase();
  const double = bare.indexOf('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  // A dotted IPv4 tail (::ffff:1.2.3.4) takes the place of two groups; it never reaches the first four.
  const width = (list: string[]): number => list.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  let head: string[];
  if (double === -1) {
    head = groups(bare);
  } else {
    const left = groups(bare.slice(0, double));
    const right = groups(bare.slice(double + 2));
    head = [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  }
  return `${head
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
