import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard: deliveries may only reach public unicast addresses, unless the allow-list (SSRF_ALLOW) opens a host
 * name, an address or a CIDR range. The same rules run at submit time ({@link checkUrlAllowed}, resolving DNS once)
 * and on every connection the HTTP client opens ({@link createGuardedLookup}), so a host that re-resolves to a
 * private address after the submit-time check (DNS rebinding) is still refused.
 */

/** Thrown (or passed to a lookup callback) when a destination resolves to an address the guard refuses. */
export class SsrfBlockedError extends Error {
  /** Node-style error code, so socket errors can be told apart by `code`. */
  readonly code = 'ERR_SSRF_BLOCKED';
  constructor(
    public readonly host: string,
    public readonly address: string,
    public readonly range: string,
  ) {
    super(
      host === address
        ? `destination address ${address} is ${range} and not allowed (SSRF guard; see SSRF_ALLOW)`
        : `destination host ${host} resolves to ${address} (${range}), which is not allowed (SSRF guard; see SSRF_ALLOW)`,
    );
    this.name = 'SsrfBlockedError';
  }
}

/** A parsed allow-list: host names (exact, or `*.suffix`) and address ranges. */
export interface SsrfPolicy {
  readonly hosts: ReadonlySet<string>;
  readonly hostSuffixes: readonly string[];
  readonly ranges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

/** Resolves a host name to all of its addresses (defaults to `dns.lookup` with `all: true`). */
export type ResolveAll = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolveAll: ResolveAll = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/**
 * Parses SSRF_ALLOW entries: `127.0.0.1`, `::1`, `10.0.0.0/8`, `localhost`, `*.internal.example`.
 * @throws Error naming the entry when one is neither a host name, an address nor a CIDR range.
 */
export function compileAllowList(entries: readonly string[]): SsrfPolicy {
  const hosts = new Set<string>();
  const hostSuffixes: string[] = [];
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry.includes('/')) {
      if (!ipaddr.isValidCIDR(entry)) throw new Error(`SSRF_ALLOW entry "${raw}" is not a valid CIDR range`);
      const [addr, bits] = ipaddr.parseCIDR(entry);
      ranges.push(normalizeRange(addr, bits));
    } else if (ipaddr.isValid(stripBrackets(entry))) {
      const addr = ipaddr.process(stripBrackets(entry));
      ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) {
      hostSuffixes.push(entry.slice(1));
    } else if (/^[a-z0-9.-]+$/.test(entry)) {
      hosts.add(entry.replace(/\.$/, ''));
    } else {
      throw new Error(`SSRF_ALLOW entry "${raw}" is not a host name, an IP address or a CIDR range`);
    }
  }
  return { hosts, hostSuffixes, ranges };
}

/** IPv4-mapped IPv6 ranges (`::ffff:10.0.0.0/104`) are matched as their IPv4 range. */
function normalizeRange(addr: ipaddr.IPv4 | ipaddr.IPv6, bits: number): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [addr, bits];
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** True when the allow-list opens this host name (before any resolution). */
export function isHostAllowed(host: string, policy: SsrfPolicy): boolean {
  const name = stripBrackets(host.toLowerCase()).replace(/\.$/, '');
  return policy.hosts.has(name) || policy.hostSuffixes.some((suffix) => name.endsWith(suffix));
}

/**
 * Why an address is refused, or undefined when it may be reached. Only public unicast addresses pass by default:
 * loopback, private (RFC 1918), link-local (incl. the 169.254.169.254 metadata address), unique-local (incl.
 * fd00:ec2::254), carrier-grade NAT (incl. 100.100.100.200), unspecified, multicast, reserved, and IPv6 forms that
 * embed IPv4 (6to4, Teredo, NAT64) are refused unless an allow-list range contains the address.
 */
export function addressBlockedReason(address: string, policy: SsrfPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  // process() turns ::ffff:a.b.c.d into a.b.c.d, so mapped addresses are judged as the IPv4 address they are.
  const addr = ipaddr.process(stripBrackets(address));
  for (const [base, bits] of policy.ranges) {
    if (base.kind() === addr.kind() && addr.match(base, bits)) return undefined;
  }
  const range = addr.range();
  return range === 'unicast' ? undefined : rangeLabel(range);
}

function rangeLabel(range: string): string {
  const labels: Record<string, string> = {
    loopback: 'a loopback address',
    private: 'a private address',
    linkLocal: 'a link-local address (cloud metadata lives here)',
    uniqueLocal: 'a unique-local address',
    carrierGradeNat: 'a carrier-grade NAT address',
    unspecified: 'the unspecified address',
    multicast: 'a multicast address',
    broadcast: 'the broadcast address',
  };
  return labels[range] ?? `a special-purpose address (${range})`;
}

/**
 * Resolves `host` (unless it is an address or allowed by name) and checks every address it resolves to.
 * @throws SsrfBlockedError for the first refused address. DNS errors propagate unchanged.
 */
export async function assertHostAllowed(
  host: string,
  policy: SsrfPolicy,
  resolveAll: ResolveAll = defaultResolveAll,
): Promise<void> {
  const bare = stripBrackets(host);
  if (net.isIP(bare)) {
    const reason = addressBlockedReason(bare, policy);
    if (reason) throw new SsrfBlockedError(bare, bare, reason);
    return;
  }
  if (isHostAllowed(bare, policy)) return;
  for (const { address } of await resolveAll(bare)) {
    const reason = addressBlockedReason(address, policy);
    if (reason) throw new SsrfBlockedError(bare, address, reason);
  }
}

/**
 * Submit-time check for the API: is this URL one the worker will deliver to? Resolves DNS and checks every address.
 * A host that does not resolve (now) is not refused here; the delivery then fails retryably and is re-checked.
 * @returns undefined when allowed, otherwise the reason it is refused.
 */
export async function checkUrlAllowed(
  url: string,
  allowList: readonly string[] | SsrfPolicy,
  resolveAll: ResolveAll = defaultResolveAll,
): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url is not a valid absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'url must use http or https';
  const policy = isPolicy(allowList) ? allowList : compileAllowList(allowList);
  try {
    await assertHostAllowed(parsed.hostname, policy, resolveAll);
    return undefined;
  } catch (err) {
    if (err instanceof SsrfBlockedError) return err.message;
    return undefined;
  }
}

function isPolicy(v: readonly string[] | SsrfPolicy): v is SsrfPolicy {
  return !Array.isArray(v);
}

/**
 * A `lookup` for `net.connect`/`tls.connect` that refuses disallowed addresses. The HTTP client's connector uses it
 * for every new connection, so the address checked is the address connected to.
 */
export function createGuardedLookup(
  policy: SsrfPolicy,
  resolveAll: ResolveAll = defaultResolveAll,
): net.LookupFunction {
  return (hostname, options, callback) => {
    const done = callback as (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void;
    const check = async () => {
      if (isHostAllowed(hostname, policy)) return resolveAll(hostname);
      const addresses = await resolveAll(hostname);
      for (const { address } of addresses) {
        const reason = addressBlockedReason(address, policy);
        if (reason) throw new SsrfBlockedError(hostname, address, reason);
      }
      return addresses;
    };
    check().then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        const first = usable[0];
        if (!first) {
          const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: 'ENOTFOUND',
            hostname,
          });
          done(err, '', 0);
        } else if (options.all) {
          done(null, usable);
        } else {
          done(null, first.address, first.family);
        }
      },
      (err: Error) => done(err, '', 0),
    );
  };
}
