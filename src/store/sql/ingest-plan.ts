import type { IngestedEvent, IngestResult, NewEvent } from '../types';

/** What decides idempotency about an event already stored under an id. */
export interface StoredIdentity {
  content_hash: string;
  delivery_count: number;
}

/** What ingest reads of a tenant's record, in its transaction. */
export interface TenantGate {
  id: string;
  /** 0 or 1. */
  enabled: number;
  state: 'active' | 'erasing';
}

/** The tenants of a request whose record must be read, each once. */
export function tenantsToLookUp(events: readonly NewEvent[]): string[] {
  return [...new Set(events.flatMap((e) => (e.tenant === undefined ? [] : [e.tenant])))];
}

/**
 * The tenant rules of one request (SPEC 9), decided on the records read in the ingest transaction
 * so every instance agrees without a cache: an erasing tenant refuses the whole request; a disabled
 * one keeps its events and their platform deliveries but gets none of its own; a tenant without a
 * record, or enabled, gets both. The events come back with one list of subscription ids.
 */
export function applyTenants(
  events: readonly NewEvent[],
  gates: ReadonlyMap<string, TenantGate>,
): Extract<IngestResult, { kind: 'tenant_erasing' }> | { kind: 'ok'; events: NewEvent[] } {
  const out: NewEvent[] = [];
  for (const event of events) {
    const { tenantSubscriptionIds = [], ...rest } = event;
    const gate = event.tenant === undefined ? undefined : gates.get(event.tenant);
    if (gate?.state === 'erasing') return { kind: 'tenant_erasing', tenant: gate.id };
    const own = event.tenant === undefined || gate?.enabled === 0 ? [] : tenantSubscriptionIds;
    out.push(own.length === 0 ? rest : { ...rest, subscriptionIds: [...rest.subscriptionIds, ...own] });
  }
  return { kind: 'ok', events: out };
}

/** The ids of a request whose stored events must be looked up: each given id once; ids the relay just made cannot exist. */
export function idsToLookUp(events: readonly NewEvent[]): string[] {
  return [...new Set(events.filter((e) => !e.freshId).map((e) => e.id))];
}

/**
 * The ingest rules of one request, for every backend, decided before anything is written so a
 * conflicting request writes nothing: an id given twice with other content, or stored with other
 * content, is a conflict (the first in request order is named); a stored id with the same content
 * is a replay answered like the first time; the same id twice with the same content is stored once.
 * `stored` holds what the store found for idsToLookUp(events).
 */
export function planIngest(
  events: readonly NewEvent[],
  stored: ReadonlyMap<string, StoredIdentity>,
): Extract<IngestResult, { kind: 'conflict' }> | { kind: 'ok'; events: IngestedEvent[]; toInsert: NewEvent[] } {
  const firstHash = new Map<string, string>();
  for (const event of events) {
    const seenHash = firstHash.get(event.id);
    if (seenHash !== undefined) {
      if (seenHash !== event.contentHash) return { kind: 'conflict', id: event.id };
      continue;
    }
    firstHash.set(event.id, event.contentHash);
    const found = stored.get(event.id);
    if (found !== undefined && found.content_hash !== event.contentHash) return { kind: 'conflict', id: event.id };
  }
  // id -> delivery count of the event as first stored (in the database or earlier in this request)
  const known = new Map<string, number>();
  for (const [id, found] of stored) known.set(id, found.delivery_count);
  const toInsert: NewEvent[] = [];
  const results = events.map((event): IngestedEvent => {
    const count = known.get(event.id);
    // A replay, or the same id again inside this request: counted once, answered like the first.
    if (count !== undefined) return { id: event.id, deliveries: count, created: false };
    toInsert.push(event);
    known.set(event.id, event.subscriptionIds.length);
    return { id: event.id, deliveries: event.subscriptionIds.length, created: true };
  });
  return { kind: 'ok', events: results, toInsert };
}
