import type { HeadRow, WindowRow } from '../sql/rows';
import type { ClaimBatch, ClaimedDelivery, ClaimRequest, WaitingSubscription } from '../types';
import type Database from 'better-sqlite3';
import { toClaimed } from '../sql/from-rows';
import { headStanding } from '../sql/fifo-head';

type ClaimParams = Record<string, string | number | null>;
/** The prepared statements claims run (statements.ts prepares them from CLAIM_SQL). */
export interface ClaimStatements {
  selectWindow: Database.Statement<{ subscriptionId: string; limit: number }, WindowRow>;
  waiting: Database.Statement<[], { subscription_id: string; at: number }>;
  lease: Database.Statement<ClaimParams>;
  release: Database.Statement<{ id: string; owner: string; now: number }>;
  nextDue: Database.Statement<{ subscriptionId: string }, { at: number | null }>;
  fifoHead: Database.Statement<{ subscriptionId: string }, HeadRow>;
}

/*
 * SQL of claims, leases and due times (prepared in statements.ts). Every waiting-delivery query
 * repeats `status IN ('pending', 'retrying')` word for word: that is what lets SQLite use the
 * partial index `deliveries_due`. INDEXED BY pins the partial indexes: without statistics the
 * planner prefers `deliveries_status (status=?)`, and if an index ever goes missing or stops
 * matching, preparing fails loudly instead of scanning.
 */
export const CLAIM_SQL = {
  // The subscription's waiting deliveries in due order, due or not: a claim leases the due ones
  // among the first `limit` and reads one more, whose due time says when to claim again. Rows of
  // a tenant being erased are left alone (the eraser is about to delete them).
  selectWindow: `SELECT d.id, d.subscription_id, d.attempts, d.next_attempt_at,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test
    FROM deliveries d INDEXED BY deliveries_due JOIN events e ON e.id = d.event_id
    WHERE d.subscription_id = @subscriptionId AND d.status IN ('pending', 'retrying')
      AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenant_erasures te WHERE te.tenant = d.tenant AND te.state = 'erasing'))
    ORDER BY d.next_attempt_at, d.id
    LIMIT @limit`,
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
  lease: `UPDATE deliveries
    SET status = 'delivering', lease_owner = @owner, lease_expires_at = @leaseExpiresAt, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying')`,

  // Both give a lease back "as before": never tried -> pending, else retrying; due at once.
  release: `UPDATE deliveries
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = @now,
      lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
    WHERE id = @id AND status = 'delivering' AND lease_owner = @owner`,
  rescueExpired: `UPDATE deliveries INDEXED BY deliveries_lease
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = @now,
      lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
    WHERE status = 'delivering' AND lease_expires_at <= @expiredBy`,

  nextDue: `SELECT MIN(next_attempt_at) AS at FROM deliveries INDEXED BY deliveries_due
    WHERE subscription_id = @subscriptionId AND status IN ('pending', 'retrying')`,

  // `ordering: fifo`: the oldest unfinished delivery (ids sort in ingest order), whatever its
  // status. One MIN per status: each is a single seek in deliveries_subscription, where one
  // `status IN (...) ORDER BY id` would sort the whole backlog.
  fifoHead: `SELECT d.id, d.subscription_id, d.attempts, d.status, d.next_attempt_at,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test
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
 * Leases due deliveries, per subscription, oldest due first; runs inside one IMMEDIATE transaction.
 * `rateLimit` is not spent here: one process owns the file, and the dispatcher's own limiter holds it.
 */
export function claimDue(s: ClaimStatements, requests: ClaimRequest[], owner: string, now: number): ClaimBatch {
  const deliveries: ClaimedDelivery[] = [];
  const nextDueAt = new Map<string, number | null>();
  for (const request of requests) {
    const { subscriptionId } = request;
    const limit = Math.floor(request.limit);
    if (limit <= 0) continue;
    const leaseExpiresAt = Math.round(request.leaseExpiresAt);
    if (request.fifo) {
      const head = s.fifoHead.get({ subscriptionId });
      const { due, next } = headStanding(head, now);
      if (due) {
        s.lease.run({ id: head!.id, owner, leaseExpiresAt, now });
        deliveries.push(toClaimed(head!));
      }
      nextDueAt.set(subscriptionId, next);
      continue;
    }
    let next: number | null = null;
    let leased = 0;
    for (const row of s.selectWindow.all({ subscriptionId, limit: limit + 1 })) {
      if (leased === limit || row.next_attempt_at > now) {
        next = row.next_attempt_at;
        break;
      }
      s.lease.run({ id: row.id, owner, leaseExpiresAt, now });
      deliveries.push(toClaimed(row));
      leased++;
    }
    nextDueAt.set(subscriptionId, next);
  }
  return { deliveries, nextDueAt };
}

/** Every subscription with waiting deliveries and its earliest due time. */
export function waitingSubscriptions(s: ClaimStatements): WaitingSubscription[] {
  return s.waiting.all().map((r) => ({ subscriptionId: r.subscription_id, nextDueAt: r.at }));
}

/** Gives back leases this owner still holds; returns how many. */
export function releaseDeliveries(s: ClaimStatements, ids: string[], owner: string, now: number): number {
  let released = 0;
  for (const id of ids) released += s.release.run({ id, owner, now }).changes;
  return released;
}

/**
 * Earliest due time among waiting deliveries of these subscriptions (one index probe each); for
 * fifo ones, the due time of the head alone (none while it is delivering).
 */
export function nextDueAt(s: ClaimStatements, subscriptionIds: string[], fifo: ReadonlySet<string> = new Set()): number | null {
  let earliest: number | null = null;
  for (const subscriptionId of new Set(subscriptionIds)) {
    const at = fifo.has(subscriptionId) ? headDueAt(s, subscriptionId) : (s.nextDue.get({ subscriptionId })?.at ?? null);
    if (at !== null && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest;
}

function headDueAt(s: ClaimStatements, subscriptionId: string): number | null {
  const head = s.fifoHead.get({ subscriptionId });
  return head === undefined || head.status === 'delivering' ? null : head.next_attempt_at;
}
