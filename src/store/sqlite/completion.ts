import type { HealthTally } from '../sql/health-tally';
import { isOperationalType } from '../sql/operational';
import type { AttemptResult, DeliveryStatus, OperationalHooks } from '../types';
import type Database from 'better-sqlite3';
import type { ErasingTenants } from './erasure';
import type { Leases } from './leases';
import { announceDisabled, type EmitStatements, emit } from './operational';

type CompletionParams = Record<string, string | number | null>;
/** The prepared statements completions run (statements.ts prepares them from COMPLETION_SQL). */
export interface CompletionStatements {
  finish: Database.Statement<CompletionParams & { status: DeliveryStatus }>;
  finishGuarded: Database.Statement<CompletionParams & { status: DeliveryStatus }>;
  insertAttempt: Database.Statement<CompletionParams>;
  recordSuccesses: Database.Statement<{ ids: string; now: number }>;
  recordFailure: Database.Statement<{ id: string; now: number; count: number }>;
  setEnabled: Database.Statement<{ id: string; enabled: 0 | 1 | null; reason: string | null; now: number }>;
  recordChange: Database.Statement<{ id: string; now: number }>;
}

/** `finish` with a guard (or none) added to its WHERE. */
function finishSql(guard: string): string {
  return `UPDATE deliveries
    SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt,
      lease_owner = NULL, lease_expires_at = NULL,
      last_status_code = @lastStatusCode, last_error = @lastError, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying') ${guard}`;
}

/**
 * SQL of attempt results and subscription health (prepared in statements.ts). The lease is in
 * memory (leases.ts): completeAttempt checks it first, and `finish` takes the row from waiting to
 * its next status in one change. While a tenant is being erased, `finishGuarded` is used instead:
 * it refuses a delivery of that tenant (SPEC 9), so an attempt that ran while the erasure started
 * writes nothing back, not its attempt record nor the subscription's health, as if its lease were
 * lost; the erasure deletes the row.
 */
export const COMPLETION_SQL = {
  finish: finishSql(''),
  // The same while some tenant is being erased (ErasingTenants knows when).
  finishGuarded: finishSql(
    `AND (tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = deliveries.tenant AND t.state = 'erasing'))`,
  ),
  insertAttempt: `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
      request_headers, response_status, response_headers, response_body, error)
    VALUES (@id, @deliveryId, @attempt, @startedAt, @durationMs, @requestUrl,
      @requestHeaders, @responseStatus, @responseHeaders, @responseBody, @error)`,
  // The successes of a batch (@ids, a JSON array) in one statement. failing_since: when the current
  // run of failures began (delivery.disable_after counts from it). `WHERE true` tells SQLite's
  // parser that ON CONFLICT belongs to the INSERT, not to a join of the SELECT.
  recordSuccesses: `INSERT INTO subscription_state (id, last_success_at, failure_streak, updated_at)
    SELECT value, @now, 0, @now FROM json_each(@ids) WHERE true
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

/** What completions run with operational events (SPEC 12): their statements too. */
export type CompletionWithEvents = CompletionStatements & EmitStatements;

/**
 * Records one finished attempt if the lease is still `owner`'s; runs inside the group's transaction.
 * The lease is checked first, then the guarded update, so a lost lease writes nothing at all (the
 * store ends the leases once the transaction has committed). With `ops`, a delivery of an
 * ordinary event that failed for good is queued for `delivery.failed` (its subscription added to
 * `reports`), and a 410 Gone on one emits `disabled`.
 */
export function completeAttempt(
  s: CompletionWithEvents,
  leases: Leases,
  result: AttemptResult,
  now: number,
  health: HealthTally,
  erasing: ErasingTenants,
  ops?: { hooks: OperationalHooks; reports: Set<string> },
): boolean {
  const { record, next } = result;
  const lease = leases.get(result.deliveryId);
  if (lease?.owner !== result.leaseOwner) return false;
  // Without RETURNING: the lease knows the row's subscription and event type, and reading them
  // back made the update a third slower (measured: 17 against 12.5 µs per row).
  const { changes } = (erasing.none() ? s.finish : s.finishGuarded).run({
    id: result.deliveryId,
    status: next.status,
    nextAttemptAt: next.status === 'retrying' ? Math.round(next.nextAttemptAt) : null,
    lastStatusCode: record.responseStatus,
    lastError: record.error,
    now,
  });
  if (changes === 0) return false;

  s.insertAttempt.run({
    id: record.id,
    deliveryId: result.deliveryId,
    attempt: record.attempt,
    startedAt: Math.round(record.startedAt),
    durationMs: Math.round(record.durationMs),
    requestUrl: record.requestUrl,
    requestHeaders: JSON.stringify(record.requestHeaders),
    responseStatus: record.responseStatus,
    responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
    responseBody: record.responseBody,
    error: record.error,
  });
  // Health follows the stored subscription of the delivery, the row we just guarded.
  const { subscriptionId } = lease;
  const alerting = !isOperationalType(lease.eventType);
  // A cancelled result means the subscription is gone: no health row to bring back to life.
  if (next.status !== 'cancelled') {
    health.count(subscriptionId, next.status === 'succeeded', { status: record.responseStatus, error: record.error, alerting });
  }
  if (ops && alerting && next.status === 'failed') {
    s.queueFailureReport.run({ deliveryId: result.deliveryId, subscriptionId, now });
    ops.reports.add(subscriptionId);
  }
  if (result.disableSubscription !== undefined) {
    flushHealth(s, health, now, ops?.hooks); // the disable must land after this subscription's health, as it did in order
    if (ops && alerting) announceDisabled(s, ops.hooks, subscriptionId, result.disableSubscription, now);
    s.setEnabled.run({ id: subscriptionId, enabled: 0, reason: result.disableSubscription, now });
    s.recordChange.run({ id: subscriptionId, now });
  }
  return true;
}

/**
 * Writes the health updates tallied so far: the successes first, in one statement (with `ops`, after
 * clearing the announced `failing` of those that had one, emitting `recovered`), then the failures
 * after them, per subscription (with `ops`, those that bring the streak to `failingAfter` emit `failing`).
 */
export function flushHealth(s: CompletionWithEvents, health: HealthTally, now: number, ops?: OperationalHooks): void {
  const tallied = health.drain();
  const succeeded = tallied.filter((t) => t.success).map((t) => t.id);
  if (succeeded.length > 0) {
    const ids = JSON.stringify(succeeded);
    if (ops) {
      // Before the successes reset failing_since: it measures how long each failed.
      const recovered = new Map(s.announceRecoveredAmong.all({ ids }).map((r) => [r.id, r.failing_since]));
      for (const id of succeeded) {
        if (!recovered.has(id)) continue;
        emit(s, ops, { type: 'hookrelay.subscription.recovered', subscriptionId: id, failedForMs: now - (recovered.get(id) ?? now) });
      }
    }
    s.recordSuccesses.run({ ids, now });
  }
  for (const { id, failures, last, alerting } of tallied) {
    if (failures > 0) {
      s.recordFailure.run({ id, now, count: failures });
      const failing = ops && alerting ? s.announceFailing.get({ id, threshold: ops.failingAfter }) : undefined;
      if (ops && failing) {
        emit(s, ops, {
          type: 'hookrelay.subscription.failing',
          subscriptionId: id,
          failureStreak: failing.failure_streak,
          lastStatus: last?.status ?? null,
          lastError: last?.error ?? null,
        });
      }
    }
  }
}
