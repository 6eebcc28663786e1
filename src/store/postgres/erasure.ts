import { BLANK_DETAILS, type ErasedRows, type TenantErasureRow, toTenantErasure } from '../sql/erasure-plan';
import type { TenantErasure } from '../types';
import { TENANT_LOCK_SPACE } from './ingest';
import type { Runner } from './run';

/*
 * Tenant erasure in Postgres (the order of the work: sql/erasure-plan.ts). Each batch is one
 * transaction that first locks the tenant's erasure row, so two instances erasing the same tenant
 * take turns instead of deleting the same rows and counting them twice. Deleted rows stay in the
 * table files until VACUUM reuses their space: that is the database operator's to run.
 */

/** SQL of tenant erasure in Postgres. */
export const ERASURE_SQL = {
  // Waits for the ingests in flight of this tenant if it has no record (with one, marking it waits for
  // their row locks), and holds new ones back until it reads as erasing (ingest.ts).
  lockTenant: `SELECT pg_advisory_xact_lock(${TENANT_LOCK_SPACE}, hashtext(@tenant::text))`,
  markTenant: `INSERT INTO tenants (id, name, metadata, enabled, max_subscriptions, ingest_rate, state, created_at, updated_at)
    VALUES (@tenant, NULL, NULL, 1, NULL, NULL, 'erasing', @now, @now)
    ON CONFLICT (id) DO UPDATE SET state = 'erasing', updated_at = EXCLUDED.updated_at`,
  start: `INSERT INTO tenant_erasures AS e (tenant, state, events, deliveries, attempts, started_at, finished_at)
    VALUES (@tenant, 'erasing', 0, 0, 0, @now, NULL)
    ON CONFLICT (tenant) DO UPDATE SET
      events = CASE WHEN e.state = 'done' THEN 0 ELSE e.events END,
      deliveries = CASE WHEN e.state = 'done' THEN 0 ELSE e.deliveries END,
      attempts = CASE WHEN e.state = 'done' THEN 0 ELSE e.attempts END,
      started_at = CASE WHEN e.state = 'done' THEN EXCLUDED.started_at ELSE e.started_at END,
      state = 'erasing', finished_at = NULL
    RETURNING *`,
  get: `SELECT * FROM tenant_erasures WHERE tenant = @tenant`,
  lock: `SELECT * FROM tenant_erasures WHERE tenant = @tenant FOR UPDATE`,
  erasing: `SELECT tenant FROM tenant_erasures WHERE state = 'erasing' ORDER BY tenant`,
  subscription: `SELECT id FROM api_subscriptions WHERE tenant = @tenant LIMIT 1`,
  deliveriesOfSubscription: `SELECT id FROM deliveries WHERE subscription_id = @id LIMIT @limit`,
  attemptsOfDeliveries: `DELETE FROM attempts WHERE delivery_id = ANY(@ids)`,
  deliveries: `DELETE FROM deliveries WHERE id = ANY(@ids)`,
  deleteSubscription: `DELETE FROM api_subscriptions WHERE id = @id`,
  deleteSubscriptionState: `DELETE FROM subscription_state WHERE id = @id`,
  blankAudit: `UPDATE audit_log SET details = '${BLANK_DETAILS}' WHERE target = @target AND details <> '${BLANK_DETAILS}'`,
  events: `SELECT id FROM events WHERE tenant = @tenant LIMIT @limit`,
  deliveriesOfEvents: `SELECT id FROM deliveries WHERE event_id = ANY(@ids)`,
  deleteEvents: `DELETE FROM events WHERE id = ANY(@ids)`,
  deleteTenant: `DELETE FROM tenants WHERE id = @tenant`,
  progress: `UPDATE tenant_erasures SET events = events + @events, deliveries = deliveries + @deliveries,
      attempts = attempts + @attempts
    WHERE tenant = @tenant`,
  finish: `UPDATE tenant_erasures SET state = 'done', finished_at = @now WHERE tenant = @tenant`,
  // Credentials of the tenant (tokens, portal links and sessions), deleted by every batch so they stop working at once.
  eraseTokens: `DELETE FROM tenant_tokens WHERE tenant = @tenant`,
  erasePortalSessions: `DELETE FROM portal_sessions WHERE tenant = @tenant`,
} as const;

/** Marks the tenant erasing and starts (or goes on with) its erasure, in the caller's transaction. */
export async function startErasure(tx: Runner, tenant: string, now: number): Promise<TenantErasure> {
  await tx.rows(ERASURE_SQL.lockTenant, { tenant });
  await tx.count(ERASURE_SQL.markTenant, { tenant, now });
  const [row] = await tx.rows<TenantErasureRow>(ERASURE_SQL.start, { tenant, now });
  return toTenantErasure(row!);
}

/** The erasure of a tenant, or null. */
export async function getErasure(run: Runner, tenant: string): Promise<TenantErasure | null> {
  const [row] = await run.rows<TenantErasureRow>(ERASURE_SQL.get, { tenant });
  return row === undefined ? null : toTenantErasure(row);
}

/** Tenants being erased. */
export async function erasingTenants(run: Runner): Promise<string[]> {
  return (await run.rows<{ tenant: string }>(ERASURE_SQL.erasing)).map((r) => r.tenant);
}

const idsOf = async (tx: Runner, sql: string, params: Record<string, unknown>) =>
  (await tx.rows<{ id: string }>(sql, params)).map((r) => r.id);

async function deleteDeliveries(tx: Runner, ids: string[], erased: ErasedRows): Promise<void> {
  if (ids.length === 0) return;
  erased.attempts += await tx.count(ERASURE_SQL.attemptsOfDeliveries, { ids });
  erased.deliveries += await tx.count(ERASURE_SQL.deliveries, { ids });
}

/**
 * One batch in the caller's transaction; `changed` logs a deleted subscription (the store's
 * change log, with its notification). `ended`: this batch finished the erasure.
 */
export async function eraseBatch(
  tx: Runner,
  tenant: string,
  limit: number,
  now: number,
  changed: (id: string) => Promise<void>,
): Promise<{ erasure: TenantErasure | null; ended: boolean }> {
  const [locked] = await tx.rows<TenantErasureRow>(ERASURE_SQL.lock, { tenant });
  if (locked === undefined || locked.state === 'done')
    return { erasure: locked === undefined ? null : toTenantErasure(locked), ended: false };
  const erased: ErasedRows = { events: 0, deliveries: 0, attempts: 0 };
  await tx.count(ERASURE_SQL.eraseTokens, { tenant });
  await tx.count(ERASURE_SQL.erasePortalSessions, { tenant });
  const size = Math.max(1, Math.floor(limit));
  let ended = false;
  const [subscription] = await tx.rows<{ id: string }>(ERASURE_SQL.subscription, { tenant });
  if (subscription !== undefined) {
    const { id } = subscription;
    const deliveryIds = await idsOf(tx, ERASURE_SQL.deliveriesOfSubscription, { id, limit: size });
    await deleteDeliveries(tx, deliveryIds, erased);
    if (deliveryIds.length < size) {
      await tx.count(ERASURE_SQL.deleteSubscription, { id });
      await tx.count(ERASURE_SQL.deleteSubscriptionState, { id });
      await tx.count(ERASURE_SQL.blankAudit, { target: id });
      await changed(id);
    }
  } else {
    const eventIds = await idsOf(tx, ERASURE_SQL.events, { tenant, limit: size });
    if (eventIds.length > 0) {
      await deleteDeliveries(tx, await idsOf(tx, ERASURE_SQL.deliveriesOfEvents, { ids: eventIds }), erased);
      erased.events += await tx.count(ERASURE_SQL.deleteEvents, { ids: eventIds });
    }
    ended = eventIds.length < size;
  }
  await tx.count(ERASURE_SQL.progress, { tenant, ...erased });
  if (ended) {
    await tx.count(ERASURE_SQL.deleteTenant, { tenant });
    await tx.count(ERASURE_SQL.blankAudit, { target: tenant });
    await tx.count(ERASURE_SQL.finish, { tenant, now });
  }
  return { erasure: await getErasure(tx, tenant), ended };
}
