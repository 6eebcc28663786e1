import type { Kysely, Selectable } from 'kysely';
import type {
  AttemptRecord,
  DeliveryStatus,
  StoredDelivery,
  StoredEvent,
  SubscriptionState,
} from '../types';
import type { AttemptRow, DeliveryRow, SqliteSchema, SubscriptionStateRow } from './schema';

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
  const rows = await db
    .selectFrom('attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempt')
    .orderBy('id')
    .execute();
  return rows.map(toAttempt);
}

export async function countDeliveriesByStatus(db: Db): Promise<Record<DeliveryStatus, number>> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('status')
    .execute();
  const counts: Record<DeliveryStatus, number> = {
    pending: 0,
    retrying: 0,
    delivering: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

export async function getSubscriptionStates(db: Db): Promise<SubscriptionState[]> {
  const rows = await db.selectFrom('subscription_state').selectAll().orderBy('id').execute();
  return rows.map(toSubscriptionState);
}

function toDelivery(row: Selectable<DeliveryRow>): StoredDelivery {
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
  };
}
