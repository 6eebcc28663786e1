import type { HeadRow, WindowRow } from '../sql/rows';
import type { ClaimBatch, ClaimedDelivery, ClaimRequest, WaitingSubscription } from '../types';
import { headStanding } from '../sql/fifo-head';
import { ms } from './database-clock';
import type { Runner } from './run';
import { toClaimed } from '../sql/from-rows';

/*
 * SQL of claims, leases and due times in Postgres. Claims take due rows FOR UPDATE SKIP LOCKED, so
 * instances claiming at once never lease the same delivery; waiting-delivery queries repeat
 * `status IN ('pending', 'retrying')`, the predicate of the partial index `deliveries_due`.
 */
export const CLAIM_SQL = {
  // The subscription's waiting deliveries in due order, due or not (the first one not leased says
  // when more is due); rows another instance is claiming are skipped, a tenant's being erased left alone.
  selectWindow: `SELECT d.id, d.subscription_id, d.attempts, d.next_attempt_at,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.subscription_id = @subscriptionId AND d.status IN ('pending', 'retrying')
      AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenant_erasures te WHERE te.tenant = d.tenant AND te.state = 'erasing'))
    ORDER BY d.next_attempt_at, d.id
    LIMIT @limit
    FOR UPDATE OF d SKIP LOCKED`,
  // Every subscription with waiting deliveries and its earliest due time: a skip scan of
  // deliveries_due, one probe per such subscription.
  waiting: `WITH RECURSIVE subs(id) AS (
      SELECT (SELECT subscription_id FROM deliveries WHERE status IN ('pending', 'retrying') ORDER BY subscription_id LIMIT 1)
      UNION ALL
      SELECT (SELECT subscription_id FROM deliveries WHERE status IN ('pending', 'retrying') AND subscription_id > subs.id
        ORDER BY subscription_id LIMIT 1)
      FROM subs WHERE subs.id IS NOT NULL)
    SELECT subs.id AS subscription_id, due.at FROM subs
    CROSS JOIN LATERAL (SELECT d.next_attempt_at AS at FROM deliveries d
      WHERE d.subscription_id = subs.id AND d.status IN ('pending', 'retrying') ORDER BY d.next_attempt_at LIMIT 1) AS due
    WHERE subs.id IS NOT NULL`,
  // selectWindow for many subscriptions and the leases of their due rows in one statement, which needs no transaction
  // around it: each window is locked (SKIP LOCKED) and its due rows among the first `lim` leased
  // before the statement ends. Every window row comes back, `leased` or not: the first one not
  // leased says when the subscription has more due.
  claimWindows: `WITH w AS (
      SELECT x.*, r.lim, r.lease_expires_at
      FROM unnest(@subscriptionIds::text[], @limits::int[], @leaseExpiries::bigint[]) AS r(subscription_id, lim, lease_expires_at)
      CROSS JOIN LATERAL (SELECT d.id, d.subscription_id, d.attempts, d.next_attempt_at,
          e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test
        FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.subscription_id = r.subscription_id AND d.status IN ('pending', 'retrying')
          AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenant_erasures te WHERE te.tenant = d.tenant AND te.state = 'erasing'))
        ORDER BY d.next_attempt_at, d.id
        LIMIT r.lim + 1
        FOR UPDATE OF d SKIP LOCKED) AS x),
    ranked AS (SELECT w.*, row_number() OVER (PARTITION BY w.subscription_id ORDER BY w.next_attempt_at, w.id) AS rn FROM w),
    cut AS (SELECT subscription_id, MIN(rn) FILTER (WHERE rn > lim OR next_attempt_at > @now) AS stop FROM ranked GROUP BY subscription_id),
    taken AS (SELECT ranked.id, ranked.lease_expires_at FROM ranked JOIN cut USING (subscription_id) WHERE cut.stop IS NULL OR ranked.rn < cut.stop),
    leased AS (UPDATE deliveries AS d
      SET status = 'delivering', lease_owner = @owner, lease_expires_at = taken.lease_expires_at, updated_at = @now
      FROM taken WHERE d.id = taken.id
      RETURNING d.id)
    SELECT ranked.id, ranked.subscription_id, ranked.attempts, ranked.next_attempt_at, ranked.event_id, ranked.event_type,
      ranked.event_data, ranked.event_created_at, ranked.event_tenant, ranked.event_test, ranked.rn,
      EXISTS (SELECT 1 FROM leased WHERE leased.id = ranked.id) AS leased
    FROM ranked`,
  // The rows are locked by this transaction already; one statement for the batch, since round
  // trips are what cost on a network database.
  leaseMany: `UPDATE deliveries
    SET status = 'delivering', lease_owner = @owner, lease_expires_at = @leaseExpiresAt, updated_at = @now
    WHERE id = ANY(@ids) AND status IN ('pending', 'retrying')`,

  // `ordering: fifo`: the oldest unfinished delivery (ids sort in ingest order), whatever its
  // status; one MIN per status, each a single probe of deliveries_subscription.
  fifoHead: `SELECT d.id, d.subscription_id, d.attempts, d.status, d.next_attempt_at,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at, d.tenant AS event_tenant, e.test AS event_test
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
 * now on the database clock, `shift` moves the requests' lease expiries onto it (and the due times
 * it reports back off it). A rate-limited subscription first takes tokens from its shared bucket
 * and gives back those it did not use.
 */
export async function claimDue(tx: Runner, requests: ClaimRequest[], owner: string, at: number, shift: number): Promise<ClaimBatch> {
  const local = (t: number | null) => (t === null ? null : t - shift);
  // The plain requests (neither fifo nor rate-limited) all in one statement; the others one by one.
  const { deliveries, nextDueAt } = await claimPlainAtOnce(tx, requests.filter(isPlain), owner, at, shift);
  for (const request of requests) {
    if (isPlain(request)) continue;
    const { subscriptionId, rateLimit } = request;
    const wanted = Math.floor(request.limit);
    if (wanted <= 0) continue;
    const limit = rateLimit ? await takeTokens(tx, subscriptionId, rateLimit, at, wanted) : wanted;
    // The shared bucket ran dry (other instances spent it): nothing known of the backlog.
    if (limit <= 0) continue;
    let rows: WindowRow[] = [];
    if (request.fifo) {
      const head = await lockedHead(tx, subscriptionId);
      const standing = headStanding(head, at);
      if (standing.due) rows = [head as WindowRow];
      nextDueAt.set(subscriptionId, local(standing.next));
    } else {
      const window = await tx.rows<WindowRow>(CLAIM_SQL.selectWindow, { subscriptionId, limit: limit + 1 });
      const due = window.findIndex((r, i) => i === limit || r.next_attempt_at > at);
      rows = due < 0 ? window : window.slice(0, due);
      nextDueAt.set(subscriptionId, due < 0 ? null : local(window[due]!.next_attempt_at));
    }
    if (rateLimit && rows.length < limit) await tx.count(RATE_SQL.giveBack, { subscriptionId, n: limit - rows.length });
    if (rows.length > 0) {
      const leaseExpiresAt = ms(request.leaseExpiresAt + shift);
      await tx.count(CLAIM_SQL.leaseMany, { ids: rows.map((r) => r.id), owner, leaseExpiresAt, now: at });
    }
    for (const row of rows) deliveries.push(toClaimed(row));
  }
  return { deliveries, nextDueAt };
}

/** Neither fifo (its head) nor rate-limited (its shared bucket): claimed by claimWindows with the others. */
const isPlain = (r: ClaimRequest): boolean => !r.fifo && !r.rateLimit;

/** Whether claimDue can run as one statement without a transaction (claimWindows): no fifo head, no shared bucket. */
export const allPlain = (requests: readonly ClaimRequest[]): boolean => requests.every(isPlain);

/**
 * claimDue for plain requests in one statement (claimWindows), autocommitted or in the caller's
 * transaction: one round trip for a claim round, whatever the number of subscriptions (the first
 * request of a subscription counts). Reports as claimDue does.
 */
export async function claimPlainAtOnce(
  run: Runner,
  requests: ClaimRequest[],
  owner: string,
  at: number,
  shift: number,
): Promise<ClaimBatch> {
  const wanted = new Map<string, ClaimRequest>();
  for (const r of requests) if (Math.floor(r.limit) > 0 && !wanted.has(r.subscriptionId)) wanted.set(r.subscriptionId, r);
  const deliveries: ClaimedDelivery[] = [];
  const nextDueAt = new Map<string, number | null>();
  if (wanted.size === 0) return { deliveries, nextDueAt };
  const list = [...wanted.values()];
  const rows = await run.rows<WindowRow & { rn: number; leased: boolean }>(CLAIM_SQL.claimWindows, {
    subscriptionIds: list.map((r) => r.subscriptionId),
    limits: list.map((r) => Math.floor(r.limit)),
    leaseExpiries: list.map((r) => ms(r.leaseExpiresAt + shift)),
    owner,
    now: at,
  });
  rows.sort((a, b) =>
    a.subscription_id < b.subscription_id ? -1 : a.subscription_id > b.subscription_id ? 1 : Number(a.rn) - Number(b.rn),
  );
  for (const r of list) nextDueAt.set(r.subscriptionId, null);
  const told = new Set<string>();
  for (const row of rows) {
    if (row.leased) deliveries.push(toClaimed(row));
    else if (!told.has(row.subscription_id)) {
      // The first row of the window not leased: due later, or beyond this round's limit.
      told.add(row.subscription_id);
      nextDueAt.set(row.subscription_id, row.next_attempt_at - shift);
    }
  }
  return { deliveries, nextDueAt };
}

/** Every subscription with waiting deliveries and its earliest due time (database clock). */
export async function waitingSubscriptions(run: Runner): Promise<WaitingSubscription[]> {
  const rows = await run.rows<{ subscription_id: string; at: number }>(CLAIM_SQL.waiting, {});
  return rows.map((r) => ({ subscriptionId: r.subscription_id, nextDueAt: r.at }));
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

/** A fifo subscription's head; one another instance is claiming right now (locked) counts as delivering. */
async function lockedHead(tx: Runner, subscriptionId: string): Promise<HeadRow | undefined> {
  const [head] = await tx.rows<HeadRow>(CLAIM_SQL.fifoHead, { subscriptionId });
  if (head === undefined || head.status === 'delivering') return head;
  const locked = await tx.rows<{ id: string }>(CLAIM_SQL.lockHead, { id: head.id });
  return locked.length === 1 ? head : { ...head, status: 'delivering' };
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
