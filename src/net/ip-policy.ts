import { isIPv4, isIPv6 } from 'node:net';

// Which addresses a delivery may dial (SPEC 7). Pure: no DNS, no sockets.
//
// Every address becomes one 128-bit bigint, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
// so one rule table and one CIDR list cover both families and a v4 CIDR matches the mapped form
// for free. Hand-rolled rather than node:net BlockList: BlockList says "in the list" but not which
// range matched (the error must name it), and it cannot see the v4 address inside a NAT64, 6to4
// or IPv4-compatible address; we would have to extract that by hand anyway.

/** Why an address is blocked; the word the error message uses. */
export type BlockedRange =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'CGNAT'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'reserved';

/** A blocked address: which range, and the IPv4 address inside it when that is what matched. */
export interface Blocked {
  address: string;
  range: BlockedRange;
  /** The IPv4 address an IPv4-mapped, -compatible, NAT64 or 6to4 address stands for. */
  embedded?: string;
}

interface Network {
  base: bigint;
  prefix: number;
}

const V4_MAPPED = 0xffffn << 32n;

// Order matters only for the word in the message: the first match names the range.
const RULES: readonly (Network & { range: BlockedRange })[] = [
  rule('0.0.0.0/8', 'unspecified'),
  rule('127.0.0.0/8', 'loopback'),
  rule('10.0.0.0/8', 'private'),
  rule('172.16.0.0/12', 'private'),
  rule('192.168.0.0/16', 'private'),
  rule('169.254.0.0/16', 'link-local'), // 169.254.169.254: cloud metadata
  rule('100.64.0.0/10', 'CGNAT'),
  rule('224.0.0.0/4', 'multicast'),
  rule('255.255.255.255/32', 'broadcast'),
  rule('240.0.0.0/4', 'reserved'),
  rule('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  rule('198.18.0.0/15', 'reserved'), // benchmarking; used inside some networks
  rule('::/128', 'unspecified'),
  rule('::1/128', 'loopback'),
  rule('fe80::/10', 'link-local'),
  rule('fec0::/10', 'site-local'),
  rule('fc00::/7', 'unique-local'),
  rule('ff00::/8', 'multicast'),
  rule('100::/64', 'reserved'), // discard-only
];

/** IPv6 ranges that carry an IPv4 address in their low 32 bits (6to4 is handled apart). */
const EMBEDDING: readonly Network[] = [
  parseCidr('::ffff:0:0/96'), // IPv4-mapped
  parseCidr('::/96'), // IPv4-compatible (deprecated)
  parseCidr('::ffff:0:0:0/96'), // SIIT IPv4-translated
  parseCidr('64:ff9b::/96'), // NAT64 well-known prefix
];
const SIX_TO_FOUR = parseCidr('2002::/16');

/** Classifies addresses against the blocked ranges, except the `allowed` CIDRs. */
export interface IpPolicy {
  /** The blocked range `address` (an IP literal, v4 or v6, optionally with a %zone) falls in, or null when it may be dialled. Throws on a non-IP string. */
  check(address: string): Blocked | null;
}

/**
 * A policy that blocks SPEC 7's ranges (and their IPv4-mapped and NAT64 forms) unless an address
 * is in one of `allowedNetworks` (CIDRs as the config validated them). A v4 CIDR also allows the
 * v4 address inside a mapped or NAT64 form.
 */
export function createIpPolicy(allowedNetworks: readonly string[]): IpPolicy {
  const allowed = allowedNetworks.map(parseCidr);
  const isAllowed = (n: bigint) => allowed.some((net) => contains(net, n));
  return {
    check(address) {
      const n = parseIp(address);
      const v4 = embeddedV4(n);
      if (isAllowed(n) || (v4 !== null && isAllowed(v4))) return null;
      const direct = RULES.find((r) => contains(r, n));
      // ::ffff:7f00:1 matches the v4 rule itself; say which v4 address it stands for.
      if (direct) return { address, range: direct.range, ...(v4 === n && !isIPv4(address) && { embedded: formatV4(n) }) };
      const inner = v4 === null || v4 === n ? undefined : RULES.find((r) => contains(r, v4));
      return inner ? { address, range: inner.range, embedded: formatV4(v4!) } : null;
    },
  };
}

/** The IP literal a URL's host is (WHATWG URL already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1), or null for a name. */
export function literalHost(url: string | URL): string | null {
  const hostname = (typeof url === 'string' ? new URL(url) : url).hostname;
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIPv4(bare) || isIPv6(bare) ? bare : null;
}

/**
 * `10.0.0.1 is a private address`, `::ffff:7f00:1 stands for 127.0.0.1, a loopback address`, or
 * with the name it came from: `internal.example resolved to 10.0.0.1, a private address`.
 */
export function describeBlocked(b: Blocked, hostname?: string): string {
  const what = `${b.range === 'unspecified' ? 'an' : 'a'} ${b.range} address`;
  if (hostname === undefined) return b.embedded ? `${b.address} stands for ${b.embedded}, ${what}` : `${b.address} is ${what}`;
  return `${hostname} resolved to ${b.address}, ${b.embedded ? `which stands for ${b.embedded}, ` : ''}${what}`;
}

/** The IPv4 address (as its mapped bigint) inside a mapped, compatible, SIIT, NAT64 or 6to4 address; the address itself when it is mapped v4; else null. */
function embeddedV4(n: bigint): bigint | null {
  if (EMBEDDING.some((net) => contains(net, n))) return V4_MAPPED | (n & 0xffffffffn);
  if (contains(SIX_TO_FOUR, n)) return V4_MAPPED | ((n >> 80n) & 0xffffffffn);
  return null;
}

function contains(net: Network, n: bigint): boolean {
  const shift = BigInt(128 - net.prefix);
  return n >> shift === net.base >> shift;
}

/** `10.0.0.0/8` or `fd00::/8` as a 128-bit network; v4 prefixes count from the mapped form's bit 96. */
function parseCidr(cidr: string): Network {
  const slash = cidr.lastIndexOf('/');
  const address = slash === -1 ? cidr : cidr.slice(0, slash);
  const bits = slash === -1 ? undefined : Number(cidr.slice(slash + 1));
  const v4only = isIPv4(address);
  const prefix = (bits ?? (v4only ? 32 : 128)) + (v4only ? 96 : 0);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new Error(`invalid CIDR '${cidr}'`);
  return { base: parseIp(address), prefix };
}

function rule(cidr: string, range: BlockedRange): Network & { range: BlockedRange } {
  return { ...parseCidr(cidr), range };
}

/** An IP literal as 128 bits, IPv4 as ::ffff:a.b.c.d; a %zone is ignored. Throws on anything else. */
export function parseIp(address: string): bigint {
  if (isIPv4(address)) return V4_MAPPED | parseV4(address);
  const bare = address.split('%', 1)[0]!;
  if (!isIPv6(bare)) throw new Error(`not an IP address: '${address}'`);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes its two hex groups.
  const lastColon = bare.lastIndexOf(':');
  const text = bare.includes('.', lastColon) ? bare.slice(0, lastColon + 1) + hexGroups(parseV4(bare.slice(lastColon + 1))) : bare;
  const halves = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(parseInt(g, 16))));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...left, ...Array<bigint>(Math.max(0, 8 - left.length - right.length)).fill(0n), ...right];
  if (all.length !== 8) throw new Error(`not an IP address: '${address}'`);
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function parseV4(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function hexGroups(quad: bigint): string {
  return `${(quad >> 16n).toString(16)}:${(quad & 0xffffn).toString(16)}`;
}

function formatV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)).join('.');
}
