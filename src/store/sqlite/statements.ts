import type Database from 'better-sqlite3';
import { CHANGES_SQL } from '../sql/subscription-changes';
import type { DeliveryStatus } from '../types';

/*
 * SQL of the hot paths, prepared once per store. Exported so tests can EXPLAIN them.
 * Every waiting-delivery query repeats `status IN ('pending', 'retrying')` word for word:
 * that is what lets SQLite use the partial index `deliveries_due`. INDEXED BY pins the
 * partial indexes: without statistics the planner prefers `deliveries_status (status=?)`, and
 * if an index ever goes missing or stops matching, preparing fails loudly instead of scanning.
 */

export const SQL = {
  findEvent: `SELECT content_hash, delivery_count FROM events WHERE id = @id`,
  insertEvent: `INSERT INTO events (id, type, data, content_hash, created_at, delivery_count)
    VALUES (@id, @type, @data, @contentHash, @createdAt, @deliveryCount)`,
  // A new delivery is due at its creation.
  insertDelivery: `INSERT INTO deliveries (id, event_id, subscription_id, event_type, status, attempts,
      next_attempt_at, created_at, updated_at)
    VALUES (@id, @eventId, @subscriptionId, @eventType, 'pending', 0, @createdAt, @createdAt, @createdAt)`,

  selectDue: `SELECT d.id, d.subscription_id, d.attempts,
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at
    FROM deliveries d INDEXED BY deliveries_due JOIN events e ON e.id = d.event_id
    WHERE d.subscription_id = @subscriptionId AND d.status IN ('pending', 'retrying')
      AND d.next_attempt_at <= @now
    ORDER BY d.next_attempt_at, d.id
    LIMIT @limit`,
  lease: `UPDATE deliveries
    SET status = 'delivering', lease_owner = @owner, lease_expires_at = @leaseExpiresAt, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'retrying')`,

  finish: `UPDATE deliveries
    SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt,
      lease_owner = NULL, lease_expires_at = NULL,
      last_status_code = @lastStatusCode, last_error = @lastError, updated_at = @now
    WHERE id = @id AND status = 'delivering' AND lease_owner = @owner
    RETURNING subscription_id`,
  insertAttempt: `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
      request_headers, response_status, response_headers, response_body, error)
    VALUES (@id, @deliveryId, @attempt, @startedAt, @durationMs, @requestUrl,
      @requestHeaders, @responseStatus, @responseHeaders, @responseBody, @error)`,
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
  // Enabling again (1 or NULL) restarts the disable_after clock; disabling keeps it.
  setEnabled: `INSERT INTO subscription_state (id, enabled, disabled_reason, failure_streak, updated_at)
    VALUES (@id, @enabled, @reason, 0, @now)
    ON CONFLICT (id) DO UPDATE SET enabled = @enabled, disabled_reason = @reason,
      failing_since = CASE WHEN @enabled = 0 THEN subscription_state.failing_since END, updated_at = @now`,
  // In the transaction of every write that changes a subscription (see Store.subscriptionChangesSince).
  recordChange: CHANGES_SQL.append,

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
      e.id AS event_id, e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.id = (SELECT MIN(id) FROM (
      SELECT MIN(id) AS id FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'pending'
      UNION ALL SELECT MIN(id) FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'retrying'
      UNION ALL SELECT MIN(id) FROM deliveries INDEXED BY deliveries_subscription
        WHERE subscription_id = @subscriptionId AND status = 'delivering') AS heads)`,
} as const;

export interface DueRow {
  id: string;
  subscription_id: string;
  attempts: number;
  event_id: string;
  event_type: string;
  event_data: string;
  event_created_at: number;
}

/** The head of a fifo subscription, with its event. */
export interface HeadRow extends DueRow {
  status: DeliveryStatus;
  next_attempt_at: number | null;
}

type Params = Record<string, string | number | null>;

/** The prepared statements of one store. */
export function prepareStatements(db: Database.Database) {
  return {
    findEvent: db.prepare<{ id: string }, { content_hash: string; delivery_count: number }>(SQL.findEvent),
    insertEvent: db.prepare<Params>(SQL.insertEvent),
    insertDelivery: db.prepare<Params>(SQL.insertDelivery),
    selectDue: db.prepare<{ subscriptionId: string; now: number; limit: number }, DueRow>(SQL.selectDue),
    lease: db.prepare<Params>(SQL.lease),
    finish: db.prepare<Params & { status: DeliveryStatus }, { subscription_id: string }>(SQL.finish),
    insertAttempt: db.prepare<Params>(SQL.insertAttempt),
    recordSuccess: db.prepare<{ id: string; now: number }>(SQL.recordSuccess),
    recordFailure: db.prepare<{ id: string; now: number; count: number }>(SQL.recordFailure),
    setEnabled: db.prepare<{ id: string; enabled: 0 | 1 | null; reason: string | null; now: number }>(SQL.setEnabled),
    recordChange: db.prepare<{ id: string; now: number }>(SQL.recordChange),
    release: db.prepare<{ id: string; owner: string; now: number }>(SQL.release),
    rescueExpired: db.prepare<{ now: number; expiredBy: number }>(SQL.rescueExpired),
    nextDue: db.prepare<{ subscriptionId: string }, { at: number | null }>(SQL.nextDue),
    fifoHead: db.prepare<{ subscriptionId: string }, HeadRow>(SQL.fifoHead),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
