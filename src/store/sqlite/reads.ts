import { type Kysely, sql } from 'kysely';
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
import type { StoreSchema } from '../sql/rows';
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

/* Read-only queries of the admin side in SQLite; through Kysely, off the hot paths. */

type Db = Kysely<StoreSchema>;

/** One event, or null. */
export async function getEvent(db: Db, id: string): Promise<StoredEvent | null> {
  const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toEvent(row);
}

/** An event's deliveries, by id. */
export async function listDeliveriesOfEvent(db: Db, eventId: string): Promise<StoredDelivery[]> {
  const rows = await db.selectFrom('deliveries').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
  return rows.map(toDelivery);
}

/** One delivery, or null. */
export async function getDelivery(db: Db, id: string): Promise<StoredDelivery | null> {
  const row = await db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toDelivery(row);
}

/** A delivery's attempts, in order. */
export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptRecord[]> {
  const rows = await db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').orderBy('id').execute();
  return rows.map(toAttempt);
}

/** Deliveries per status, every status present. */
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

/** Counts per subscription id that has any delivery; with `ids`, of those alone (reading only their rows). */
export async function deliveryStats(db: Db, ids?: string[]): Promise<SubscriptionStats[]> {
  if (ids === undefined) {
    const { rows: counted } = await sql.raw<StatusCountRow>(STATS_SQL.counts).execute(db);
    const { rows: oldest } = await sql.raw<OldestWaitingRow>(STATS_SQL.oldestWaiting).execute(db);
    return statsFrom(counted, oldest);
  }
  const counted: StatusCountRow[] = [];
  const oldest: OldestWaitingRow[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = sql.join(ids.slice(i, i + IDS_PER_QUERY));
    const c = await sql<StatusCountRow>`SELECT subscription_id, status, COUNT(*) AS count FROM deliveries INDEXED BY deliveries_subscription
      WHERE subscription_id IN (${chunk}) GROUP BY subscription_id, status`.execute(db);
    const o = await sql<OldestWaitingRow>`SELECT subscription_id, MIN(created_at) AS at FROM deliveries INDEXED BY deliveries_due
      WHERE subscription_id IN (${chunk}) AND status IN ('pending', 'retrying') GROUP BY subscription_id`.execute(db);
    counted.push(...c.rows);
    oldest.push(...o.rows);
  }
  return statsFrom(counted, oldest);
}

/**
 * The oldest waiting delivery's creation, leaving out the ids in `held` (a JSON array: deliveries
 * leased in memory are delivering, not waiting), of one subscription or, with `except`, of every
 * subscription but those.
 */
export async function oldestWaitingExcept(
  db: Db,
  held: string,
  of: { subscriptionId: string } | { except: string[] },
): Promise<number | null> {
  const scope =
    'subscriptionId' in of
      ? sql`AND subscription_id = ${of.subscriptionId}`
      : of.except.length === 0
        ? sql``
        : sql`AND subscription_id NOT IN (${sql.join(of.except)})`;
  const { rows } = await sql<{ at: number | null }>`SELECT MIN(created_at) AS at FROM deliveries INDEXED BY deliveries_due
    WHERE status IN ('pending', 'retrying') ${scope} AND id NOT IN (SELECT value FROM json_each(${held}))`.execute(db);
  return rows[0]?.at ?? null;
}

/** How many deliveries wait, and the oldest one's creation, among every subscription but `except`. */
export async function waitingTotals(db: Db, except: string[]): Promise<{ backlog: number; oldestWaitingCreatedAt: number | null }> {
  const excluded = except.length === 0 ? sql`` : sql`AND subscription_id NOT IN (${sql.join(except)})`;
  const { rows } = await sql<{ backlog: number; at: number | null }>`SELECT COUNT(*) AS backlog, MIN(created_at) AS at
    FROM deliveries INDEXED BY deliveries_due WHERE status IN ('pending', 'retrying') ${excluded}`.execute(db);
  return { backlog: Number(rows[0]?.backlog ?? 0), oldestWaitingCreatedAt: rows[0]?.at ?? null };
}

/** Every API subscription, by id. */
export async function listApiSubscriptions(db: Db, page?: ApiSubscriptionPage): Promise<StoredApiSubscription[]> {
  let query = db.selectFrom('api_subscriptions').selectAll().orderBy('id');
  if (page?.after !== undefined) query = query.where('id', '>', page.after);
  if (page !== undefined) query = query.limit(page.limit);
  const rows = await query.execute();
  return rows.map(toApiSubscription);
}

/** One API subscription, or null. */
export async function getApiSubscription(db: Db, id: string): Promise<StoredApiSubscription | null> {
  const row = await db.selectFrom('api_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toApiSubscription(row);
}

/** Ids per query when states are read by id: well under SQLite's limit on parameters. */
const IDS_PER_QUERY = 500;

/** States failing since `at` or earlier. */
export async function failingSubscriptionStates(db: Db, at: number): Promise<SubscriptionState[]> {
  const rows = await db
    .selectFrom('subscription_state')
    .selectAll()
    .where('failing_since', 'is not', null)
    .where('failing_since', '<=', at)
    .execute();
  return rows.map(toSubscriptionState);
}

/** Every state, or those of `ids` (in chunks: SQLite bounds the number of parameters). */
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
