import { HealthTally } from '../sql/health-tally';
import { isOperationalType, OPERATIONAL_SQL } from '../sql/operational';
import type { AttemptResult } from '../types';
import { ms } from './database-clock';
import { announceDisabled, emit, type PgEmitter, reportFailures } from './operational';
import type { Runner } from './run';

/**
 * SQL of attempt results and subscription health in Postgres. A delivery whose tenant is being
 * erased (SPEC 9) is never finished: nothing of an attempt that ran meanwhile is written back.
 */
export const COMPLETION_SQL = {
  finish: `UPDATE deliveries
    SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt,
      lease_owner = NULL, lease_expires_at = NULL,
      last_status_code = @lastStatusCode, last_error = @lastError, updated_at = @now
    WHERE id = @id AND status = 'delivering' AND lease_owner = @owner
      AND (tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = deliveries.tenant AND t.state = 'erasing'))
    RETURNING subscription_id, event_type`,
  // `finish` for a batch (one row per result, each guarded by its own lease owner) and the attempt
  // records of the results it finished (still ours), in one round trip.
  finishWithAttempts: `WITH f AS (
      UPDATE deliveries AS d
      SET status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_attempt_at,
        lease_owner = NULL, lease_expires_at = NULL, last_status_code = v.last_status_code,
        last_error = v.last_error, updated_at = @now
      FROM unnest(@ids::text[], @owners::text[], @statuses::text[], @nexts::bigint[], @codes::int[], @errors::text[])
        AS v(id, owner, status, next_attempt_at, last_status_code, last_error)
      WHERE d.id = v.id AND d.status = 'delivering' AND d.lease_owner = v.owner
        AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = d.tenant AND t.state = 'erasing'))
      RETURNING d.id, d.subscription_id, d.event_type),
    recorded AS (
      INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
        request_headers, response_status, response_headers, response_body, error)
      SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.request_url,
        a.request_headers, a.response_status, a.response_headers, a.response_body, a.error
      FROM unnest(@attemptIds::text[], @ids::text[], @attempts::int[], @startedAts::bigint[],
        @durations::int[], @urls::text[], @requestHeaders::text[], @codes::int[],
        @responseHeaders::text[], @bodies::text[], @errors::text[])
        AS a(id, delivery_id, attempt, started_at, duration_ms, request_url, request_headers, response_status,
          response_headers, response_body, error)
      JOIN f ON f.id = a.delivery_id
      RETURNING 1)
    SELECT f.id, f.subscription_id, f.event_type FROM f`,
  insertAttempt: `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
      request_headers, response_status, response_headers, response_body, error)
    VALUES (@id, @deliveryId, @attempt, @startedAt, @durationMs, @requestUrl,
      @requestHeaders, @responseStatus, @responseHeaders, @responseBody, @error)`,
  // Also setSubscriptionEnabled's. Enabling again (1 or NULL) restarts the disable_after clock; disabling keeps it.
  setEnabled: `INSERT INTO subscription_state (id, enabled, disabled_reason, failure_streak, updated_at)
    VALUES (@id, @enabled, @reason, 0, @now)
    ON CONFLICT (id) DO UPDATE SET enabled = @enabled, disabled_reason = @reason,
      failing_since = CASE WHEN @enabled = 0 THEN subscription_state.failing_since END, updated_at = @now`,
} as const;

/**
 * An attempt's duration as `attempts.duration_ms` (integer) holds it: at most 2^31 - 1 ms, about
 * 24.9 days, while a `timeout` may be up to 30 days. Past that the column would refuse the write,
 * and with it the result.
 */
const recordedDuration = (durationMs: number): number => Math.min(ms(durationMs), 2_147_483_647);

/** What a batch of results did: per result whether it was written, and the subscriptions a 410 Gone disabled. */
export interface Completed {
  written: boolean[];
  disabled: string[];
}

/**
 * Records finished attempts in the caller's transaction, each only while its lease is still ours;
 * `now` is on the database clock, `shift` moves the results' times onto it. With `ops`, operational
 * events are decided and stored in the same transaction (see Store.complete).
 */
export async function completeResults(
  tx: Runner,
  results: AttemptResult[],
  now: number,
  shift: number,
  ops?: PgEmitter,
): Promise<Completed> {
  const health = new HealthTally();
  const flush = () => flushHealth(tx, health, now, ops);
  const completed: Completed = { written: [], disabled: [] };
  const repeated = new Set(results.map((r) => r.deliveryId)).size !== results.length;
  let finished: Finished[];
  if (repeated || results.some((r) => r.disableSubscription !== undefined)) {
    // Rare (410 Gone, or one delivery twice in a batch): one by one, in order, so the disable
    // lands in order with the health updates and only the first of two results wins.
    finished = [];
    for (const result of results) {
      const one = await completeOne(tx, result, now, shift, health);
      completed.written.push(one !== undefined);
      if (one === undefined) continue;
      finished.push(one);
      if (result.disableSubscription !== undefined) {
        await flush();
        if (ops && !isOperationalType(one.eventType)) await announceDisabled(ops, one.subscriptionId, result.disableSubscription, now);
        await tx.count(COMPLETION_SQL.setEnabled, { id: one.subscriptionId, enabled: 0, reason: result.disableSubscription, now });
        completed.disabled.push(one.subscriptionId);
      }
    }
  } else {
    finished = await completeMany(tx, results, now, shift, health);
    const ours = new Set(finished.map((f) => f.deliveryId));
    completed.written = results.map((r) => ours.has(r.deliveryId));
  }
  await flush();
  if (ops) await reportFailedForGood(ops, finished, now);
  return completed;
}

/** A result that was still ours, with what its delivery row said. */
interface Finished {
  deliveryId: string;
  subscriptionId: string;
  eventType: string;
  status: AttemptResult['next']['status'];
}

/** Queues ordinary deliveries that failed for good, then reports each such subscription if its window allows. */
async function reportFailedForGood(ops: PgEmitter, finished: Finished[], now: number): Promise<void> {
  const reports = new Set<string>();
  for (const f of finished) {
    if (f.status !== 'failed' || isOperationalType(f.eventType)) continue;
    await ops.tx.count(OPERATIONAL_SQL.queueFailureReport, { deliveryId: f.deliveryId, subscriptionId: f.subscriptionId, now });
    reports.add(f.subscriptionId);
  }
  for (const id of reports) await reportFailures(ops, id, now);
}

/** Id order: the order every instance locks state rows in, and announces in. */
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Writes the tallied health, every subscription of the batch in one statement, in id order: two
 * instances completing attempts of the same subscriptions lock their state rows in the same order,
 * so they wait for each other briefly instead of deadlocking (which Postgres breaks only after
 * deadlock_timeout). With `ops`, emits `recovered` (read before the successes reset the streak) and
 * `failing` (after the failures are counted), each one statement for the batch.
 */
async function flushHealth(tx: Runner, health: HealthTally, now: number, ops: PgEmitter | undefined): Promise<void> {
  const entries = health.drain().sort(byId);
  if (entries.length === 0) return;
  const succeeded = entries.filter((e) => e.success).map((e) => e.id);
  if (ops && succeeded.length > 0) {
    const recovered = await tx.rows<{ id: string; failing_since: string | null }>(HEALTH_SQL.announceRecovered, { ids: succeeded });
    for (const { id, failing_since } of recovered.sort(byId)) {
      const since = failing_since === null ? now : Number(failing_since);
      await emit(ops, { type: 'hookrelay.subscription.recovered', subscriptionId: id, failedForMs: now - since });
    }
  }
  await tx.count(HEALTH_SQL.record, {
    ids: entries.map((e) => e.id),
    successes: entries.map((e) => e.success),
    failures: entries.map((e) => e.failures),
    now,
  });
  const alerting = entries.filter((e) => e.failures > 0 && e.alerting);
  if (!ops || alerting.length === 0) return;
  const failing = await tx.rows<{ id: string; failure_streak: number }>(HEALTH_SQL.announceFailing, {
    ids: alerting.map((e) => e.id),
    threshold: ops.hooks.failingAfter,
  });
  const lastOf = new Map(alerting.map((e) => [e.id, e.last]));
  for (const { id, failure_streak } of failing.sort(byId)) {
    const last = lastOf.get(id) ?? null;
    await emit(ops, {
      type: 'hookrelay.subscription.failing',
      subscriptionId: id,
      failureStreak: Number(failure_streak),
      lastStatus: last?.status ?? null,
      lastError: last?.error ?? null,
    });
  }
}

/**
 * Subscription health for a batch of results (flushHealth): `record` folds each subscription's
 * success (resets the streak) and the failures after it into its row; the others are
 * OPERATIONAL_SQL's announcements, for many ids at once.
 */
export const HEALTH_SQL = {
  // failing_since: when the current run of failures began (delivery.disable_after counts from it).
  record: `INSERT INTO subscription_state (id, last_success_at, last_failure_at, failure_streak, failing_since, updated_at)
    SELECT v.id, CASE WHEN v.success THEN @now::bigint END, CASE WHEN v.failures > 0 THEN @now::bigint END,
      v.failures, CASE WHEN v.failures > 0 THEN @now::bigint END, @now::bigint
    FROM unnest(@ids::text[], @successes::boolean[], @failures::int[]) WITH ORDINALITY AS v(id, success, failures, n)
    ORDER BY v.n
    ON CONFLICT (id) DO UPDATE SET
      last_success_at = COALESCE(EXCLUDED.last_success_at, subscription_state.last_success_at),
      last_failure_at = COALESCE(EXCLUDED.last_failure_at, subscription_state.last_failure_at),
      failure_streak = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN EXCLUDED.failure_streak
        ELSE subscription_state.failure_streak + EXCLUDED.failure_streak END,
      failing_since = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN EXCLUDED.failing_since
        ELSE COALESCE(subscription_state.failing_since, EXCLUDED.failing_since) END,
      updated_at = EXCLUDED.updated_at`,
  announceRecovered: `UPDATE subscription_state SET failing_announced = 0
    WHERE id = ANY(@ids::text[]) AND failing_announced = 1
    RETURNING id, failing_since`,
  announceFailing: `UPDATE subscription_state SET failing_announced = 1
    WHERE id = ANY(@ids::text[]) AND failing_announced = 0 AND failure_streak >= @threshold
    RETURNING id, failure_streak`,
} as const;

/** One result; returns what its delivery row said when it was still ours (and so written). */
async function completeOne(
  tx: Runner,
  result: AttemptResult,
  now: number,
  shift: number,
  health: HealthTally,
): Promise<Finished | undefined> {
  const { record, next } = result;
  const [finished] = await tx.rows<{ subscription_id: string; event_type: string }>(COMPLETION_SQL.finish, {
    id: result.deliveryId,
    owner: result.leaseOwner,
    status: next.status,
    nextAttemptAt: next.status === 'retrying' ? ms(next.nextAttemptAt + shift) : null,
    lastStatusCode: record.responseStatus,
    lastError: record.error,
    now,
  });
  if (finished === undefined) return undefined;
  await tx.count(COMPLETION_SQL.insertAttempt, {
    id: record.id,
    deliveryId: result.deliveryId,
    attempt: record.attempt,
    startedAt: ms(record.startedAt + shift),
    durationMs: recordedDuration(record.durationMs),
    requestUrl: record.requestUrl,
    requestHeaders: JSON.stringify(record.requestHeaders),
    responseStatus: record.responseStatus,
    responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
    responseBody: record.responseBody,
    error: record.error,
  });
  // Health follows the stored subscription of the delivery; a cancelled result means it is gone.
  const alerting = !isOperationalType(finished.event_type);
  if (next.status !== 'cancelled') {
    health.count(finished.subscription_id, next.status === 'succeeded', { status: record.responseStatus, error: record.error, alerting });
  }
  return { deliveryId: result.deliveryId, subscriptionId: finished.subscription_id, eventType: finished.event_type, status: next.status };
}

/**
 * A whole batch in two statements (the guarded updates, then the attempt records of those that
 * were still ours): on a network database the round trips are what cost.
 */
async function completeMany(tx: Runner, results: AttemptResult[], now: number, shift: number, health: HealthTally): Promise<Finished[]> {
  const finished = await tx.rows<{ id: string; subscription_id: string; event_type: string }>(COMPLETION_SQL.finishWithAttempts, {
    now,
    ids: results.map((r) => r.deliveryId),
    owners: results.map((r) => r.leaseOwner),
    statuses: results.map((r) => r.next.status),
    nexts: results.map((r) => (r.next.status === 'retrying' ? ms(r.next.nextAttemptAt + shift) : null)),
    codes: results.map((r) => r.record.responseStatus),
    errors: results.map((r) => r.record.error),
    attemptIds: results.map((r) => r.record.id),
    attempts: results.map((r) => r.record.attempt),
    startedAts: results.map((r) => ms(r.record.startedAt + shift)),
    durations: results.map((r) => recordedDuration(r.record.durationMs)),
    urls: results.map((r) => r.record.requestUrl),
    requestHeaders: results.map((r) => JSON.stringify(r.record.requestHeaders)),
    responseHeaders: results.map((r) => (r.record.responseHeaders === null ? null : JSON.stringify(r.record.responseHeaders))),
    bodies: results.map((r) => r.record.responseBody),
  });
  const ours = new Map(finished.map((f) => [f.id, f]));
  const kept = results.filter((r) => ours.has(r.deliveryId));
  return kept.map((r) => {
    const row = ours.get(r.deliveryId)!;
    const alerting = !isOperationalType(row.event_type);
    if (r.next.status !== 'cancelled') {
      health.count(row.subscription_id, r.next.status === 'succeeded', {
        status: r.record.responseStatus,
        error: r.record.error,
        alerting,
      });
    }
    return { deliveryId: r.deliveryId, subscriptionId: row.subscription_id, eventType: row.event_type, status: r.next.status };
  });
}
