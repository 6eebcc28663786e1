import type {
  AttemptRecord,
  AuditEntry,
  ClaimedDelivery,
  DeliveryStatus,
  StoredApiSubscription,
  StoredDelivery,
  StoredEvent,
  StoredTenant,
  SubscriptionState,
  SubscriptionStats,
} from '../types';
import type { Selectable } from 'kysely';
import type { ApiSubscriptionRow, AttemptRow, AuditLogRow, DeliveryRow, DueRow, EventRow, SubscriptionStateRow, TenantRow } from './rows';

/* The Store's values from the rows both backends read (rows.ts). */

/** A StoredEvent from an events row. */
export function toEvent(row: Omit<Selectable<EventRow>, 'seq'>): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
    deliveryCount: row.delivery_count,
    ...(row.tenant != null && { tenant: row.tenant }),
    ...(Number(row.test) === 1 && { test: true }),
  };
}

/** A StoredDelivery from a deliveries row. */
export function toDelivery(row: DeliveryRow): StoredDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    subscriptionId: row.subscription_id,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    ...(row.tenant != null && { tenant: row.tenant }),
  };
}

/** An AttemptRecord from an attempts row (headers parsed). */
export function toAttempt(row: AttemptRow): AttemptRecord {
  return {
    id: row.id,
    attempt: row.attempt,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    requestUrl: row.request_url,
    requestHeaders: JSON.parse(row.request_headers) as Record<string, string>,
    responseStatus: row.response_status,
    responseHeaders: row.response_headers === null ? null : (JSON.parse(row.response_headers) as Record<string, string>),
    responseBody: row.response_body,
    error: row.error,
  };
}

/** A SubscriptionState from a subscription_state row (enabled 0/1 as boolean). */
export function toSubscriptionState(row: SubscriptionStateRow): SubscriptionState {
  return {
    id: row.id,
    enabled: row.enabled === null ? null : row.enabled === 1,
    disabledReason: row.disabled_reason,
    lastSuccessAt: row.last_success_at,
    lastFailureAt: row.last_failure_at,
    failureStreak: row.failure_streak,
    failingSince: row.failing_since,
  };
}

/** A StoredApiSubscription from an api_subscriptions row (spec parsed). */
export function toApiSubscription(row: ApiSubscriptionRow): StoredApiSubscription {
  return {
    id: row.id,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.tenant != null && { tenant: row.tenant }),
  };
}

/** A StoredTenant from a tenants row (metadata parsed, enabled 0/1 as boolean). */
export function toTenant(row: TenantRow): StoredTenant {
  return {
    id: row.id,
    name: row.name,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    enabled: row.enabled === 1,
    maxSubscriptions: row.max_subscriptions,
    ingestRate: row.ingest_rate,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An AuditEntry from an audit_log row (details parsed). */
export function toAuditEntry(row: Selectable<AuditLogRow>): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

/** Every status, at 0. */
export function zeroCounts(): Record<DeliveryStatus, number> {
  return { pending: 0, retrying: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

/** A row of a backend's per-subscription, per-status delivery count. */
export type StatusCountRow = { subscription_id: string; status: DeliveryStatus; count: number | string };
/** A row of a backend's oldest waiting delivery per subscription. */
export type OldestWaitingRow = { subscription_id: string; at: number };

/** Per-subscription stats (Store.deliveryStats) from a backend's count and oldest-waiting rows. */
export function statsFrom(counted: StatusCountRow[], oldest: OldestWaitingRow[]): SubscriptionStats[] {
  const oldestBySubscription = new Map(oldest.map((row) => [row.subscription_id, row.at]));
  const stats = new Map<string, SubscriptionStats>();
  for (const row of counted) {
    let entry = stats.get(row.subscription_id);
    if (entry === undefined) {
      entry = { subscriptionId: row.subscription_id, counts: zeroCounts(), backlog: 0, oldestWaitingCreatedAt: null };
      stats.set(row.subscription_id, entry);
    }
    entry.counts[row.status] = Number(row.count);
  }
  for (const entry of stats.values()) {
    entry.backlog = entry.counts.pending + entry.counts.retrying;
    entry.oldestWaitingCreatedAt = oldestBySubscription.get(entry.subscriptionId) ?? null;
  }
  return [...stats.values()].sort((a, b) => (a.subscriptionId < b.subscriptionId ? -1 : 1));
}

/** A claimed delivery from its claim row (the delivery joined with its event). */
export function toClaimed(row: DueRow): ClaimedDelivery {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    attempts: row.attempts,
    event: {
      id: row.event_id,
      type: row.event_type,
      data: row.event_data,
      createdAt: row.event_created_at,
      ...(row.event_tenant !== null && { tenant: row.event_tenant }),
      ...(Number(row.event_test) === 1 && { test: true }),
    },
  };
}
