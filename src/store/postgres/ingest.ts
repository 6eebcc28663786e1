import { newDeliveryId } from '../../lib/ids';
import { applyTenants, idsToLookUp, planIngest, type StoredIdentity, type TenantGate, tenantsToLookUp } from '../sql/ingest-plan';
import type { IngestResult, NewEvent } from '../types';
import { ms } from './database-clock';
import type { Runner } from './run';

/**
 * The first key of the transaction-scoped advisory locks on tenant ids (the second is the id's
 * hash; two ids with one hash only wait for each other). Ingest takes them shared for tenants
 * without a record, the start of an erasure exclusive.
 */
export const TENANT_LOCK_SPACE = 0x68727400;

/** SQL of ingest in Postgres. */
export const INGEST_SQL = {
  // Every id of a request in one round trip.
  findEvents: `SELECT id, content_hash, delivery_count FROM events WHERE id = ANY(@ids)`,
  // For tenants without a record, which FOR SHARE below cannot lock: held to commit, so an erasure
  // starting meanwhile waits for this ingest (then erases its rows), and one already starting is
  // waited for (the tenants are then read again, and seen erasing). Ids come sorted.
  lockTenants: `SELECT pg_advisory_xact_lock_shared(${TENANT_LOCK_SPACE}, hashtext(t)) FROM unnest(@ids::text[]) AS t`,
  // FOR SHARE: a change of the tenant (its limits, enabled, the start of its erasure) waits for this
  // ingest to commit; one that committed first is what this reads.
  findTenants: `SELECT id, enabled, state FROM tenants WHERE id = ANY(@ids) FOR SHARE`,
  // The new events of a group and their deliveries (due at their creation) in one round trip; with
  // a channel, the wake-up of every instance too (sent at commit). The deliveries' foreign key is
  // checked at the end of the statement, when the events are in.
  insertAll: `WITH new_events AS (
      INSERT INTO events (id, type, data, content_hash, created_at, delivery_count, tenant, test)
      SELECT v.id, v.type, v.data, v.content_hash, v.created_at, v.delivery_count, v.tenant, v.test
      FROM unnest(@ids::text[], @types::text[], @datas::text[], @contentHashes::text[], @createdAts::bigint[],
        @deliveryCounts::int[], @tenants::text[], @tests::int[])
        WITH ORDINALITY AS v(id, type, data, content_hash, created_at, delivery_count, tenant, test, n)
      -- seq in request order, as one INSERT per event gave it (listings break created_at ties by seq).
      ORDER BY v.n
      RETURNING 1),
    new_deliveries AS (
      INSERT INTO deliveries (id, event_id, subscription_id, event_type, tenant, status, attempts,
        next_attempt_at, created_at, updated_at)
      SELECT v.id, v.event_id, v.subscription_id, v.event_type, v.tenant, 'pending', 0, v.created_at, v.created_at, v.created_at
      FROM unnest(@deliveryIds::text[], @eventIds::text[], @subscriptionIds::text[], @eventTypes::text[],
        @deliveryTenants::text[], @deliveryCreatedAts::bigint[])
        AS v(id, event_id, subscription_id, event_type, tenant, created_at)
      RETURNING 1)
    SELECT pg_notify(@channel::text, @payload::text) FROM (SELECT 1) AS once WHERE @channel::text IS NOT NULL`,
  // A new delivery is due at its creation.
  insertDelivery: `INSERT INTO deliveries (id, event_id, subscription_id, event_type, tenant, status, attempts,
      next_attempt_at, created_at, updated_at)
    VALUES (@id, @eventId, @subscriptionId, @eventType, @tenant, 'pending', 0, @createdAt, @createdAt, @createdAt)`,
} as const;

/** Postgres's code for a unique key violation: another instance stored the same event id first. */
export const UNIQUE_VIOLATION = '23505';

/**
 * A group of ingest requests in one transaction, each decided by the shared rules (planIngest)
 * before anything is written, so a conflicting or refused request writes nothing and the others
 * still do. The reads and the writes are each one statement for the whole group (tenants, given
 * ids, then events and deliveries together): the round trips of a group do not grow with its
 * requests and events. With `notice`, the wake-up for the new deliveries rides on the insert.
 * Times are shifted onto the database clock.
 */
export async function ingestGroup(tx: Runner, requests: NewEvent[][], shift: number, notice?: WorkNotice): Promise<IngestResult[]> {
  const tenants = [...new Set(requests.flatMap((r) => tenantsToLookUp(r)))].sort();
  const gates = tenants.length === 0 ? [] : await tx.rows<TenantGate>(INGEST_SQL.findTenants, { ids: tenants });
  const gateOf = new Map(gates.map((g) => [g.id, g]));
  const unrecorded = tenants.filter((t) => !gateOf.has(t));
  if (unrecorded.length > 0) {
    await tx.rows(INGEST_SQL.lockTenants, { ids: unrecorded });
    for (const g of await tx.rows<TenantGate>(INGEST_SQL.findTenants, { ids: unrecorded })) gateOf.set(g.id, g);
  }
  const gated = requests.map((r) => applyTenants(r, gateOf));
  const ids = [...new Set(gated.flatMap((g) => (g.kind === 'ok' ? idsToLookUp(g.events) : [])))];
  const found = ids.length === 0 ? [] : await tx.rows<StoredIdentity & { id: string }>(INGEST_SQL.findEvents, { ids });
  // What is stored under each id, kept up to date with what earlier requests of the group insert.
  const stored = new Map<string, StoredIdentity>(found.map((f) => [f.id, f]));
  const toInsert: NewEvent[] = [];
  const results = gated.map((g): IngestResult => {
    if (g.kind !== 'ok') return g;
    const own = new Map<string, StoredIdentity>();
    for (const id of idsToLookUp(g.events)) {
      const identity = stored.get(id);
      if (identity !== undefined) own.set(id, identity);
    }
    const plan = planIngest(g.events, own);
    if (plan.kind === 'conflict') return plan;
    for (const event of plan.toInsert) {
      stored.set(event.id, { content_hash: event.contentHash, delivery_count: event.subscriptionIds.length });
      toInsert.push(event);
    }
    return { kind: 'ok', events: plan.events };
  });
  if (toInsert.length > 0) await insertAll(tx, toInsert, shift, notice);
  return results;
}

/** Where a group's wake-up goes: the NOTIFY channel and payload for the subscriptions that got work. */
export type WorkNotice = (subscriptionIds: ReadonlySet<string>) => { channel: string; payload: string };

/** The new events and their deliveries, and with `notice` the wake-up for them: one statement. */
async function insertAll(tx: Runner, events: NewEvent[], shift: number, notice: WorkNotice | undefined): Promise<void> {
  const createdAts = events.map((e) => ms(e.createdAt + shift));
  const d = { deliveryIds: [] as string[], eventIds: [] as string[], subscriptionIds: [] as string[], eventTypes: [] as string[] };
  const deliveryTenants: (string | null)[] = [];
  const deliveryCreatedAts: number[] = [];
  events.forEach((event, i) => {
    const createdAt = createdAts[i]!;
    for (const subscriptionId of event.subscriptionIds) {
      d.deliveryIds.push(newDeliveryId(createdAt));
      d.eventIds.push(event.id);
      d.subscriptionIds.push(subscriptionId);
      d.eventTypes.push(event.type);
      deliveryTenants.push(event.tenant ?? null);
      deliveryCreatedAts.push(createdAt);
    }
  });
  const woken = new Set(d.subscriptionIds);
  const wake = notice !== undefined && woken.size > 0 ? notice(woken) : { channel: null, payload: null };
  await tx.rows(INGEST_SQL.insertAll, {
    ids: events.map((e) => e.id),
    types: events.map((e) => e.type),
    datas: events.map((e) => e.data),
    contentHashes: events.map((e) => e.contentHash),
    createdAts,
    deliveryCounts: events.map((e) => e.subscriptionIds.length),
    tenants: events.map((e) => e.tenant ?? null),
    tests: events.map((e) => (e.test ? 1 : 0)),
    ...d,
    deliveryTenants,
    deliveryCreatedAts,
    ...wake,
  });
}

/** Whether a group only inserts (no tenant record to read and lock, no given id to look up): then one statement, no transaction. */
export const onlyInserts = (requests: readonly NewEvent[][]): boolean =>
  requests.every((r) => tenantsToLookUp(r).length === 0 && idsToLookUp(r).length === 0);
