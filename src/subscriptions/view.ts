import { formatDuration, type Rate } from '../lib/durations';
import { isoOrNull } from '../lib/time';
import { ed25519PublicKey } from '../signing';
import type { SubscriptionState, SubscriptionStats } from '../store/types';
import type { SubscriptionDefinition } from './definition';
import { redactedHeaders } from './redact';
import type { Target } from './target';

// What the admin API shows of a subscription. It is built from the validated definition, so config
// and API subscriptions read alike (defaults filled in, durations written back as "10s"), and it
// never carries a secret: only `created` adds the one secret a client may see, once.

/** Delivery health of one subscription; times ISO 8601 or null. */
export interface SubscriptionHealth {
  last_success_at: string | null;
  last_failure_at: string | null;
  /** Failed attempts since the last success. */
  failure_streak: number;
  /** Deliveries waiting (pending + retrying). */
  backlog: number;
  /** Creation time of the oldest waiting delivery. */
  oldest_waiting_at: string | null;
}

/** `signature` without secrets: old secrets show only when they stop signing. */
export interface SignatureView {
  scheme: SubscriptionDefinition['signature']['scheme'];
  header?: string;
  encoding?: 'hex' | 'base64';
  prefix?: string;
  /** ed25519 only: the `whpk_…` key receivers verify with (not a secret). */
  public_key?: string;
  previous_secrets: { expires: string }[];
}

export interface SubscriptionView {
  id: string;
  source: 'config' | 'api';
  /** The tenant it belongs to; null for platform subscriptions. */
  tenant: string | null;
  url: string;
  description?: string;
  events: string[];
  filter?: Record<string, unknown>;
  /** Effective: the declaration, or the run-time override (API, 410 Gone). */
  enabled: boolean;
  disabled_reason: string | null;
  signature: SignatureView;
  payload: 'envelope' | 'data';
  encrypt: boolean;
  headers: Record<string, string>;
  timeout?: string;
  retry_schedule?: string[];
  rate_limit?: string;
  max_in_flight?: number;
  ordering: 'none' | 'fifo';
  health: SubscriptionHealth;
  /** API subscriptions only. */
  created_at?: string;
  updated_at?: string;
}

/** The answer to a create: the view plus the secret, shown this once. */
export type CreatedSubscriptionView = SubscriptionView & { signature: SignatureView & { secret?: string } };

/** Run-time facts the view adds to a target. */
export interface SubscriptionFacts {
  state: SubscriptionState | undefined;
  stats: SubscriptionStats | undefined;
}

/**
 * Renders a definition and its run-time facts; never includes a secret, nor the value of a header
 * it adds unless `visibleHeaders` (`delivery.visible_headers`) names it.
 */
export function subscriptionView(target: Target, facts: SubscriptionFacts, visibleHeaders: readonly string[]): SubscriptionView {
  const { def } = target;
  return {
    id: def.id,
    source: target.source,
    tenant: target.tenant,
    url: def.url,
    ...(def.description !== undefined && { description: def.description }),
    events: def.events,
    ...(def.filter !== undefined && { filter: def.filter }),
    enabled: target.enabled,
    disabled_reason: target.enabled ? null : target.disabledReason,
    signature: signatureView(def.signature),
    payload: def.payload,
    encrypt: def.encrypt,
    // Any of them may be a credential for the receiver, as in attempt records.
    headers: redactedHeaders(def.headers, visibleHeaders),
    ...(def.timeout !== undefined && { timeout: formatDuration(def.timeout) }),
    ...(def.retry_schedule !== undefined && { retry_schedule: def.retry_schedule.map(formatDuration) }),
    ...(def.rate_limit !== undefined && { rate_limit: formatRate(def.rate_limit) }),
    ...(def.max_in_flight !== undefined && { max_in_flight: def.max_in_flight }),
    ordering: def.ordering,
    health: healthView(facts.state, facts.stats),
    ...(target.createdAt !== undefined && { created_at: isoOrNull(target.createdAt)! }),
    ...(target.updatedAt !== undefined && { updated_at: isoOrNull(target.updatedAt)! }),
  };
}

/** The signature block without `secret` and without the previous secrets themselves. */
export function signatureView(sig: SubscriptionDefinition['signature']): SignatureView {
  const hmac = sig.scheme === 'hmac-sha256';
  return {
    scheme: sig.scheme,
    ...(hmac && sig.header !== undefined && { header: sig.header }),
    ...(hmac && { encoding: sig.encoding, prefix: sig.prefix }),
    ...(sig.scheme === 'ed25519' && sig.secret !== undefined && { public_key: ed25519PublicKey(sig.secret) }),
    previous_secrets: sig.previous_secrets.map((p) => ({ expires: isoOrNull(p.expires)! })),
  };
}

function healthView(state: SubscriptionState | undefined, stats: SubscriptionStats | undefined): SubscriptionHealth {
  return {
    last_success_at: isoOrNull(state?.lastSuccessAt),
    last_failure_at: isoOrNull(state?.lastFailureAt),
    failure_streak: state?.failureStreak ?? 0,
    backlog: stats?.backlog ?? 0,
    oldest_waiting_at: isoOrNull(stats?.oldestWaitingCreatedAt),
  };
}

const RATE_UNITS: Record<number, string> = { 1000: 's', 60000: 'm', 3600000: 'h', 86400000: 'd' };

/** {limit: 50, perMs: 1000} → "50/s"; null → "off", as the config writes them. */
function formatRate(rate: Rate | null): string {
  if (rate === null) return 'off';
  const unit = RATE_UNITS[rate.perMs];
  return unit ? `${rate.limit}/${unit}` : `${rate.limit}/${formatDuration(rate.perMs)}`;
}
