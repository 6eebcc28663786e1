import { HealthTally } from '../sql/health-tally';
import type { AttemptResult } from '../types';
import { ms } from './database-clock';
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
    RETURNING subscription_id`,
  // `finish` for a batch: one row per result, each guarded by its own lease owner.
  finishMany: `UPDATE deliveries AS d
    SET status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_attempt_at,
      lease_owner = NULL, lease_expires_at = NULL, last_status_code = v.last_status_code,
      last_error = v.last_error, updated_at = @now
    FROM unnest(@ids::text[], @owners::text[], @statuses::text[], @nexts::bigint[], @codes::int[], @errors::text[])
      AS v(id, owner, status, next_attempt_at, last_status_code, last_error)
    WHERE d.id = v.id AND d.status = 'delivering' AND d.lease_owner = v.owner
      AND (d.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = d.tenant AND t.state = 'erasing'))
    RETURNING d.id, d.subscription_id`,
  insertAttempt: `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
      request_headers, response_status, response_headers, response_body, error)
    VALUES (@id, @deliveryId, @attempt, @startedAt, @durationMs, @requestUrl,
      @requestHeaders, @responseStatus, @responseHeaders, @responseBody, @error)`,
  insertAttemptsMany: `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
      request_headers, response_status, response_headers, response_body, error)
    SELECT * FROM unnest(@ids::text[], @deliveryIds::text[], @attempts::int[], @startedAts::bigint[],
      @durations::int[], @urls::text[], @requestHeaders::text[], @responseStatuses::int[],
      @responseHeaders::text[], @bodies::text[], @errors::text[])`,
  // failing_since: when the current run of failures began (delivery.disable_after counts from it).
  recordSuccess: `INSERT INTO subscription_state (id, last_success_at, failure_streak, updated_at)
    VALUES (@id, @now, 0, @now)
    ON CONFLICT (id) DO UPDATE
    SET last_success_at = @now, failure_streak = 0, failing_since = NULL, updated_at = @now`,
  recordFailure: `INSERT INTO subscription_state (id, last_failure_at, failure_streak, failing_since, updated_at)
    VALUES (@id, @now, @count, @now, @now)
    ON CONFLICT (id) DO UPDATE
    SET last_failure_at = @now, failure_streak = subscription_state.failure_streak + @count,
      failing_since = COALESCE(subscription_state.failing_since, @now), updated_at = @now`,
  // Also setSubscriptionEnabled's. Enabling again (1 or NULL) restarts the disable_after clock; disabling keeps it.
  setEnabled: `INSERT INTO subscription_state (id, enabled, disabled_reason, failure_streak, updated_at)
    VALUES (@id, @enabled, @reason, 0, @now)
    ON CONFLICT (id) DO UPDATE SET enabled = @enabled, disabled_reason = @reason,
      failing_since = CASE WHEN @enabled = 0 THEN subscription_state.failing_since END, updated_at = @now`,
} as const;

/** What a batch of results did: per result whether it was written, and the subscriptions a 410 Gone disabled. */
export interface Completed {
  written: boolean[];
  disabled: string[];
}

/**
 * Records finished attempts in the caller's transaction, each only while its lease is still ours;
 * `now` is on the database clock, `shift` moves the results' times onto it.
 */
export async function completeResults(tx: Runner, results: AttemptResult[], now: number, shift: number): Promise<Completed> {
  const health = new HealthTally();
  const flush = async () => {
    for (const { id, success, failures } of health.drain()) {
      if (success) await tx.count(COMPLETION_SQL.recordSuccess, { id, now });
      if (failures > 0) await tx.count(COMPLETION_SQL.recordFailure, { id, now, count: failures });
    }
  };
  const completed: Completed = { written: [], disabled: [] };
  const repeated = new Set(results.map((r) => r.deliveryId)).size !== results.length;
  if (repeated || results.some((r) => r.disableSubscription !== undefined)) {
    // Rare (410 Gone, or one delivery twice in a batch): one by one, in order, so the disable
    // lands in order with the health updates and only the first of two results wins.
    for (const result of results) {
      const finished = await completeOne(tx, result, now, shift, health);
      completed.written.push(finished !== undefined);
      if (finished !== undefined && result.disableSubscription !== undefined) {
        await flush();
        await tx.count(COMPLETION_SQL.setEnabled, { id: finished, enabled: 0, reason: result.disableSubscription, now });
        completed.disabled.push(finished);
      }
    }
  } else {
    completed.written = await completeMany(tx, results, now, shift, health);
  }
  await flush();
  return completed;
}

/** One result; returns the delivery's subscription id when it was still ours (and so written). */
async function completeOne(
  tx: Runner,
  result: AttemptResult,
  now: number,
  shift: number,
  health: HealthTally,
): Promise<string | undefined> {
  const { record, next } = result;
  const [finished] = await tx.rows<{ subscription_id: string }>(COMPLETION_SQL.finish, {
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
    durationMs: ms(record.durationMs),
    requestUrl: record.requestUrl,
    requestHeaders: JSON.stringify(record.requestHeaders),
    responseStatus: record.responseStatus,
    responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
    responseBody: record.responseBody,
    error: record.error,
  });
  // Health follows the stored subscription of the delivery; a cancelled result means it is gone.
  if (next.status !== 'cancelled') health.count(finished.subscription_id, next.status === 'succeeded');
  return finished.subscription_id;
}

/**
 * A whole batch in two statements (the guarded updates, then the attempt records of those that
 * were still ours): on a network database the round trips are what cost.
 */
async function completeMany(tx: Runner, results: AttemptResult[], now: number, shift: number, health: HealthTally): Promise<boolean[]> {
  const finished = await tx.rows<{ id: string; subscription_id: string }>(COMPLETION_SQL.finishMany, {
    now,
    ids: results.map((r) => r.deliveryId),
    owners: results.map((r) => r.leaseOwner),
    statuses: results.map((r) => r.next.status),
    nexts: results.map((r) => (r.next.status === 'retrying' ? ms(r.next.nextAttemptAt + shift) : null)),
    codes: results.map((r) => r.record.responseStatus),
    errors: results.map((r) => r.record.error),
  });
  const ours = new Map(finished.map((f) => [f.id, f.subscription_id]));
  const kept = results.filter((r) => ours.has(r.deliveryId));
  if (kept.length > 0) {
    await tx.count(COMPLETION_SQL.insertAttemptsMany, {
      ids: kept.map((r) => r.record.id),
      deliveryIds: kept.map((r) => r.deliveryId),
      attempts: kept.map((r) => r.record.attempt),
      startedAts: kept.map((r) => ms(r.record.startedAt + shift)),
      durations: kept.map((r) => ms(r.record.durationMs)),
      urls: kept.map((r) => r.record.requestUrl),
      requestHeaders: kept.map((r) => JSON.stringify(r.record.requestHeaders)),
      responseStatuses: kept.map((r) => r.record.responseStatus),
      responseHeaders: kept.map((r) => (r.record.responseHeaders === null ? null : JSON.stringify(r.record.responseHeaders))),
      bodies: kept.map((r) => r.record.responseBody),
      errors: kept.map((r) => r.record.error),
    });
  }
  for (const r of kept) if (r.next.status !== 'cancelled') health.count(ours.get(r.deliveryId)!, r.next.status === 'succeeded');
  return results.map((r) => ours.has(r.deliveryId));
}
