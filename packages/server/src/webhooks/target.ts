/**
 * Where a webhook may be sent. A webhook URL is chosen by whoever holds a `webhooks:write` key, and
 * the server sends to it from inside the operator's network: without these checks a webhook is a
 * way to reach the cloud metadata service, a database's admin page or anything else on loopback
 * or a private network (SSRF). The rule is "global unicast only": ipaddr.js classifies the
 * address, and every other range (private, loopback, link-local with the 169.254.169.254 metadata
 * address, CGNAT, unique-local with fd00:ec2::254, multicast, reserved, NAT64/6to4/Teredo, which
 * can embed any IPv4 address) is refused.
 *
 * The URL is checked when it is saved (to answer 400 with the reason) and again on every delivery,
 * through the lookup the delivery's connection itself uses: a name that resolved to a public
 * address when it was saved may resolve to 127.0.0.1 now (DNS rebinding), and the address checked
 * is the address connected to.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface TargetPolicy {
  /** Dev mode: http is accepted, and so are loopback addresses. */
  dev: boolean;
  /** Named exceptions: hosts that may resolve to internal addresses (lower case). */
  allowedHosts: readonly string[];
}

/** Why an address may not be reached, or null when it may. */
export function refusedAddressReason(address: string, policy: Pick<TargetPolicy, 'dev'>): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() reads an IPv4-mapped IPv6 address (::ffff:10.0.0.1) as the IPv4 address it is.
    parsed = ipaddr.process(address);
  } catch {
    return `${address} is not an IP address`;
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && policy.dev) return null;
  return `${address} is a ${range} address`;
}

/** The host of a URL as a lookup takes it (IPv6 literals without their brackets). */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Why the URL's scheme, form or literal address is refused, without resolving any name. */
export function refusedUrlReason(text: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'it is not an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy.dev && url.protocol === 'http:')) return 'only https URLs are accepted (http only in dev mode)';
  if (url.username || url.password) return 'it must not carry a user name or password';
  const host = bareHost(url);
  if (policy.allowedHosts.includes(host)) return null;
  return isIP(host) ? refusedAddressReason(host, policy) : null;
}

type Resolve = (host: string) => Promise<LookupAddress[]>;

const resolveAll: Resolve = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/**
 * Why the URL may not receive webhooks, or null. A name must resolve, and every address it
 * resolves to must be allowed (one internal address among public ones is refused: the client may
 * pick either).
 */
export async function refusedTargetReason(text: string, policy: TargetPolicy, resolve: Resolve = resolveAll): Promise<string | null> {
  const refused = refusedUrlReason(text, policy);
  if (refused) return refused;
  const host = bareHost(new URL(text));
  if (isIP(host) || policy.allowedHosts.includes(host)) return null;
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    return `${host} does not resolve`;
  }
  if (addresses.length === 0) return `${host} does not resolve`;
  for (const { address } of addresses) {
    const reason = refusedAddressReason(address, policy);
    if (reason) return `${host} resolves to ${address}, which is not allowed (${reason})`;
  }
  return null;
}

export class RefusedTarget extends Error {
  override name = 'RefusedTarget';
  readonly code = 'ERR_WEBHOOK_TARGET_REFUSED';
}

/**
 * The lookup for the delivery's sockets: it resolves the name, refuses when any address is not
 * allowed, and hands the socket exactly the addresses it checked (so the connection is pinned to
 * them). Literal addresses never reach a lookup: `refusedUrlReason` checks those before sending.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const allowed = policy.allowedHosts.includes(host);
    dnsLookup(host, { all: true, verbatim: true, ...(options.family ? { family: options.family } : {}) }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = allowed ? null : addresses.map(({ address }) => refusedAddressReason(address, policy)).find((reason) => reason !== null);
      if (refused || addresses.length === 0) return callback(new RefusedTarget(`${host}: ${refused ?? 'no address'}`), '', 0);
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
