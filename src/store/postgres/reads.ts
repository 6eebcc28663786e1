import type { Selectable } from 'kysely';
import {
  type OldestWaitingRow,
  type StatusCountRow,
  statsFrom,
  toApiSubscription,
  toAttempt,
  toDelivery,
  toEvent,
  toSubscriptionState,
  zeroCounts,
} from '../sql/from-rows';
import type { ApiSubscriptionRow, AttemptRow, DeliveryRow, EventRow, SubscriptionStateRow } from '../sql/rows';
import type {
  ApiSubscriptionPage,
  AttemptRecord,
  DeliveryStatus,
  StoredApiSubscription,
  StoredDelivery,
  StoredEvent,
  SubscriptionState,
  SubscriptionStats,
} from '../types';
import type { Runner } from './run';

/** SQL of the read-only queries in Postgres (admin side and start-up, off the hot paths). */
export const READ_SQL = {
  event: `SELECT id, type, data, created_at, delivery_count, tenant, test FROM events WHERE id = @id`,
  deliveriesOfEvent: `SELECT * FROM deliveries WHERE event_id = @eventId ORDER BY id`,
  delivery: `SELECT * FROM deliveries WHERE id = @id`,
  attempts: `SELECT * FROM attempts WHERE delivery_id = @deliveryId ORDER BY attempt, id`,
  countByStatus: `SELECT status, COUNT(*) AS count FROM deliveries GROUP BY status`,
  statsCounts: `SELECT subscription_id, status, COUNT(*) AS count FROM deliveries GROUP BY subscription_id, status`,
  statsOldestWaiting: `SELECT subscription_id, MIN(created_at) AS at FROM deliveries
    WHERE status IN ('pending', 'retrying') GROUP BY subscription_id`,
  statsCountsOf: `SELECT subscription_id, status, COUNT(*) AS count FROM deliveries
    WHERE subscription_id = ANY(@ids) GROUP BY subscription_id, status`,
  statsOldestWaitingOf: `SELECT subscription_id, MIN(created_at) AS at FROM deliveries
    WHERE subscription_id = ANY(@ids) AND status IN ('pending', 'retrying') GROUP BY subscription_id`,
  waitingTotals: `SELECT COUNT(*) AS backlog, MIN(created_at) AS at FROM deliveries
    WHERE status IN ('pending', 'retrying') AND NOT (subscription_id = ANY(@except))`,
  apiSubscriptions: `SELECT * FROM api_subscriptions ORDER BY id`,
  // '' sorts before every id: the first page.
  apiSubscriptionPage: `SELECT * FROM api_subscriptions WHERE id > @after ORDER BY id LIMIT @limit`,
  apiSubscription: `SELECT * FROM api_subscriptions WHERE id = @id`,
  states: `SELECT * FROM subscription_state ORDER BY id`,
  failingStates: `SELECT * FROM subscription_state WHERE failing_since IS NOT NULL AND failing_since <= @at`,
  statesOf: `SELECT * FROM subscription_state WHERE id = ANY(@ids) ORDER BY id`,
} as const;

/** One event, or null. */
export async function getEvent(run: Runner, id: string): Promise<StoredEvent | null> {
  const [row] = await run.rows<Omit<Selectable<EventRow>, 'seq'>>(READ_SQL.event, { id });
  return row === undefined ? null : toEvent(row);
}

/** An event's deliveries, by id. */
export async function listDeliveriesOfEvent(run: Runner, eventId: string): Promise<StoredDelivery[]> {
  return (await run.rows<DeliveryRow>(READ_SQL.deliveriesOfEvent, { eventId })).map(toDelivery);
}

/** One delivery, or null. */
export async function getDelivery(run: Runner, id: string): Promise<StoredDelivery | null> {
  const [row] = await run.rows<DeliveryRow>(READ_SQL.delivery, { id });
  return row === undefined ? null : toDelivery(row);
}

/** A delivery's attempts, in order. */
export async function listAttempts(run: Runner, deliveryId: string): Promise<AttemptRecord[]> {
  return (await run.rows<AttemptRow>(READ_SQL.attempts, { deliveryId })).map(toAttempt);
}

/** Deliveries per status, every status present. */
export async function countDeliveriesByStatus(run: Runner): Promise<Record<DeliveryStatus, number>> {
  const counts = zeroCounts();
  for (const row of await run.rows<{ status: DeliveryStatus; count: number }>(READ_SQL.countByStatus))
    counts[row.status] = Number(row.count);
  return counts;
}

/** Counts per subscription id that has any delivery; with `ids`, of those alone (reading only their rows). */
export async function deliveryStats(run: Runner, ids?: string[]): Promise<SubscriptionStats[]> {
  if (ids !== undefined)
    return statsFrom(
      await run.rows<StatusCountRow>(READ_SQL.statsCountsOf, { ids }),
      await run.rows<OldestWaitingRow>(READ_SQL.statsOldestWaitingOf, { ids }),
    );
  return statsFrom(await run.rows<StatusCountRow>(READ_SQL.statsCounts), await run.rows<OldestWaitingRow>(READ_SQL.statsOldestWaiting));
}

/** How many deliveries wait, and the oldest one's creation, among every subscription but `except`. */
export async function waitingTotals(run: Runner, except: string[]): Promise<{ backlog: number; oldestWaitingCreatedAt: number | null }> {
  const [row] = await run.rows<{ backlog: number; at: number | null }>(READ_SQL.waitingTotals, { except });
  return { backlog: Number(row?.backlog ?? 0), oldestWaitingCreatedAt: row?.at ?? null };
}

/** Every API subscription, by id. */
export async function listApiSubscriptions(run: Runner, page?: ApiSubscriptionPage): Promise<StoredApiSubscription[]> {
  const rows =
    page === undefined
      ? await run.rows<ApiSubscriptionRow>(READ_SQL.apiSubscriptions)
      : await run.rows<ApiSubscriptionRow>(READ_SQL.apiSubscriptionPage, { after: page.after ?? '', limit: page.limit });
  return rows.map(toApiSubscription);
}

/** One API subscription, or null. */
export async function getApiSubscription(run: Runner, id: string): Promise<StoredApiSubscription | null> {
  const [row] = await run.rows<ApiSubscriptionRow>(READ_SQL.apiSubscription, { id });
  return row === undefined ? null : toApiSubscription(row);
}

/** Every state, or those of `ids` (one query whatever their number: an array parameter). */
/** States failing since `at` or earlier. */
export async function failingSubscriptionStates(run: Runner, at: number): Promise<SubscriptionState[]> {
  return (await run.rows<SubscriptionStateRow>(READ_SQL.failingStates, { at })).map(toSubscriptionState);
}

export async function getSubscriptionStates(run: Runner, ids?: string[]): Promise<SubscriptionState[]> {
  const rows =
    ids === undefined
      ? await run.rows<SubscriptionStateRow>(READ_SQL.states)
      : await run.rows<SubscriptionStateRow>(READ_SQL.statesOf, { ids: [...new Set(ids)] });
  return rows.map(toSubscriptionState);
}
