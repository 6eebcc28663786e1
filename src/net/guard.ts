import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { createIpPolicy, describeBlocked, type Blocked, type IpPolicy } from './ip-policy';

// SPEC 7 enforced on the address actually dialled. Two doors lead to a socket, and both are
// guarded inside undici's connector, after any URL handling and right before net/tls.connect:
//   - an IP literal host: net.connect never calls `lookup` for one, so it is checked here first;
//   - a name: net.connect calls our `lookup`, which resolves it (dns.lookup, all: true) and hands
//     net only addresses it has checked. There is no earlier "check" lookup that a rebinding DNS
//     server could answer differently: the answer checked is the answer dialled.
// If ANY resolved address is blocked the connection is refused, even when a public one is among
// them: dialling only the allowed ones would let an attacker probe which internal hosts exist (by
// timing) and leaves the choice to happy-eyeballs ordering; refusing is the one safe reading.

/** Resolves a name to all its addresses. The default is dns.lookup (getaddrinfo, /etc/hosts included), uncached. */
export type HostLookup = (hostname: string, options: { family?: number; hints?: number }) => Promise<LookupAddress[]>;

/** What the guard allows; the config's `delivery` keys. */
export interface NetworkRules {
  /** delivery.allow_private_networks: no guard at all when true. */
  allowPrivateNetworks: boolean;
  /** delivery.allowed_networks: CIDRs dialled even when they are private. */
  allowedNetworks: readonly string[];
}

/** An attempt refused before any packet left: the destination is in a blocked range. Never worth retrying. */
export class BlockedDestinationError extends Error {
  readonly code = 'ERR_HOOKRELAY_BLOCKED_DESTINATION';
  constructor(
    readonly blocked: Blocked,
    message: string,
  ) {
    super(message);
    this.name = 'BlockedDestinationError';
  }
}

/**
 * The attempt-record text: `blocked: 127.0.0.1 is a loopback address (delivery.allow_private_networks is false)`,
 * or `blocked: internal.example resolved to 10.0.0.1, a private address (...)` for a name.
 */
export function blockedMessage(blocked: Blocked, rules: NetworkRules, hostname?: string): string {
  const why =
    rules.allowedNetworks.length === 0
      ? 'delivery.allow_private_networks is false'
      : 'delivery.allow_private_networks is false and no delivery.allowed_networks entry covers it';
  return `blocked: ${describeBlocked(blocked, hostname)} (${why})`;
}

/** The blocked range of an IP-literal URL host, or null for a name or an allowed address. Used by the admin API at creation. */
export function blockedLiteral(hostOrAddress: string, rules: NetworkRules): Blocked | null {
  if (rules.allowPrivateNetworks || isIP(hostOrAddress) === 0) return null;
  return createIpPolicy(rules.allowedNetworks).check(hostOrAddress);
}

/** Resolves with every address of a name, in the resolver's order, through the OS resolver. */
export const systemLookup: HostLookup = (hostname, options) =>
  dns.lookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 });

/**
 * An undici `connect` function that refuses blocked destinations with a BlockedDestinationError
 * (see the top of this file); the rest is undici's own connector. Build it only when
 * allow_private_networks is false: with it true, the Agent keeps undici's connector untouched.
 */
export function createGuardedConnector(rules: NetworkRules, lookup: HostLookup = systemLookup): buildConnector.connector {
  const guard: Guard = { policy: createIpPolicy(rules.allowedNetworks), message: (b, host) => blockedMessage(b, rules, host) };
  return guardedConnector(() => guard, lookup);
}

/**
 * The connector of tenants' endpoints (SPEC 9): always guarded, whatever delivery.* says; only the
 * CIDRs `allowedNetworks()` returns (tenants.allowed_networks, read per connection so a reload
 * applies; the policy is rebuilt only when the list changes) are exempt.
 */
export function createTenantConnector(
  allowedNetworks: () => readonly string[],
  lookup: HostLookup = systemLookup,
): buildConnector.connector {
  let list: readonly string[] | undefined;
  let guard: Guard | undefined;
  const current = (): Guard => {
    const now = allowedNetworks();
    if (guard === undefined || now !== list) {
      list = now;
      guard = { policy: createIpPolicy(now), message: (b, host) => tenantBlockedMessage(b, now, host) };
    }
    return guard;
  };
  return guardedConnector(current, lookup);
}

/** What a tenant reads of a blocked attempt (SPEC 9): that it was blocked, never the address. */
export const BLOCKED_FOR_TENANT = 'blocked: destination not allowed';

/** An attempt's error as a tenant may read it: a blocked one without its address. */
export function errorForTenant(error: string | null): string | null {
  return error?.startsWith('blocked') ? BLOCKED_FOR_TENANT : error;
}

/** The attempt-record text of a tenant's blocked attempt (tenant credentials see only `blocked: destination not allowed`). */
export function tenantBlockedMessage(blocked: Blocked, allowedNetworks: readonly string[], hostname?: string): string {
  const why =
    allowedNetworks.length === 0
      ? "tenants' endpoints are held to the blocked ranges; tenants.allowed_networks is empty"
      : "tenants' endpoints are held to the blocked ranges; no tenants.allowed_networks entry covers it";
  return `blocked: ${describeBlocked(blocked, hostname)} (${why})`;
}

/** A policy and how its refusals read. */
interface Guard {
  policy: IpPolicy;
  message: (blocked: Blocked, hostname?: string) => string;
}

function guardedConnector(guardOf: () => Guard, lookup: HostLookup): buildConnector.connector {
  const connector = buildConnector({ lookup: guardedLookup(guardOf, lookup) });
  return (options, callback) => {
    const { policy, message } = guardOf();
    const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
    const blocked = isIP(host) === 0 ? null : policy.check(host);
    // Asynchronous like a failed dial: undici's client is mid-connect() when it calls us.
    if (blocked) process.nextTick(callback, new BlockedDestinationError(blocked, message(blocked)), null);
    else connector(options, callback);
  };
}

/** net.connect's `lookup`: resolves, refuses the lot if any address is blocked, answers in the form net asked for. */
function guardedLookup(guardOf: () => Guard, lookup: HostLookup): LookupFunction {
  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : 0;
    lookup(hostname, { family, ...(options.hints !== undefined && { hints: options.hints }) }).then(
      (addresses) => {
        const { policy, message } = guardOf();
        let error: NodeJS.ErrnoException | null = null;
        try {
          const blocked = addresses.map((a) => policy.check(a.address)).find((b) => b !== null);
          if (blocked) error = new BlockedDestinationError(blocked, message(blocked, hostname));
          else if (addresses.length === 0) error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        } catch (err) {
          error = err as Error; // a resolver answer that is not an IP address
        }
        if (error) callback(error, '');
        else if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
