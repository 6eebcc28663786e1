import type { DueRow, HeadRow } from '../sql/rows';
import type { ClaimedDelivery, ClaimRequest } from '../types';
import { ms } from './database-clock';
import type { Runner } from './run';
import { toClaimed } from '../sql/from-rows';

/*
 * SQL of claims, leases and due times in Postgres. Claims take due rows FOR UPDATE SKIP LOCKED, so
 * instances claiming at once never lease the same delivery; waiting-delivery queries repeat
 * `status IN ('pending', 'retrying')`, the predicate of the partial index `deliveries_due`.
 */
export const CLAIM_SQL = {
  selectDue: `SELECT d.id, d.subscription_id, d.attempts,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.subscription_id = @subscriptionId AND d.status IN ('pending', 'retrying')
      AND d.next_attempt_at <= @now
    ORDER BY d.next_attempt_at, d.id
    LIMIT @limit
    FOR UPDATE OF d SKIP LOCKED`,
  // The rows are locked by this transaction already; one statement for the batch, since round
  // trips are what cost on a network database.
  leaseMany: `UPDATE deliveries
    SET status = 'delivering', lease_owner = @owner, lease_expires_at = @leaseExpiresAt, updated_at = @now
    WHERE id = ANY(@ids) AND status IN ('pending', 'retrying')`,

  // `ordering: fifo`: the oldest unfinished delivery (ids sort in ingest order), whatever its
  // status; one MIN per status, each a single probe of deliveries_subscription.
  fifoHead: `SELECT d.id, d.subscription_id, d.attempts, d.status, d.next_attempt_at,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.id = (SELECT MIN(id) FROM (
      SELECT MIN(id) AS id FROM deliveries WHERE subscription_id = @subscriptionId AND status = 'pending'
      UNION ALL SELECT MIN(id) FROM deliveries WHERE subscription_id = @subscriptionId AND status = 'retrying'
      UNION ALL SELECT MIN(id) FROM deliveries WHERE subscription_id = @subscriptionId AND status = 'delivering') AS heads)`,
  // A head another instance is claiming right now is locked: not ours to take.
  lockHead: `SELECT id FROM deliveries WHERE id = @id AND status IN ('pending', 'retrying') FOR UPDATE SKIP LOCKED`,

  // Both give a lease back "as before": never tried -> pending, else retrying; due at once.
  release: `UPDATE deliveries
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = @now,
      lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
    WHERE id = ANY(@ids) AND status = 'delivering' AND lease_owner = @owner`,
  rescueExpired: `UPDATE deliveries
    SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = @now,
      lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
    WHERE status = 'delivering' AND lease_expires_at <= @expiredBy`,

  // The earliest due time of each subscription is one probe of deliveries_due; all in one round trip.
  nextDue: `SELECT MIN(due.at) AS at FROM unnest(@subscriptionIds::text[]) AS s(id)
    CROSS JOIN LATERAL (SELECT d.next_attempt_at AS at FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status IN ('pending', 'retrying')
      ORDER BY d.next_attempt_at LIMIT 1) AS due`,
} as const;

/**
 * The shared token buckets of `rate_limit` (migrations/postgres/0002-rate-buckets.ts): a full
 * bucket (`burst`) at first sight, then refilled by the time passed, never above `burst`.
 */
export const RATE_SQL = {
  refill: `INSERT INTO rate_buckets (subscription_id, tokens, updated_at) VALUES (@subscriptionId, @burst, @now)
    ON CONFLICT (subscription_id) DO UPDATE SET
      tokens = LEAST(@burst::double precision, rate_buckets.tokens + GREATEST(0, @now - rate_buckets.updated_at) * @limit::double precision / @perMs),
      updated_at = GREATEST(rate_buckets.updated_at, @now)
    RETURNING tokens`,
  giveBack: `UPDATE rate_buckets SET tokens = tokens + @n WHERE subscription_id = @subscriptionId`,
} as const;

/**
 * Leases due deliveries per subscription, oldest due first, in the caller's transaction; `at` is
 * now on the database clock, `shift` moves the requests' lease expiries onto it. A rate-limited
 * subscription first takes tokens from its shared bucket and gives back those it did not use.
 */
export async function claimDeliveries(
  tx: Runner,
  requests: ClaimRequest[],
  owner: string,
  at: number,
  shift: number,
): Promise<ClaimedDelivery[]> {
  const claimed: ClaimedDelivery[] = [];
  for (const request of requests) {
    const { subscriptionId, rateLimit } = request;
    let limit = Math.floor(request.limit);
    if (limit <= 0) continue;
    if (rateLimit) limit = await takeTokens(tx, subscriptionId, rateLimit, at, limit);
    if (limit <= 0) continue;
    const rows = request.fifo
      ? await dueHead(tx, subscriptionId, at)
      : await tx.rows<DueRow>(CLAIM_SQL.selectDue, { subscriptionId, now: at, limit });
    if (rateLimit && rows.length < limit) await tx.count(RATE_SQL.giveBack, { subscriptionId, n: limit - rows.length });
    if (rows.length > 0) {
      const leaseExpiresAt = ms(request.leaseExpiresAt + shift);
      await tx.count(CLAIM_SQL.leaseMany, { ids: rows.map((r) => r.id), owner, leaseExpiresAt, now: at });
    }
    for (const row of rows) {
      claimed.push(toClaimed(row));
    }
  }
  return claimed;
}

/** Refills the subscription's bucket to `at` and takes up to `want` whole tokens. */
async function takeTokens(
  tx: Runner,
  subscriptionId: string,
  rate: NonNullable<ClaimRequest['rateLimit']>,
  at: number,
  want: number,
): Promise<number> {
  const [bucket] = await tx.rows<{ tokens: number }>(RATE_SQL.refill, {
    subscriptionId,
    burst: rate.burst,
    limit: rate.limit,
    perMs: rate.perMs,
    now: at,
  });
  const n = Math.min(want, Math.floor(bucket!.tokens));
  if (n > 0) await tx.count(RATE_SQL.giveBack, { subscriptionId, n: -n });
  return n;
}

/** A fifo subscription's head if it is waiting, due and not being claimed by another instance. */
async function dueHead(tx: Runner, subscriptionId: string, now: number): Promise<DueRow[]> {
  const [head] = await tx.rows<HeadRow>(CLAIM_SQL.fifoHead, { subscriptionId });
  if (head === undefined || head.status === 'delivering' || head.next_attempt_at === null || head.next_attempt_at > now) return [];
  const locked = await tx.rows<{ id: string }>(CLAIM_SQL.lockHead, { id: head.id });
  return locked.length === 1 ? [head] : [];
}

/**
 * Earliest `next_attempt_at` (database clock) among waiting deliveries of these subscriptions; for
 * fifo ones, the due time of the head alone (none while it is delivering).
 */
export async function earliestDue(run: Runner, subscriptionIds: string[], fifoSubscriptionIds: string[]): Promise<number | null> {
  const fifo = new Set(fifoSubscriptionIds);
  const plain = [...new Set(subscriptionIds)].filter((id) => !fifo.has(id));
  let earliest: number | null = null;
  if (plain.length > 0) earliest = (await run.rows<{ at: number | null }>(CLAIM_SQL.nextDue, { subscriptionIds: plain }))[0]?.at ?? null;
  for (const subscriptionId of new Set(subscriptionIds)) {
    if (!fifo.has(subscriptionId)) continue;
    const [head] = await run.rows<HeadRow>(CLAIM_SQL.fifoHead, { subscriptionId });
    const at = head === undefined || head.status === 'delivering' ? null : head.next_attempt_at;
    if (at !== null && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest;
}
