import { newDeliveryId } from '../../lib/ids';
import { applyTenants, idsToLookUp, planIngest, type StoredIdentity, type TenantGate, tenantsToLookUp } from '../sql/ingest-plan';
import type { IngestResult, NewEvent } from '../types';
import { ms } from './database-clock';
import type { Runner } from './run';

/** SQL of ingest in Postgres. */
export const INGEST_SQL = {
  // Every id of a request in one round trip.
  findEvents: `SELECT id, content_hash, delivery_count FROM events WHERE id = ANY(@ids)`,
  // FOR SHARE: an erasure that marks the tenant waits for this ingest to commit, then sees its rows.
  findTenants: `SELECT id, enabled, state FROM tenants WHERE id = ANY(@ids) FOR SHARE`,
  insertEvent: `INSERT INTO events (id, type, data, content_hash, created_at, delivery_count, tenant, test)
    VALUES (@id, @type, @data, @contentHash, @createdAt, @deliveryCount, @tenant, @test)`,
  // A new delivery is due at its creation.
  insertDelivery: `INSERT INTO deliveries (id, event_id, subscription_id, event_type, tenant, status, attempts,
      next_attempt_at, created_at, updated_at)
    VALUES (@id, @eventId, @subscriptionId, @eventType, @tenant, 'pending', 0, @createdAt, @createdAt, @createdAt)`,
} as const;

/** Postgres's code for a unique key violation: another instance stored the same event id first. */
export const UNIQUE_VIOLATION = '23505';

/**
 * One ingest request in the group's transaction: the shared rules (planIngest), decided before the
 * first write, so a conflicting request writes nothing. Times are shifted onto the database clock.
 */
export async function ingestRequest(tx: Runner, request: NewEvent[], shift: number): Promise<IngestResult> {
  const tenants = tenantsToLookUp(request);
  const gates = tenants.length === 0 ? [] : await tx.rows<TenantGate>(INGEST_SQL.findTenants, { ids: tenants });
  const gated = applyTenants(request, new Map(gates.map((g) => [g.id, g])));
  if (gated.kind !== 'ok') return gated;
  const events = gated.events;
  const ids = idsToLookUp(events);
  const found = ids.length === 0 ? [] : await tx.rows<StoredIdentity & { id: string }>(INGEST_SQL.findEvents, { ids });
  const plan = planIngest(events, new Map(found.map((f) => [f.id, f])));
  if (plan.kind === 'conflict') return plan;
  for (const event of plan.toInsert) {
    const createdAt = ms(event.createdAt + shift);
    await tx.count(INGEST_SQL.insertEvent, {
      id: event.id,
      type: event.type,
      data: event.data,
      contentHash: event.contentHash,
      createdAt,
      deliveryCount: event.subscriptionIds.length,
      tenant: event.tenant ?? null,
      test: event.test ? 1 : 0,
    });
    for (const subscriptionId of event.subscriptionIds) {
      await tx.count(INGEST_SQL.insertDelivery, {
        id: newDeliveryId(createdAt),
        eventId: event.id,
        subscriptionId,
        eventType: event.type,
        tenant: event.tenant ?? null,
        createdAt,
      });
    }
  }
  return { kind: 'ok', events: plan.events };
}
