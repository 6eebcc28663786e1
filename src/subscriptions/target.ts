import type { Config } from '../config/schema';
import { encryptionKey } from '../dispatch/encrypt-body';
import type { RetryPolicy } from '../dispatch/retry-policy';
import { compileFilter } from '../filter';
import type { Rate } from '../lib/durations';
import { createSigner, type Signer } from '../signing';
import type { SubscriptionState } from '../store/types';
import type { SubscriptionDefinition } from './definition';
import { compileEventPatterns } from './event-pattern';

/** Default cap on attempts in flight for one subscription, so one slow receiver cannot take every slot. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** Where a subscription is declared: the config file (read-only over the API) or the admin API (stored). */
export type SubscriptionSource = 'config' | 'api';

/**
 * A subscription in force: its definition compiled for fan-out and dispatch (every default
 * resolved, matchers and signer ready) with its run-time state. The live set holds one per id.
 */
export interface Target {
  id: string;
  source: SubscriptionSource;
  /** The validated definition it was compiled from (views render it). */
  def: SubscriptionDefinition;
  /** API subscriptions: when created and last changed, epoch ms. */
  createdAt: number | undefined;
  updatedAt: number | undefined;
  /** The tenant it belongs to (SPEC 9, fixed at creation); null: a platform subscription. */
  tenant: string | null;
  /** Effective: the declaration, or the persisted run-time override (API, 410 Gone, disable_after). */
  enabled: boolean;
  disabledReason: string | null;
  url: string;
  matches: (type: string) => boolean;
  /** The compiled `filter` on the envelope, or null when the subscription has none. */
  filter: ((envelope: unknown) => boolean) | null;
  signer: Signer;
  /** Secrets that sign at `now`: the current one first, then previous ones not yet expired. */
  secretsAt: (now: number) => string[];
  payload: 'envelope' | 'data';
  /** AES-256-GCM key when `encrypt: true` (SHA-256 of the current secret), else null. */
  encryptionKey: Buffer | null;
  headers: Record<string, string>;
  timeoutMs: number;
  policy: RetryPolicy;
  /** Most attempts in flight; 1 under `ordering: fifo`, else `max_in_flight` (default DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight: number;
  /** `ordering: fifo`: one delivery at a time, in ingest order (claims ask the store for the head only). */
  fifo: boolean;
  /** `rate_limit`: most attempts started per `perMs`, or null for no limit. */
  rateLimit: Rate | null;
  /** `delivery.disable_after`, ms: disabled after failing this long without one success. */
  disableAfterMs: number;
}

/** Delivery-wide defaults that a subscription may override. */
export interface DeliveryDefaults {
  timeoutMs: number;
  retryScheduleMs: number[];
  jitter: number;
  /** `delivery.disable_after`, ms. */
  disableAfterMs: number;
  /** `tenants.subscription_bounds.max_in_flight`: a tenant's subscription without `max_in_flight` gets min(64, it). */
  tenantMaxInFlight: number;
  /** `tenants.subscription_bounds`: a tenant's subscription that leaves timeout or retry_schedule to delivery.* still gets no more. */
  tenantBounds: { timeoutMs: number; retries: number; maxDelayMs: number };
}

/** The delivery-wide defaults a subscription falls back to. */
export function deliveryDefaults(config: Config): DeliveryDefaults {
  return {
    timeoutMs: config.delivery.timeout,
    retryScheduleMs: config.delivery.retry_schedule,
    jitter: config.delivery.jitter,
    disableAfterMs: config.delivery.disable_after,
    tenantMaxInFlight: config.tenants.subscription_bounds.max_in_flight,
    tenantBounds: {
      timeoutMs: config.tenants.subscription_bounds.timeout,
      retries: config.tenants.subscription_bounds.retries,
      maxDelayMs: config.tenants.subscription_bounds.max_delay,
    },
  };
}

/** A definition with where it is declared, before compiling. */
export interface DeclaredSubscription {
  def: SubscriptionDefinition;
  source: SubscriptionSource;
  createdAt?: number | undefined;
  updatedAt?: number | undefined;
  /** API subscriptions of a tenant: its id. */
  tenant?: string | undefined;
}

/** Compiles a declared subscription with its persisted run-time state (absent: as declared). */
export function compileTarget(
  declared: DeclaredSubscription,
  defaults: DeliveryDefaults,
  state: Pick<SubscriptionState, 'enabled' | 'disabledReason'> | undefined,
): Target {
  const { def } = declared;
  const signature = def.signature;
  const current = signature.secret ? [signature.secret] : [];
  const previous = signature.previous_secrets;
  const enabled = state?.enabled ?? def.enabled;
  return {
    id: def.id,
    source: declared.source,
    def,
    createdAt: declared.createdAt,
    updatedAt: declared.updatedAt,
    tenant: declared.tenant ?? null,
    enabled,
    disabledReason: enabled ? null : (state?.disabledReason ?? null),
    url: def.url,
    matches: compileEventPatterns(def.events),
    filter: def.filter === undefined ? null : compiledFilter(def.filter),
    signer: createSigner(signature),
    secretsAt: (now) => [...current, ...previous.filter((p) => p.expires > now).map((p) => p.secret)],
    payload: def.payload,
    encryptionKey: def.encrypt && signature.secret ? encryptionKey(signature.secret) : null,
    headers: def.headers,
    ...deliveryLimits(def, declared.tenant, defaults),
    // fifo: one attempt at a time is what keeps the order; the store enforces it as well.
    maxInFlight: def.ordering === 'fifo' ? 1 : (def.max_in_flight ?? defaultMaxInFlight(declared.tenant, defaults)),
    fifo: def.ordering === 'fifo',
    rateLimit: def.rate_limit ?? null,
    disableAfterMs: defaults.disableAfterMs,
  };
}

/**
 * Timeout and retry schedule in force. A tenant's subscription was checked against
 * `tenants.subscription_bounds` for what it asked; what it left to `delivery.*` is held to them here,
 * so a generous platform default never gives a tenant more than the bounds allow.
 */
function deliveryLimits(
  def: SubscriptionDefinition,
  tenant: string | undefined,
  defaults: DeliveryDefaults,
): { timeoutMs: number; policy: RetryPolicy } {
  const timeoutMs = def.timeout ?? defaults.timeoutMs;
  const scheduleMs = def.retry_schedule ?? defaults.retryScheduleMs;
  if (tenant === undefined) return { timeoutMs, policy: { scheduleMs, jitter: defaults.jitter } };
  const { tenantBounds: b } = defaults;
  // The shared array when it is within the bounds already (the usual case): one copy, not one per tenant.
  const within = scheduleMs.length <= b.retries && scheduleMs.every((ms) => ms <= b.maxDelayMs);
  return {
    timeoutMs: Math.min(timeoutMs, b.timeoutMs),
    policy: {
      scheduleMs: within ? scheduleMs : scheduleMs.slice(0, b.retries).map((ms) => Math.min(ms, b.maxDelayMs)),
      jitter: defaults.jitter,
    },
  };
}

/** A tenant's subscription defaults to min(64, tenants.subscription_bounds.max_in_flight); a platform one to 64. */
function defaultMaxInFlight(tenant: string | undefined, defaults: DeliveryDefaults): number {
  return tenant === undefined ? DEFAULT_MAX_IN_FLIGHT : Math.min(DEFAULT_MAX_IN_FLIGHT, defaults.tenantMaxInFlight);
}

/** Config validation has already rejected invalid filters; this only compiles a valid one. */
function compiledFilter(filter: unknown): (envelope: unknown) => boolean {
  const compiled = compileFilter(filter);
  if (!compiled.ok) throw new Error(`invalid filter: ${compiled.errors.map((e) => e.message).join('; ')}`);
  return compiled.match;
}
