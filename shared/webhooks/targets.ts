/**
 * SSRF guard for webhook targets. A subscriber chooses the URL and our delivery identity makes the
 * request, so a target must be a public address: never loopback, private (RFC 1918), link-local
 * (169.254.0.0/16, which holds the metadata server 169.254.169.254), CGNAT (100.64.0.0/10), unique-local
 * or loopback IPv6, multicast, reserved or unspecified, nor an IPv4-mapped or -embedding IPv6 form of
 * one (ipaddr.js classifies; only its `unicast` passes). Checked when a subscription is made and again
 * at every delivery, on the addresses the connection actually uses (DNS rebinding): `guardedLookup`
 * is the socket's resolver. HTTPS only; `allowHosts` (WEBHOOK_ALLOW_HOSTS, off by default) names
 * host:port pairs exempt from all of it, for a local receiver in tests and the local run.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

const BLOCKED_NAMES = /(^|\.)(localhost|metadata\.google\.internal|metadata|internal)\.?$/i;

/** Why `ip` may not be a target, or null when it is a public unicast address. */
export function refusedAddress(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return `${ip} is not an IP address`;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  const range = addr.range();
  return range === 'unicast' ? null : `${ip} is a ${range} address`;
}

export interface TargetPolicy {
  /** host:port pairs exempt from the checks (tests, the local run). */
  allowHosts: ReadonlySet<string>;
}

const hostPort = (u: URL) => `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;

export const isAllowListed = (u: URL, policy: TargetPolicy) => policy.allowHosts.has(hostPort(u));

/** The URL's literal IP (brackets stripped), or null for a name. */
function literalIp(u: URL): string | null {
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return ipaddr.isValid(h) ? h : null;
}

/**
 * Refuses a target URL that is not HTTPS to a public address (resolving its name: every address it
 * has must be public). Allow-listed host:port pairs pass (http too).
 */
export async function checkTarget(
  raw: string,
  policy: TargetPolicy,
  resolve: (host: string) => Promise<string[]> = async (h) =>
    (await lookup(h, { all: true, verbatim: true })).map((a) => a.address),
): Promise<URL> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TargetRefused('not a URL');
  }
  if (u.username || u.password) throw new TargetRefused('credentials in the URL are not allowed');
  if (isAllowListed(u, policy)) return u;
  if (u.protocol !== 'https:') throw new TargetRefused('must be https');
  const ip = literalIp(u);
  if (ip) {
    const why = refusedAddress(ip);
    if (why) throw new TargetRefused(why);
    return u;
  }
  if (BLOCKED_NAMES.test(u.hostname)) throw new TargetRefused(`${u.hostname} is an internal name`);
  let addresses: string[];
  try {
    addresses = await resolve(u.hostname);
  } catch {
    throw new TargetRefused(`${u.hostname} does not resolve`);
  }
  if (addresses.length === 0) throw new TargetRefused(`${u.hostname} does not resolve`);
  for (const a of addresses) {
    const why = refusedAddress(a);
    if (why) throw new TargetRefused(`${u.hostname} resolves to ${why.replace(/^\S+ is /, '')} (${a})`);
  }
  return u;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A socket `lookup` that resolves as usual and fails the connection when any address is not public:
 * the check happens on the very addresses the socket connects to, so a name that resolved to a public
 * address at subscription time and to 127.0.0.1 now is refused.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true, verbatim: true })
    .then((addresses) => {
      const bad = addresses.map((a) => refusedAddress(a.address)).find((why) => why !== null);
      if (bad || addresses.length === 0) {
        const err: NodeJS.ErrnoException = new TargetRefused(`${hostname}: ${bad ?? 'no address'}`);
        err.code = 'EREFUSEDTARGET';
        callback(err, []);
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    })
    .catch((err: NodeJS.ErrnoException) => callback(err, []));
}

/** WEBHOOK_ALLOW_HOSTS: comma-separated host:port pairs. */
export const parseAllowHosts = (text: string): Set<string> =>
  new Set(
    text
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
