import type Database from 'better-sqlite3';
import { newDeliveryId } from '../../lib/ids';
import type { AuditEntry, DeliveryActionResult, TenantInsertResult } from '../types';
import { prepareAdminStatements, type AdminStatements } from './admin-statements';
import { deliveryIdFloor } from '../sql/delivery-id-floor';
import { toDelivery } from '../sql/from-rows';
import type { DeliveryRow } from '../sql/rows';
import { immediateWriter } from './write-transaction';

/**
 * Writes of the admin API, each one BEGIN IMMEDIATE transaction on the hot paths' connection.
 * Built after migrate(), like the hot paths. Times are whole ms (the caller rounds).
 */
export function createAdminWrites(db: Database.Database) {
  const s = prepareAdminStatements(db);
  const write = immediateWriter(db);
  /** Logs a change of `id` when `wrote` (see Store.subscriptionChangesSince); returns `wrote`. */
  const changed = (wrote: boolean, id: string, now: number): boolean => {
    if (wrote) s.recordChange.run({ id, now });
    return wrote;
  };
  return {
    insertApiSubscription: write((id: string, spec: Record<string, unknown>, now: number, tenant: string | null) =>
      changed(s.insertApiSubscription.run({ id, spec: JSON.stringify(spec), now, tenant }).changes === 1, id, now),
    ),
    insertTenantSubscription: write(
      (id: string, spec: Record<string, unknown>, now: number, tenant: string, defaultMax: number): TenantInsertResult => {
        // Inside BEGIN IMMEDIATE: no other writer counts between this count and the insert.
        const record = s.tenantLimit.get({ tenant });
        if (!record) return { result: 'no_tenant' };
        const limit = record.max_subscriptions ?? defaultMax;
        if (s.countOfTenant.get({ tenant })!.n >= limit) return { result: 'limit', limit };
        const wrote = s.insertApiSubscription.run({ id, spec: JSON.stringify(spec), now, tenant }).changes === 1;
        return changed(wrote, id, now) ? { result: 'ok' } : { result: 'taken' };
      },
    ),
    updateApiSubscription: write((id: string, spec: Record<string, unknown>, now: number, ifUpdatedAt: number | null) =>
      changed(s.updateApiSubscription.run({ id, spec: JSON.stringify(spec), now, ifUpdatedAt }).changes === 1, id, now),
    ),
    deleteApiSubscription: write((id: string, now: number, held: string) => {
      if (s.deleteApiSubscription.run({ id }).changes === 0) return false;
      s.deleteSubscriptionState.run({ id });
      s.cancelWaitingOfSubscription.run({ subscriptionId: id, now, held });
      return changed(true, id, now);
    }),
    addDeliveries: write((eventId: string, subscriptionIds: string[], now: number) => addDeliveries(s, eventId, subscriptionIds, now)),
    retryDelivery: write((id: string, now: number) => act(s, s.retry.get({ id, now }), id, 'retry')),
    cancelDelivery: write((id: string, now: number) => act(s, s.cancel.get({ id, now }), id, 'cancel')),
    recoverDeliveries: write(
      (subscriptionId: string, since: number, until: number, now: number) =>
        s.recover.run({ subscriptionId, since, until, sinceId: deliveryIdFloor(since), now }).changes,
    ),
    appendAudit: write((entry: AuditEntry) => {
      s.insertAudit.run({
        id: entry.id,
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        details: JSON.stringify(entry.details),
      });
    }),
  };
}

/** The admin writes of one store. */
export type AdminWrites = ReturnType<typeof createAdminWrites>;

/** New pending deliveries due now; the event's delivery_count stays its first ingest answer. */
function addDeliveries(s: AdminStatements, eventId: string, subscriptionIds: string[], now: number): string[] {
  const event = s.eventType.get({ id: eventId });
  if (event === undefined) return [];
  return subscriptionIds.map((subscriptionId) => {
    const id = newDeliveryId(now);
    s.insertDelivery.run({ id, eventId, subscriptionId, eventType: event.type, tenant: event.tenant, createdAt: now });
    return id;
  });
}

/**
 * Result of a guarded retry or cancel: the updated row, or why there is none. Cancelling a
 * cancelled delivery is ok (idempotent) and changes nothing, not even updated_at.
 */
function act(s: AdminStatements, updated: DeliveryRow | undefined, id: string, action: 'retry' | 'cancel'): DeliveryActionResult {
  if (updated !== undefined) return { kind: 'ok', delivery: toDelivery(updated) };
  const current = s.selectDelivery.get({ id });
  if (current === undefined) return { kind: 'not_found' };
  if (action === 'cancel' && current.status === 'cancelled') return { kind: 'ok', delivery: toDelivery(current) };
  return { kind: 'conflict', status: current.status };
}
