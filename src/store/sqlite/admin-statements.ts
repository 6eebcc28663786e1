import type Database from 'better-sqlite3';
import type { DeliveryRow } from '../sql/rows';
import type { DeliveryStatus } from '../types';
import { INGEST_SQL } from './ingest';
import { CHANGES_SQL } from './subscription-changes';

/*
 * SQL of the admin writes, prepared once per store; exported so tests can EXPLAIN them. Every
 * delivery update is guarded by the statuses it may leave, and says so in its WHERE, so a
 * dispatcher that leased the row in between is never overwritten (the row count tells).
 */

/** SQL of the admin writes in SQLite. */
export const ADMIN_SQL = {
  insertApiSubscription: `INSERT INTO api_subscriptions (id, spec, created_at, updated_at, tenant)
    VALUES (@id, @spec, @now, @now, @tenant) ON CONFLICT (id) DO NOTHING`,
  // With @ifUpdatedAt: only if nothing wrote the row since it was read (hookrelay reencrypt).
  updateApiSubscription: `UPDATE api_subscriptions SET spec = @spec, updated_at = @now
    WHERE id = @id AND (@ifUpdatedAt IS NULL OR updated_at = @ifUpdatedAt)`,
  tenantLimit: `SELECT max_subscriptions FROM tenants WHERE id = @tenant AND state = 'active'`,
  countOfTenant: `SELECT count(*) AS n FROM api_subscriptions WHERE tenant = @tenant`,
  deleteApiSubscription: `DELETE FROM api_subscriptions WHERE id = @id`,
  deleteSubscriptionState: `DELETE FROM subscription_state WHERE id = @id`,
  recordChange: CHANGES_SQL.append,
  // Same WHERE as the partial index deliveries_due, word for word, so it is the one used.
  // Leased rows (in memory, still waiting in the table) are left to their attempt, which records its
  // result as a delivery of a removed subscription (cancelled).
  cancelWaitingOfSubscription: `UPDATE deliveries INDEXED BY deliveries_due
    SET status = 'cancelled', next_attempt_at = NULL, updated_at = @now
    WHERE subscription_id = @subscriptionId AND status IN ('pending', 'retrying')
      AND id NOT IN (SELECT value FROM json_each(@held))`,

  eventType: `SELECT type, tenant FROM events WHERE id = @id`,
  insertDelivery: INGEST_SQL.insertDelivery,

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
  recover: `UPDATE deliveries INDEXED BY deliveries_subscription
    SET status = 'retrying', next_attempt_at = @now, updated_at = @now
    WHERE subscription_id = @subscriptionId AND status = 'failed'
      AND id >= @sinceId AND created_at >= @since AND created_at < @until`,

  insertAudit: `INSERT INTO audit_log (id, at, actor, action, target, details)
    VALUES (@id, @at, @actor, @action, @target, @details)`,
} as const;

type Params = Record<string, string | number | null>;

/** The prepared admin statements of one store. */
export function prepareAdminStatements(db: Database.Database) {
  const prepare = <R = unknown>(sql: string) => db.prepare<[Params], R>(sql);
  return {
    insertApiSubscription: prepare(ADMIN_SQL.insertApiSubscription),
    updateApiSubscription: prepare(ADMIN_SQL.updateApiSubscription),
    tenantLimit: prepare<{ max_subscriptions: number | null }>(ADMIN_SQL.tenantLimit),
    countOfTenant: prepare<{ n: number }>(ADMIN_SQL.countOfTenant),
    deleteApiSubscription: prepare(ADMIN_SQL.deleteApiSubscription),
    deleteSubscriptionState: prepare(ADMIN_SQL.deleteSubscriptionState),
    recordChange: prepare(ADMIN_SQL.recordChange),
    cancelWaitingOfSubscription: prepare(ADMIN_SQL.cancelWaitingOfSubscription),
    eventType: prepare<{ type: string; tenant: string | null }>(ADMIN_SQL.eventType),
    insertDelivery: prepare(ADMIN_SQL.insertDelivery),
    retry: prepare<DeliveryRow>(ADMIN_SQL.retry),
    cancel: prepare<DeliveryRow>(ADMIN_SQL.cancel),
    selectDelivery: prepare<DeliveryRow & { status: DeliveryStatus }>(ADMIN_SQL.selectDelivery),
    recover: prepare(ADMIN_SQL.recover),
    insertAudit: prepare(ADMIN_SQL.insertAudit),
  };
}

/** The prepared admin statements of one store. */
export type AdminStatements = ReturnType<typeof prepareAdminStatements>;
