import type { DueRow, HeadRow, WindowRow } from '../sql/rows';
import type { ClaimBatch, ClaimedDelivery, ClaimRequest, WaitingSubscription } from '../types';
import type Database from 'better-sqlite3';
import { toClaimed } from '../sql/from-rows';
import { headStanding } from '../sql/fifo-head';
import type { ErasingTenants } from './erasure';
import type { Lease, Leases } from './leases';

/** A window row read without its event: which delivery, due when. */
export type WindowId = Pick<WindowRow, 'id' | 'next_attempt_at'>;

/** The prepared statements claims run (statements.ts prepares them from CLAIM_SQL). */
export interface ClaimStatements {
  selectWindow: Database.Statement<{ subscriptionId: string }, WindowId>;
  selectWindowGuarded: Database.Statement<{ subscriptionId: string }, WindowId>;
  selectRows: Database.Statement<{ subscriptionId: string }, WindowRow>;
  selectRowsGuarded: Database.Statement<{ subscriptionId: string }, WindowRow>;
  claimRow: Database.Statement<{ id: string }, DueRow>;
  waiting: Database.Statement<[], { subscription_id: string; at: number }>;
  nextDue: Database.Statement<{ subscriptionId: string }, { at: number | null }>;
  dueOrder: Database.Statement<{ subscriptionId: string }, { id: string; next_attempt_at: number }>;
  dueNow: Database.Statement<{ id: string; now: number }>;
  fifoHead: Database.Statement<{ subscriptionId: string }, HeadRow>;
}

/*
 * SQL of claims, leases and due times (prepared in statements.ts). Every waiting-delivery query
 * repeats `status IN ('pending', 'retrying')` word for word: that is what lets SQLite use the
 * partial index `deliveries_due`. INDEXED BY pins the partial indexes: without statistics the
 * planner prefers `deliveries_status (status=?)`, and if an index ever goes missing or stops
 * matching, preparing fails loudly instead of scanning.
 */
/** A claimed row's event, as toClaimed reads it (the tenant is the delivery's copy of its event's). */
const EVENT_COLUMNS =
  'e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test';

function windowSql(guard: string, columns: 'ids' | 'rows'): string {
  const select =
    columns === 'ids'
      ? 'SELECT d.id, d.next_attempt_at FROM deliveries d INDEXED BY deliveries_due'
      : `SELECT d.id, d.subscription_id, d.attempts, d.next_attempt_at,
      ${EVENT_COLUMNS}
    FROM deliveries d INDEXED BY deliveries_due JOIN events e ON e.id = d.event_id`;
  return `${select}
    WHERE d.subscription_id = @subscriptionId AND d.status IN ('pending', 'retrying') ${guard}
    ORDER BY d.next_attempt_at, d.id`;
}

const ERASING_GUARD = `AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenant_erasures te WHERE te.tenant = d.tenant AND te.state = 'erasing'))`;

export const CLAIM_SQL = {
  // The subscription's waiting deliveries in due order, due or not: a claim reads the first
  // rows (as many as it may lease, those it holds, and one more, whose due time says when to claim again).
  // Two forms. A subscription with nothing leased reads its rows with their events (selectRows):
  // every row it reads but the last is one it leases. One with leases reads ids and due times
  // (selectWindow), then the rows it leases (claimRow): most rows it passes over are the ones it
  // holds already. Reading those with their events made a claim cost 13-15 instead of 11 µs per
  // leased delivery (the backlog bench: 256 held, about 120 leased per claim); reading ids first
  // for a subscription with nothing leased would cost a second statement per delivery.
  selectWindow: windowSql('', 'ids'),
  selectRows: windowSql('', 'rows'),
  // The same while some tenant is being erased: its rows are left alone (the eraser is about to
  // delete them). Which tenants those are is known in memory (ErasingTenants), so the usual claim
  // does not probe tenant_erasures for every row.
  selectWindowGuarded: windowSql(ERASING_GUARD, 'ids'),
  selectRowsGuarded: windowSql(ERASING_GUARD, 'rows'),
  // Every subscription with waiting deliveries and its earliest due time, by a skip scan of
  // deliveries_due: one probe per such subscription, not one row per delivery nor per subscription.
  waiting: `WITH RECURSIVE subs(id) AS (
      SELECT (SELECT MIN(subscription_id) FROM deliveries INDEXED BY deliveries_due WHERE status IN ('pending', 'retrying'))
      UNION ALL
      SELECT (SELECT MIN(subscription_id) FROM deliveries INDEXED BY deliveries_due
        WHERE status IN ('pending', 'retrying') AND subscription_id > subs.id)
      FROM subs WHERE subs.id IS NOT NULL)
    SELECT id AS subscription_id, (SELECT MIN(next_attempt_at) FROM deliveries INDEXED BY deliveries_due
        WHERE subscription_id = subs.id AND status IN ('pending', 'retrying')) AS at
    FROM subs WHERE id IS NOT NULL`,
  // A delivery the window chose, with its event.
  claimRow: `SELECT d.id, d.subscription_id, d.attempts,
      ${EVENT_COLUMNS}
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.id = @id`,
  // Leases are kept in memory (leases.ts); rows a version that leased in the database left
  // `delivering` are given back once, at the first rescue after start.
  rescueExpired: `UPDATE deliveries INDEXED BY deliveries_lease
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = @now,
      lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
    WHERE status = 'delivering' AND lease_expires_at <= @expiredBy`,

  nextDue: `SELECT MIN(next_attempt_at) AS at FROM deliveries INDEXED BY deliveries_due
    WHERE subscription_id = @subscriptionId AND status IN ('pending', 'retrying')`,
  // A lease given back or expired: its row (never changed while leased) is due now.
  dueNow: `UPDATE deliveries SET next_attempt_at = @now, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying')`,
  // The same in due order, for a subscription with leased rows among its waiting ones.
  dueOrder: `SELECT id, next_attempt_at FROM deliveries INDEXED BY deliveries_due
    WHERE subscription_id = @subscriptionId AND status IN ('pending', 'retrying')
    ORDER BY next_attempt_at, id`,

  // `ordering: fifo`: the oldest unfinished delivery (ids sort in ingest order), whatever its
  // status. One MIN per status: each is a single seek in deliveries_subscription, where one
  // `status IN (...) ORDER BY id` would sort the whole backlog.
  fifoHead: `SELECT d.id, d.subscription_id, d.attempts, d.status, d.next_attempt_at,
      ${EVENT_COLUMNS}
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.id = (SELECT MIN(id) FROM (
      SELECT MIN(id) AS id FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'pending'
      UNION ALL SELECT MIN(id) FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'retrying'
      UNION ALL SELECT MIN(id) FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'delivering') AS heads)`,
} as const;

/**
 * Leases due deliveries, per subscription, oldest due first. Only reads: the leases are entries in
 * `leases`, the rows stay as they are. The window of a subscription is read with room for the rows
 * it has leased already, which are passed over. `rateLimit` is not spent here: one process owns the
 * file, and the dispatcher's own limiter holds it.
 */
export function claimDue(
  s: ClaimStatements,
  leases: Leases,
  erasing: ErasingTenants,
  requests: ClaimRequest[],
  owner: string,
  now: number,
): ClaimBatch {
  const [selectWindow, selectRows] = erasing.none() ? [s.selectWindow, s.selectRows] : [s.selectWindowGuarded, s.selectRowsGuarded];
  const deliveries: ClaimedDelivery[] = [];
  const nextDueAt = new Map<string, number | null>();
  for (const request of requests) {
    const { subscriptionId } = request;
    const limit = Math.floor(request.limit);
    if (limit <= 0) continue;
    const expiresAt = Math.round(request.leaseExpiresAt);
    const lease = (row: { attempts: number; event_type: string; event_tenant: string | null }): Lease => ({
      owner,
      expiresAt,
      subscriptionId,
      eventType: row.event_type,
      tenant: row.event_tenant,
      waiting: row.attempts === 0 ? 'pending' : 'retrying',
      at: now,
    });
    if (request.fifo) {
      const head = s.fifoHead.get({ subscriptionId });
      // A leased head is delivering: nothing of the subscription is due until its attempt ends.
      const { due, next } = head !== undefined && leases.get(head.id) ? { due: false, next: null } : headStanding(head, now);
      if (due) {
        leases.take(head!.id, lease(head!));
        deliveries.push(toClaimed(head!));
      }
      nextDueAt.set(subscriptionId, next);
      continue;
    }
    const held = leases.heldOn(subscriptionId);
    let next: number | null = null;
    if (held === 0) {
      // Nothing of it leased: every row read but the last is one to lease.
      let leased = 0;
      for (const row of firstRows(selectRows, subscriptionId, limit + 1)) {
        if (leased === limit || row.next_attempt_at > now) {
          next = row.next_attempt_at;
          break;
        }
        leases.take(row.id, lease(row));
        deliveries.push(toClaimed(row));
        leased++;
      }
    } else {
      const chosen: string[] = [];
      for (const row of firstRows(selectWindow, subscriptionId, limit + held + 1)) {
        if (leases.get(row.id)) continue;
        if (chosen.length === limit || row.next_attempt_at > now) {
          next = row.next_attempt_at;
          break;
        }
        chosen.push(row.id);
      }
      // After the window's iteration has ended: the connection runs one statement at a time.
      for (const id of chosen) {
        const row = s.claimRow.get({ id })!;
        leases.take(id, lease(row));
        deliveries.push(toClaimed(row));
      }
    }
    nextDueAt.set(subscriptionId, next);
  }
  return { deliveries, nextDueAt };
}

/** Every subscription with waiting deliveries (not counting leased ones) and its earliest due time. */
export function waitingSubscriptions(s: ClaimStatements, leases: Leases): WaitingSubscription[] {
  const waiting: WaitingSubscription[] = [];
  for (const row of s.waiting.all()) {
    const at = leases.heldOn(row.subscription_id) === 0 ? row.at : dueAfterLeases(s, leases, row.subscription_id);
    if (at !== null) waiting.push({ subscriptionId: row.subscription_id, nextDueAt: at });
  }
  return waiting;
}

/** Makes these (leased, so waiting) rows due now: a lease given back or expired. Runs in a write transaction. */
export function makeDueNow(s: ClaimStatements, ids: readonly string[], now: number): void {
  for (const id of ids) s.dueNow.run({ id, now });
}

/**
 * Earliest due time among waiting deliveries of these subscriptions, leased ones aside (one index
 * probe each); for fifo ones, the due time of the head alone (none while it is delivering).
 */
export function nextDueAt(
  s: ClaimStatements,
  leases: Leases,
  subscriptionIds: string[],
  fifo: ReadonlySet<string> = new Set(),
): number | null {
  let earliest: number | null = null;
  for (const subscriptionId of new Set(subscriptionIds)) {
    const at = fifo.has(subscriptionId) ? headDueAt(s, leases, subscriptionId) : dueAfterLeases(s, leases, subscriptionId);
    if (at !== null && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest;
}

/** The earliest due time of a subscription's waiting rows that are not leased. */
function dueAfterLeases(s: ClaimStatements, leases: Leases, subscriptionId: string): number | null {
  const held = leases.heldOn(subscriptionId);
  if (held === 0) return s.nextDue.get({ subscriptionId })?.at ?? null;
  for (const row of firstRows(s.dueOrder, subscriptionId, held + 1)) if (!leases.get(row.id)) return row.next_attempt_at;
  return null;
}

function headDueAt(s: ClaimStatements, leases: Leases, subscriptionId: string): number | null {
  const head = s.fifoHead.get({ subscriptionId });
  return head === undefined || head.status === 'delivering' || leases.get(head.id) ? null : head.next_attempt_at;
}

/**
 * The first `count` rows of a subscription's statement, read one by one (the statement stops where
 * the caller stops). The window statements have no `LIMIT @limit`: with its limit bound as a
 * parameter, SQLite ran the same plan about twice as slowly (measured: 25 against 12 µs for a
 * two-row window of one of 100,000 subscriptions).
 */
function* firstRows<R>(statement: Database.Statement<{ subscriptionId: string }, R>, subscriptionId: string, count: number): Generator<R> {
  if (count <= 0) return;
  let n = 0;
  for (const row of statement.iterate({ subscriptionId })) {
    yield row;
    if (++n >= count) return;
  }
}
