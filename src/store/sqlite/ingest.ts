import { newDeliveryId } from '../../lib/ids';
import { applyTenants, idsToLookUp, planIngest, type StoredIdentity, type TenantGate, tenantsToLookUp } from '../sql/ingest-plan';
import type { IngestResult, NewEvent } from '../types';
import type Database from 'better-sqlite3';

type IngestParams = Record<string, string | number | null>;
/** The prepared statements ingest runs (statements.ts prepares them from INGEST_SQL). */
export interface IngestStatements {
  findEvent: Database.Statement<{ id: string }, { content_hash: string; delivery_count: number }>;
  findTenant: Database.Statement<{ id: string }, TenantGate>;
  insertEvent: Database.Statement<IngestParams>;
  insertDelivery: Database.Statement<IngestParams>;
}

/** SQL of ingest (prepared in statements.ts). */
export const INGEST_SQL = {
  findEvent: `SELECT content_hash, delivery_count FROM events WHERE id = @id`,
  findTenant: `SELECT id, enabled, state FROM tenants WHERE id = @id`,
  insertEvent: `INSERT INTO events (id, type, data, content_hash, created_at, delivery_count, tenant, test)
    VALUES (@id, @type, @data, @contentHash, @createdAt, @deliveryCount, @tenant, @test)`,
  // A new delivery is due at its creation.
  insertDelivery: `INSERT INTO deliveries (id, event_id, subscription_id, event_type, tenant, status, attempts,
      next_attempt_at, created_at, updated_at)
    VALUES (@id, @eventId, @subscriptionId, @eventType, @tenant, 'pending', 0, @createdAt, @createdAt, @createdAt)`,
} as const;

/**
 * Stores one ingest request; runs inside the group's transaction. The rules (planIngest) are
 * decided before the first write, so a conflicting request writes nothing and the rest of the
 * group is untouched.
 */
export function ingestRequest(s: IngestStatements, request: NewEvent[]): IngestResult {
  const gates = new Map<string, TenantGate>();
  for (const id of tenantsToLookUp(request)) {
    const gate = s.findTenant.get({ id });
    if (gate !== undefined) gates.set(id, gate);
  }
  const gated = applyTenants(request, gates);
  if (gated.kind !== 'ok') return gated;
  const events = gated.events;
  const stored = new Map<string, StoredIdentity>();
  for (const id of idsToLookUp(events)) {
    const found = s.findEvent.get({ id });
    if (found !== undefined) stored.set(id, found);
  }
  const plan = planIngest(events, stored);
  if (plan.kind === 'conflict') return plan;
  for (const event of plan.toInsert) insertEvent(s, event);
  return { kind: 'ok', events: plan.events };
}

function insertEvent(s: IngestStatements, event: NewEvent): void {
  const createdAt = Math.round(event.createdAt);
  s.insertEvent.run({
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
    s.insertDelivery.run({
      id: newDeliveryId(createdAt),
      eventId: event.id,
      subscriptionId,
      eventType: event.type,
      tenant: event.tenant ?? null,
      createdAt,
    });
  }
}
