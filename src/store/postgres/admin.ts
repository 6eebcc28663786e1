import { newDeliveryId } from '../../lib/ids';
import { deliveryIdFloor } from '../sql/delivery-id-floor';
import { toDelivery } from '../sql/from-rows';
import type { DeliveryRow } from '../sql/rows';
import type { DeliveryActionResult } from '../types';
import { ms } from './database-clock';
import { INGEST_SQL } from './ingest';
import type { Runner } from './run';

/*
 * SQL of the admin writes in Postgres. Every delivery update is guarded by the statuses it may
 * leave, and says so in its WHERE, so a dispatcher that leased the row in between is never
 * overwritten (the row count tells).
 */
export const ADMIN_SQL = {
  insertApiSubscription: `INSERT INTO api_subscriptions (id, spec, created_at, updated_at, tenant)
    VALUES (@id, @spec, @now, @now, @tenant) ON CONFLICT (id) DO NOTHING`,
  // With @ifUpdatedAt: only if nothing wrote the row since it was read (hookrelay reencrypt).
  updateApiSubscription: `UPDATE api_subscriptions SET spec = @spec, updated_at = @now
    WHERE id = @id AND (@ifUpdatedAt::bigint IS NULL OR updated_at = @ifUpdatedAt::bigint)`,
  // The tenant row is the lock two instances creating its subscriptions queue on.
  lockTenant: `SELECT max_subscriptions FROM tenants WHERE id = @tenant AND state = 'active' FOR UPDATE`,
  countOfTenant: `SELECT count(*)::int AS n FROM api_subscriptions WHERE tenant = @tenant`,
  deleteApiSubscription: `DELETE FROM api_subscriptions WHERE id = @id`,
  deleteSubscriptionState: `DELETE FROM subscription_state WHERE id = @id`,
  cancelWaitingOfSubscription: `UPDATE deliveries
    SET status = 'cancelled', next_attempt_at = NULL, updated_at = @now
    WHERE subscription_id = @subscriptionId AND status IN ('pending', 'retrying')`,

  eventType: `SELECT type, tenant FROM events WHERE id = @id`,

  // Never tried -> pending, else retrying (as release does); attempts are kept.
  retry: `UPDATE deliveries
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
      next_attempt_at = @now, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying', 'failed', 'cancelled')
    RETURNING *`,
  cancel: `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying')
    RETURNING *`,
  selectDelivery: `SELECT * FROM deliveries WHERE id = @id`,
  // `id >= @sinceId` only narrows the index range (see deliveryIdFloor); created_at decides.
  recover: `UPDATE deliveries
    SET status = 'retrying', next_attempt_at = @now, updated_at = @now
    WHERE subscription_id = @subscriptionId AND status = 'failed'
      AND id >= @sinceId AND created_at >= @since AND created_at < @until`,

  insertAudit: `INSERT INTO audit_log (id, at, actor, action, target, details)
    VALUES (@id, @at, @actor, @action, @target, @details)`,
} as const;

/**
 * New pending deliveries due now (`at`, database clock); the event's delivery_count stays its first
 * ingest answer. Ids are made from the same time as created_at, as deliveryIdFloor assumes.
 */
export async function addDeliveries(tx: Runner, eventId: string, subscriptionIds: string[], at: number): Promise<string[]> {
  const [event] = await tx.rows<{ type: string; tenant: string | null }>(ADMIN_SQL.eventType, { id: eventId });
  if (event === undefined) return [];
  const ids: string[] = [];
  for (const subscriptionId of subscriptionIds) {
    const id = newDeliveryId(at);
    await tx.count(INGEST_SQL.insertDelivery, { id, eventId, subscriptionId, eventType: event.type, tenant: event.tenant, createdAt: at });
    ids.push(id);
  }
  return ids;
}

/** Failed deliveries of a subscription created in [since, until) become due at `now` (all on the database clock). */
export function recoverDeliveries(tx: Runner, subscriptionId: string, since: number, until: number, now: number): Promise<number> {
  return tx.count(ADMIN_SQL.recover, { subscriptionId, since: ms(since), until: ms(until), sinceId: deliveryIdFloor(since), now: ms(now) });
}

/**
 * Result of a guarded retry or cancel: the updated row, or why there is none. Cancelling a
 * cancelled delivery is ok (idempotent) and changes nothing, not even updated_at.
 */
export async function actionResult(
  tx: Runner,
  updated: DeliveryRow[],
  id: string,
  action: 'retry' | 'cancel',
): Promise<DeliveryActionResult> {
  if (updated[0] !== undefined) return { kind: 'ok', delivery: toDelivery(updated[0]) };
  const [current] = await tx.rows<DeliveryRow>(ADMIN_SQL.selectDelivery, { id });
  if (current === undefined) return { kind: 'not_found' };
  if (action === 'cancel' && current.status === 'cancelled') return { kind: 'ok', delivery: toDelivery(current) };
  return { kind: 'conflict', status: current.status };
}
