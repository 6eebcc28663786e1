import { issueEntries } from '../config/errors';
import { type Config, subscriptionSchema } from '../config/schema';
import { AppError, type FieldError, formatPath, invalidRequest } from '../lib/app-error';
import { blockedLiteral, blockedMessage, tenantBlockedMessage } from '../net/guard';
import { literalHost } from '../net/ip-policy';
import { SECRET_GENERATORS } from '../signing';
import { REDACTED } from './redact';

// A subscription definition as the admin API stores it: config-shaped JSON exactly as given
// (durations as strings, secrets included), validated by the config's own subscriptionSchema.

/** A subscription definition after validation: config-shaped, every default filled in. */
export type SubscriptionDefinition = Config['subscriptions'][number];

/** A definition before validation: a JSON object. */
export type RawSpec = Record<string, unknown>;

const DEFAULT_SCHEME = 'standard-webhooks';

/** Validates a definition; throws 400 with every problem at its path (unknown keys one by one). */
export function parseSpec(spec: RawSpec, message = 'the subscription is invalid'): SubscriptionDefinition {
  const result = subscriptionSchema.safeParse(spec);
  if (result.success) return result.data;
  throw invalidRequest(message, specErrors(result.error.issues));
}

/** The definition as stored: its URL in the normal form the schema gave it, so what is stored is what is shown. */
export function normalisedSpec(spec: RawSpec, def: SubscriptionDefinition): RawSpec {
  return spec.url === def.url ? spec : { ...spec, url: def.url };
}

/**
 * Refuses (400 on `url`) a URL whose host is a literal address the network guard blocks (SPEC 7),
 * after WHATWG normalisation (http://2130706433/ is 127.0.0.1). Names pass: they are checked
 * when dialled, since they may resolve differently by then. Reads the current config's keys.
 */
export function checkDestination(url: string, delivery: DestinationRules): void {
  const rules = { allowPrivateNetworks: delivery.allow_private_networks, allowedNetworks: delivery.allowed_networks };
  const address = literalHost(url);
  const blocked = address === null ? null : blockedLiteral(address, rules);
  if (!blocked) return;
  const message = delivery.tenant ? tenantBlockedMessage(blocked, rules.allowedNetworks) : blockedMessage(blocked, rules);
  throw invalidRequest('the subscription URL is a blocked address', [{ path: 'url', message }]);
}

/** The network keys a URL is checked against; `tenant`: a tenant's subscription (the message names tenants.allowed_networks). */
export interface DestinationRules {
  allow_private_networks: boolean;
  allowed_networks: readonly string[];
  tenant?: boolean;
}

/** Zod issues as field errors, one per unknown key. */
export function specErrors(issues: Parameters<typeof issueEntries>[0][]): FieldError[] {
  return issues.flatMap(issueEntries).map(({ path, message }) => ({ path: formatPath(path), message }));
}

/** A fresh secret for a signing scheme, or null when it has none (none) or the name is unknown. */
export function generateSecret(scheme: string): string | null {
  if (scheme === 'none' || !Object.hasOwn(SECRET_GENERATORS, scheme)) return null;
  return SECRET_GENERATORS[scheme]!();
}

/** The definition with a generated `signature.secret` when it names a scheme that needs one and gives none. */
export function withGeneratedSecret(spec: RawSpec): RawSpec {
  const signature = spec.signature ?? {};
  if (!isObject(signature) || signature.secret !== undefined) return spec;
  const scheme = signature.scheme ?? DEFAULT_SCHEME;
  const secret = typeof scheme === 'string' ? generateSecret(scheme) : null;
  return secret === null ? spec : { ...spec, signature: { ...signature, secret } };
}

/**
 * A PATCH applied to a stored definition: given top-level fields replace the stored ones, `null`
 * removes one (back to its default, as in JSON Merge Patch). A given `signature` replaces the
 * stored block, except that while the scheme stays the same an omitted `secret` or
 * `previous_secrets` keeps the stored ones: clients never see them, so cannot send them back.
 */
export function mergeSpec(stored: RawSpec, patch: RawSpec): RawSpec {
  // A Map, then fromEntries: a `__proto__` key stays a plain (and then rejected) key.
  const merged = new Map(Object.entries(stored));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key);
    else if (key === 'signature' && isObject(value)) merged.set(key, mergeSignature(stored.signature, value));
    else if (key === 'headers' && isObject(value)) merged.set(key, mergeHeaders(stored.headers, value));
    else merged.set(key, value);
  }
  return Object.fromEntries(merged);
}

/**
 * A given `headers` block replaces the stored one, except that a value sent back as `[redacted]`
 * (as views show it) keeps the stored value of that header: a client that reads a subscription and
 * PATCHes its headers back does not overwrite the credentials it was never shown.
 */
function mergeHeaders(stored: unknown, given: RawSpec): RawSpec {
  const old = new Map(Object.entries(isObject(stored) ? stored : {}).map(([k, v]) => [k.toLowerCase(), v]));
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(given)) {
    const kept = value === REDACTED ? old.get(name.toLowerCase()) : undefined;
    out.set(name, kept ?? value);
  }
  return Object.fromEntries(out);
}

function mergeSignature(stored: unknown, given: RawSpec): RawSpec {
  const old = isObject(stored) ? stored : {};
  if ((given.scheme ?? DEFAULT_SCHEME) !== (old.scheme ?? DEFAULT_SCHEME)) return given;
  const kept = Object.fromEntries(Object.entries(old).filter(([k]) => k === 'secret' || k === 'previous_secrets'));
  return { ...kept, ...given };
}

/** Top-level fields whose value differs between two definitions (names only: never values, which hold secrets). */
export function changedFields(before: RawSpec, after: RawSpec): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

export function isObject(value: unknown): value is RawSpec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 409 `declared_in_config`: a change only API subscriptions accept. */
export const declaredInConfig = (id: string, what: string) =>
  new AppError(409, 'declared_in_config', { detail: `subscription '${id}' is declared in the config file; ${what}` });

/** 404 for a subscription id neither the config nor the API declares. */
export const unknownSubscription = (id: string) => new AppError(404, 'not_found', { detail: `no subscription '${id}'` });
