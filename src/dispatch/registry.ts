import type { Config } from '../config/schema';
import { createSigner, type Signer } from '../signing';
import type { Rate } from '../lib/durations';
import type { SubscriptionState } from '../store/types';
import { encryptionKey } from './encrypt-body';
import { compileFilter } from '../filter';
import { compileEventPatterns } from './event-pattern';
import type { RetryPolicy } from './retry-policy';

/** One subscription after validation (config file or admin API). */
export type SubscriptionConfig = Config['subscriptions'][number];

/** Default cap on attempts in flight for one subscription, so one slow receiver cannot take every slot. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** A subscription compiled for dispatch: every default resolved, matchers and signer ready. */
export interface Target {
  id: string;
  source: 'config' | 'api';
  url: string;
  description: string | undefined;
  /** Enabled as declared (config or API), before run-time overrides. */
  declaredEnabled: boolean;
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

/** Effective state of a target: declared config plus the persisted run-time override. */
export interface TargetView extends Target {
  enabled: boolean;
  disabledReason: string | null;
}

/** Delivery-wide defaults that a subscription may override. */
export interface DeliveryDefaults {
  timeoutMs: number;
  retryScheduleMs: number[];
  jitter: number;
  /** `delivery.disable_after`, ms. */
  disableAfterMs: number;
}

/** Compiles one config subscription into a Target. */
export function compileTarget(sub: SubscriptionConfig, defaults: DeliveryDefaults, source: Target['source'] = 'config'): Target {
  const signature = sub.signature;
  const current = signature.secret ? [signature.secret] : [];
  const previous = signature.previous_secrets;
  return {
    id: sub.id,
    source,
    url: sub.url,
    description: sub.description,
    declaredEnabled: sub.enabled,
    matches: compileEventPatterns(sub.events),
    filter: sub.filter === undefined ? null : compiledFilter(sub.filter),
    signer: createSigner(signature),
    secretsAt: (now) => [...current, ...previous.filter((p) => p.expires > now).map((p) => p.secret)],
    payload: sub.payload,
    encryptionKey: sub.encrypt && signature.secret ? encryptionKey(signature.secret) : null,
    headers: sub.headers,
    timeoutMs: sub.timeout ?? defaults.timeoutMs,
    policy: { scheduleMs: sub.retry_schedule ?? defaults.retryScheduleMs, jitter: defaults.jitter },
    // fifo: one attempt at a time is what keeps the order; the store enforces it as well.
    maxInFlight: sub.ordering === 'fifo' ? 1 : (sub.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT),
    fifo: sub.ordering === 'fifo',
    rateLimit: sub.rate_limit ?? null,
    disableAfterMs: defaults.disableAfterMs,
  };
}

/** Config validation has already rejected invalid filters; this only compiles a valid one. */
function compiledFilter(filter: unknown): (envelope: unknown) => boolean {
  const compiled = compileFilter(filter);
  if (!compiled.ok) throw new Error(`invalid filter: ${compiled.errors.map((e) => e.message).join('; ')}`);
  return compiled.match;
}

/** Subscriptions an event type can fan out to: those without a filter, and those whose filter must see the event. */
interface TypeMatch {
  always: string[];
  filtered: TargetView[];
}

/**
 * The live set of subscriptions. Ingest asks it which subscriptions an event type fans out to
 * (cached per type, since the answer only changes when subscriptions change); the dispatcher asks
 * it for targets to claim work for.
 */
export class Registry {
  private targets = new Map<string, TargetView>();
  private matchCache = new Map<string, TypeMatch>();
  /** The enabled targets, kept between changes: the dispatcher asks for them on every claim round. */
  private enabledCache: TargetView[] | undefined;

  constructor(targets: Target[], states: SubscriptionState[]) {
    this.replace(targets, states);
  }

  /** Swap in a new set (start-up, reload), keeping persisted run-time state. */
  replace(targets: Target[], states: SubscriptionState[]): void {
    const byId = new Map(states.map((s) => [s.id, s]));
    this.targets = new Map(targets.map((t) => [t.id, view(t, byId.get(t.id))]));
    this.changed();
  }

  /** Add or replace one subscription (admin API), keeping its persisted run-time state. */
  upsert(target: Target, state: SubscriptionState | undefined): void {
    this.targets.set(target.id, view(target, state));
    this.changed();
  }

  /** Forget a subscription; its waiting deliveries are no longer claimed. */
  remove(id: string): void {
    this.targets.delete(id);
    this.changed();
  }

  /** Apply a run-time enable/disable (API, or a 410 Gone); null follows the declaration again. */
  setEnabled(id: string, enabled: boolean | null, reason: string | null): void {
    const target = this.targets.get(id);
    if (!target) return;
    target.enabled = enabled ?? target.declaredEnabled;
    target.disabledReason = target.enabled ? null : reason;
    this.changed();
  }

  get(id: string): TargetView | undefined {
    return this.targets.get(id);
  }

  all(): TargetView[] {
    return [...this.targets.values()];
  }

  /** The enabled targets; a shared array, not to be modified. */
  enabled(): readonly TargetView[] {
    return (this.enabledCache ??= this.all().filter((t) => t.enabled));
  }

  /** Drops what was derived from the set of targets. */
  private changed(): void {
    this.matchCache.clear();
    this.enabledCache = undefined;
  }

  /**
   * Ids of the enabled subscriptions an event fans out to: `events` patterns match its type (cached
   * per type) and, for subscriptions with a `filter`, the filter accepts its envelope. `envelope`
   * is only called when some matching subscription has a filter.
   */
  matching(type: string, envelope: () => unknown): string[] {
    let match = this.matchCache.get(type);
    if (!match) {
      const candidates = this.enabled().filter((t) => t.matches(type));
      match = { always: candidates.filter((t) => !t.filter).map((t) => t.id), filtered: candidates.filter((t) => t.filter) };
      // Event types are bounded in practice; a cap keeps a flood of random types from growing memory.
      if (this.matchCache.size > 10_000) this.matchCache.clear();
      this.matchCache.set(type, match);
    }
    if (match.filtered.length === 0) return match.always;
    const value = envelope();
    return [...match.always, ...match.filtered.filter((t) => t.filter!(value)).map((t) => t.id)];
  }
}

function view(target: Target, state: SubscriptionState | undefined): TargetView {
  const enabled = state?.enabled ?? target.declaredEnabled;
  return { ...target, enabled, disabledReason: enabled ? null : (state?.disabledReason ?? null) };
}
