import { prepareEvent } from '../ingest/prepare';
import type { Clock } from '../lib/clock';
import { errorForTenant } from '../net/guard';
import type { FailedDeliveryFacts, NewEvent, OperationalHooks, OperationalOccurrence } from '../store/types';
import type { LiveSubscriptions } from '../subscriptions/live-set';

/** Least time between two `hookrelay.delivery.failed` events of one subscription, ms (SPEC 12). */
export const FAILED_REPORT_WINDOW_MS = 60_000;

/** `alerts` as the relay reads it at each write (a reload applies it). */
export interface AlertSettings {
  failing_after: number;
  backlog_age: number;
}

export interface OperationalEventsDeps {
  subscriptions: LiveSubscriptions;
  clock: Clock;
  alerts: () => AlertSettings;
  /** Called after a write that stored operational events committed: metrics, and waking the dispatcher. */
  onEmitted: (events: NewEvent[]) => void;
}

/** One write's hooks, and the events they stored once it committed. */
export interface WriteHooks {
  hooks: OperationalHooks;
  emitted: NewEvent[];
}

/**
 * Turns what the store decided happened into events stored like any ingested one (SPEC 12): the
 * subscription's tenant on the event (so it reaches that tenant's own subscriptions to `hookrelay.*`
 * as well as the platform's), the fan-out from the live set, and nothing a tenant may not see
 * (a blocked destination's address) in what a tenant's event carries.
 */
export function createOperationalEvents(deps: OperationalEventsDeps) {
  function eventOf(occurrence: OperationalOccurrence): NewEvent | null {
    const target = deps.subscriptions.get(occurrence.subscriptionId);
    if (target === undefined) return null;
    // A disabled subscription's deliveries are held on purpose: its backlog is not news (its `disabled` was).
    if (occurrence.type === 'hookrelay.backlog.delayed' && !target.enabled) return null;
    const tenant = target.tenant ?? undefined;
    const data = dataOf(occurrence, target.tenant);
    return prepareEvent(
      { type: occurrence.type, data, dataText: JSON.stringify(data), ...(tenant !== undefined && { tenant }) },
      { now: deps.clock.now(), match: (type, envelope, t) => deps.subscriptions.matching(type, envelope, t) },
    );
  }

  return {
    /** Hooks for one store write; call `committed` with them once it resolved. */
    forWrite(): WriteHooks {
      const emitted: NewEvent[] = [];
      const alerts = deps.alerts();
      const hooks: OperationalHooks = {
        failingAfter: alerts.failing_after,
        reportWindowMs: FAILED_REPORT_WINDOW_MS,
        eventOf(occurrence) {
          const event = eventOf(occurrence);
          if (event !== null) emitted.push(event);
          return event;
        },
      };
      return { hooks, emitted };
    },
    committed(write: WriteHooks): void {
      if (write.emitted.length > 0) deps.onEmitted(write.emitted);
    },
  };
}

export type OperationalEvents = ReturnType<typeof createOperationalEvents>;

/** The `data` of an occurrence's event (snake_case, as the README documents it). */
function dataOf(o: OperationalOccurrence, tenant: string | null): Record<string, unknown> {
  const about = { subscription: o.subscriptionId, tenant };
  // A tenant's event never names an address the tenant may not see (SPEC 9).
  const shown = (error: string | null) => (tenant === null ? error : errorForTenant(error));
  switch (o.type) {
    case 'hookrelay.subscription.disabled':
      return { ...about, reason: o.reason };
    case 'hookrelay.subscription.failing':
      return { ...about, failure_streak: o.failureStreak, last_status: o.lastStatus, last_error: shown(o.lastError) };
    case 'hookrelay.subscription.recovered':
      return { ...about, failed_for_ms: o.failedForMs };
    case 'hookrelay.delivery.failed':
      return { ...about, count: o.count, deliveries: o.deliveries.map((d) => failedDelivery(d, shown)) };
    case 'hookrelay.backlog.delayed':
      return { ...about, oldest_waiting_age_ms: o.oldestWaitingAgeMs, backlog: o.backlog };
  }
}

function failedDelivery(d: FailedDeliveryFacts, shown: (error: string | null) => string | null) {
  return {
    id: d.id,
    event_id: d.eventId,
    event_type: d.eventType,
    attempts: d.attempts,
    last_status: d.lastStatus,
    last_error: shown(d.lastError),
  };
}
