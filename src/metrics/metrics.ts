import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptObservation } from '../dispatch/dispatcher';
import type { Clock } from '../lib/clock';
import type { Store } from '../store/types';
import { VERSION } from '../version';

/** `status_class` of an attempt: the receiver's answer by hundreds, or why there was none. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network' | 'blocked';

export function statusClass(a: Pick<AttemptObservation, 'status' | 'kind'>): StatusClass {
  if (a.status === null) return a.kind === 'fail' ? 'blocked' : 'network';
  if (a.status < 300) return '2xx';
  if (a.status < 400) return '3xx';
  if (a.status < 500) return '4xx';
  return '5xx';
}

/**
 * The `subscription` label of every tenant subscription (SPEC 13): metrics name platform subscriptions
 * only, so a scrape does not grow with the number of tenants; tenants' figures are summed under this
 * one value (per-tenant figures are in the admin API). No subscription id can be it: ids have no `(`.
 */
export const TENANT_SUBSCRIPTIONS = '(tenant)';

/** Attempt durations, 5 ms to 30 s (the longest default attempt timeout). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RelayMetrics {
  registry: Registry;
  /** Events acknowledged by ingest; `created` false for an idempotent replay. */
  eventsIngested(events: readonly { created: boolean }[]): void;
  /** One finished attempt (the dispatcher's onAttempt). */
  attemptFinished(a: AttemptObservation): void;
  /** Events deleted by retention. */
  eventsPruned(count: number): void;
  /** An ingest request answered with an error status (4xx, 5xx). */
  ingestRefused(status: number): void;
  /** An operational event (SPEC 12) was stored, by type. */
  operationalEvent(type: string): void;
  /** The Prometheus text exposition of everything. */
  render(): Promise<string>;
  contentType: string;
}

/**
 * One registry per app (never prom-client's global one: several apps may share a process, as the
 * tests do). Counters move as work happens; the waiting gauges are read from the store at scrape time.
 */
export function createMetrics(deps: {
  store: Store;
  clock: Clock;
  /**
   * Ids of the platform subscriptions in force: the waiting gauges have a series for each of these
   * (so a deleted one's series go away) and one for all tenants' subscriptions together.
   */
  platformSubscriptions: () => string[];
}): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters (`_total`), which `promtool check metrics` refuses; the same counts
  // are in nodejs_active_handles / nodejs_active_requests / nodejs_active_resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'hookrelay_build_info',
    help: 'Always 1; the labels say which build is running.',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  }).set({ version: VERSION, node: process.version }, 1);
  const refused = new Counter({
    name: 'hookrelay_ingest_refused_total',
    help: 'Ingest requests answered with an error, by HTTP status (401, 413, 429, 503, ...).',
    labelNames: ['status'] as const,
    registers: [registry],
  });

  const ingested = new Counter({
    name: 'hookrelay_events_ingested_total',
    help: 'Events acknowledged by ingest, by outcome (created, or replayed by idempotency key).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'hookrelay_attempts_total',
    help: 'Delivery attempts finished, by platform subscription (tenants\' ones as subscription="(tenant)"), status class and the delivery state after the attempt.',
    labelNames: ['subscription', 'status_class', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hookrelay_attempt_duration_seconds',
    help: 'Duration of delivery attempts, by platform subscription (tenants\' ones as subscription="(tenant)").',
    labelNames: ['subscription'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const pruned = new Counter({
    name: 'hookrelay_events_pruned_total',
    help: 'Finished events deleted by retention (with their deliveries and attempts).',
    registers: [registry],
  });
  const operational = new Counter({
    name: 'hookrelay_operational_events_total',
    help: 'Operational events (hookrelay.*) emitted by this instance, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: 'hookrelay_deliveries_finished_total',
    help: 'Deliveries that reached a final status through an attempt, by platform subscription (tenants\' ones as subscription="(tenant)") and status.',
    labelNames: ['subscription', 'status'] as const,
    registers: [registry],
  });

  // Both gauges come from one deliveryStats() read per scrape: registry.metrics() collects them together.
  let reading: Promise<void> | undefined;
  const readStats = () =>
    (reading ??= (async () => {
      try {
        // Per platform subscription, and one sum for every tenant's: a scrape reads the platform's
        // deliveries and the waiting ones, never one row per tenant subscription.
        const platform = deps.platformSubscriptions();
        const [stats, tenants] = await Promise.all([deps.store.deliveryStats(platform), deps.store.waitingTotals(platform)]);
        const now = deps.clock.now();
        const age = (createdAt: number | null) => (createdAt === null ? 0 : Math.max(0, now - createdAt) / 1000);
        waiting.reset();
        oldest.reset();
        const byId = new Map(stats.map((s) => [s.subscriptionId, s]));
        for (const id of platform) {
          const s = byId.get(id);
          waiting.set({ subscription: id }, s?.backlog ?? 0);
          oldest.set({ subscription: id }, age(s?.oldestWaitingCreatedAt ?? null));
        }
        waiting.set({ subscription: TENANT_SUBSCRIPTIONS }, tenants.backlog);
        oldest.set({ subscription: TENANT_SUBSCRIPTIONS }, age(tenants.oldestWaitingCreatedAt));
      } finally {
        reading = undefined;
      }
    })());
  const waiting: Gauge<'subscription'> = new Gauge({
    name: 'hookrelay_deliveries_waiting',
    help: 'Deliveries waiting (pending or retrying), by platform subscription, tenants\' ones summed as subscription="(tenant)"; read at scrape time.',
    labelNames: ['subscription'] as const,
    registers: [registry],
    collect: readStats,
  });
  const oldest: Gauge<'subscription'> = new Gauge({
    name: 'hookrelay_oldest_waiting_age_seconds',
    help: 'Age of the oldest waiting delivery (0 when none waits), by platform subscription, tenants\' ones as subscription="(tenant)"; read at scrape time.',
    labelNames: ['subscription'] as const,
    registers: [registry],
    collect: readStats,
  });

  return {
    registry,
    contentType: registry.contentType,
    eventsIngested(events) {
      for (const e of events) ingested.inc({ outcome: e.created ? 'created' : 'replayed' });
    },
    eventsPruned(count) {
      pruned.inc(count);
    },
    ingestRefused(status) {
      refused.inc({ status: String(status) });
    },
    operationalEvent(type) {
      operational.inc({ type });
    },
    attemptFinished(a) {
      const subscription = a.tenant === null ? a.subscriptionId : TENANT_SUBSCRIPTIONS;
      attempts.inc({ subscription, status_class: statusClass(a), outcome: a.outcome });
      duration.observe({ subscription }, a.durationMs / 1000);
      if (a.outcome !== 'retrying') finished.inc({ subscription, status: a.outcome });
    },
    render: () => registry.metrics(),
  };
}
