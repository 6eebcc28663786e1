import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  AttemptRecord,
  DeliveryStatus,
  StoredApiSubscription,
  StoredDelivery,
  StoredEvent,
  SubscriptionState,
  SubscriptionStats,
} from '../types';
import type { ApiSubscriptionRow, AttemptRow, DeliveryRow, SqliteSchema, SubscriptionStateRow } from './schema';

/* Read-only queries of the admin side; through Kysely, off the hot paths. */

type Db = Kysely<SqliteSchema>;

export async function getEvent(db: Db, id: string): Promise<StoredEvent | null> {
  const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return null;
  return { id: row.id, type: row.type, data: row.data, createdAt: row.created_at, deliveryCount: row.delivery_count };
}

export async function listDeliveriesOfEvent(db: Db, eventId: string): Promise<StoredDelivery[]> {
  const rows = await db.selectFrom('deliveries').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
  return rows.map(toDelivery);
}

export async function getDelivery(db: Db, id: string): Promise<StoredDelivery | null> {
  const row = await db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toDelivery(row);
}

export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptRecord[]> {
  const rows = await db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').orderBy('id').execute();
  return rows.map(toAttempt);
}

export async function countDeliveriesByStatus(db: Db): Promise<Record<DeliveryStatus, number>> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('status')
    .execute();
  const counts = zeroCounts();
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

/**
 * SQL of deliveryStats (exported so tests can EXPLAIN it). Counts come from the covering index
 * `deliveries_subscription` (no table row read); the oldest waiting delivery from the partial
 * index `deliveries_due`, which holds waiting rows only, so the table is read for the backlog alone.
 */
export const STATS_SQL = {
  counts: `SELECT subscription_id, status, COUNT(*) AS count FROM deliveries INDEXED BY deliveries_subscription
    GROUP BY subscription_id, status`,
  oldestWaiting: `SELECT subscription_id, MIN(created_at) AS at FROM deliveries INDEXED BY deliveries_due
    WHERE status IN ('pending', 'retrying') GROUP BY subscription_id`,
} as const;

export async function deliveryStats(db: Db): Promise<SubscriptionStats[]> {
  const { rows: counted } = await sql.raw<CountRow>(STATS_SQL.counts).execute(db);
  const { rows: oldest } = await sql.raw<OldestRow>(STATS_SQL.oldestWaiting).execute(db);
  return statsFrom(counted, oldest);
}

type CountRow = { subscription_id: string; status: DeliveryStatus; count: number | string };
type OldestRow = { subscription_id: string; at: number };

/** Per-subscription stats from the rows of STATS_SQL (either backend runs them). */
export function statsFrom(counted: CountRow[], oldest: OldestRow[]): SubscriptionStats[] {
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

export async function listApiSubscriptions(db: Db): Promise<StoredApiSubscription[]> {
  const rows = await db.selectFrom('api_subscriptions').selectAll().orderBy('id').execute();
  return rows.map(toApiSubscription);
}

export async function getApiSubscription(db: Db, id: string): Promise<StoredApiSubscription | null> {
  const row = await db.selectFrom('api_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toApiSubscription(row);
}

function toApiSubscription(row: Selectable<ApiSubscriptionRow>): StoredApiSubscription {
  return { id: row.id, spec: JSON.parse(row.spec) as Record<string, unknown>, createdAt: row.created_at, updatedAt: row.updated_at };
}

function zeroCounts(): Record<DeliveryStatus, number> {
  return { pending: 0, retrying: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

/** Ids per query when states are read by id: well under every backend's limit on parameters. */
const IDS_PER_QUERY = 500;

export async function getSubscriptionStates(db: Db, ids?: string[]): Promise<SubscriptionState[]> {
  if (ids === undefined) {
    const rows = await db.selectFrom('subscription_state').selectAll().orderBy('id').execute();
    return rows.map(toSubscriptionState);
  }
  const unique = [...new Set(ids)];
  const states: SubscriptionState[] = [];
  for (let i = 0; i < unique.length; i += IDS_PER_QUERY) {
    const chunk = unique.slice(i, i + IDS_PER_QUERY);
    const rows = await db.selectFrom('subscription_state').selectAll().where('id', 'in', chunk).execute();
    states.push(...rows.map(toSubscriptionState));
  }
  return states.sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function toDelivery(row: Selectable<DeliveryRow>): StoredDelivery {
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
  };
}

function toAttempt(row: Selectable<AttemptRow>): AttemptRecord {
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

function toSubscriptionState(row: Selectable<SubscriptionStateRow>): SubscriptionState {
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
