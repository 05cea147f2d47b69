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

/**
 * True when the client address is inside one of the ranges. IPv4-mapped IPv6 addresses
 * (`::ffff:203.0.113.7`, as Node reports IPv4 clients on dual-stack sockets) count as IPv4.
 */
export function isAddressAllowed(clientIp: string | null | undefined, ranges: readonly string[]): boolean {
  if (!clientIp) return false;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(clientIp);
  } catch {
    return false;
  }
  return ranges.some((text) => {
    const range = parseRange(text);
    if (!range) return false;
    const [network, bits] = range;
    const normalized = network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() ? (network as ipaddr.IPv6).toIPv4Address() : network;
    const prefix = normalized === network ? bits : Math.max(0, bits - 96);
    if (address.kind() !== normalized.kind()) return false;
    return address.match(normalized, prefix);
  });
}
