import ipaddr from 'ipaddr.js';

/** Parses a CIDR range (IPv4 or IPv6) or a single address; null when it is not one. */
export function parseRange(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  // ipaddr.js also reads shorthand IPv4 ("10/8" as 0.0.0.10, "0x7f.1", "3232235777"): an allowlist
  // entry must say what it means, so IPv4 is accepted only as four decimal parts.
  const address = text.split('/')[0] ?? '';
  if (!address.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(address)) return null;
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

export function isValidRange(text: string): boolean {
  return parseRange(text) !== null;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A range as the client's address is matched against it: IPv4-mapped IPv6 ranges count as IPv4. */
function matchableRange(text: string): Range | null {
  const range = parseRange(text);
  if (!range) return null;
  const [network, bits] = range;
  if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress()) return [(network as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)];
  return range;
}

/**
 * True when the client address is inside one of the ranges. IPv4-mapped IPv6 addresses
 * (`::ffff:203.0.113.7`, as Node reports IPv4 clients on dual-stack sockets) count as IPv4.
 */
export function isAddressAllowed(clientIp: string | null | undefined, ranges: readonly string[]): boolean {
  return isInRanges(clientIp, ranges.map(matchableRange));
}

function isInRanges(clientIp: string | null | undefined, ranges: readonly (Range | null)[]): boolean {
  if (!clientIp) return false;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(clientIp);
  } catch {
    return false;
  }
  return ranges.some((range) => range !== null && address.kind() === range[0].kind() && address.match(range[0], range[1]));
}

/** Answers remembered per allowlist: a key's callers are few addresses, asked about on every request. */
const ANSWERS_PER_ALLOWLIST = 256;

interface Allowlist {
  ranges: (Range | null)[];
  answers: Map<string, boolean>;
}

/**
 * `isAddressAllowed` for an allowlist seen on every request (a key record's own array): its ranges
 * are parsed once and its answers kept per address, at most `ANSWERS_PER_ALLOWLIST` of them. The
 * record is replaced when the key changes, and with it this memo.
 */
export function allowlistChecker(): (clientIp: string | null, ranges: readonly string[]) => boolean {
  const allowlists = new WeakMap<readonly string[], Allowlist>();
  return (clientIp, ranges) => {
    if (!clientIp) return false;
    let allowlist = allowlists.get(ranges);
    if (!allowlist) {
      allowlist = { ranges: ranges.map(matchableRange), answers: new Map() };
      allowlists.set(ranges, allowlist);
    }
    let allowed = allowlist.answers.get(clientIp);
    if (allowed === undefined) {
      allowed = isInRanges(clientIp, allowlist.ranges);
      if (allowlist.answers.size >= ANSWERS_PER_ALLOWLIST) allowlist.answers.clear();
      allowlist.answers.set(clientIp, allowed);
    }
    return allowed;
  };
}
