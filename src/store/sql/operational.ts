import type { FailedDeliveryFacts, OperationalOccurrence } from '../types';

/** Event types whose deliveries never emit operational events (SPEC 12: no loops). */
export const isOperationalType = (type: string): boolean => type.startsWith('hookrelay.');

/** Most deliveries a `hookrelay.delivery.failed` event lists (it counts them all). */
export const FAILED_LISTED = 10;

/**
 * SQL of operational events (SPEC 12), the same text for SQLite and Postgres. Each `announce…`
 * statement is the guarded state change that decides one occurrence: it returns a row only for the
 * one writer that changed the flag (Postgres: the row lock makes a second instance wait and then
 * find the flag taken), and the event is stored in that writer's transaction only.
 */
export const OPERATIONAL_SQL = {
  // After the streak was written: the write that reached the threshold takes the flag.
  announceFailing: `UPDATE subscription_state SET failing_announced = 1
    WHERE id = @id AND failing_announced = 0 AND failure_streak >= @threshold
    RETURNING failure_streak`,
  // Disabling one that is not disabled (a row changed, or a first row made).
  announceDisabled: `INSERT INTO subscription_state (id, enabled, disabled_reason, failure_streak, updated_at)
    VALUES (@id, 0, @reason, 0, @now)
    ON CONFLICT (id) DO UPDATE SET enabled = 0, disabled_reason = @reason, updated_at = @now
    WHERE subscription_state.enabled IS NULL OR subscription_state.enabled <> 0
    RETURNING id`,
  queueFailureReport: `INSERT INTO failure_reports (delivery_id, subscription_id, failed_at)
    VALUES (@deliveryId, @subscriptionId, @now)
    ON CONFLICT (delivery_id) DO NOTHING`,
  // Subscriptions with queued reports whose last report is at least the window old (cutoff = now - window).
  dueFailureReports: `SELECT DISTINCT f.subscription_id AS id FROM failure_reports f
    LEFT JOIN subscription_state s ON s.id = f.subscription_id
    WHERE s.failures_reported_at IS NULL OR s.failures_reported_at <= @cutoff`,
  announceFailureReport: `INSERT INTO subscription_state (id, failures_reported_at, failure_streak, updated_at)
    VALUES (@id, @now, 0, @now)
    ON CONFLICT (id) DO UPDATE SET failures_reported_at = @now
    WHERE subscription_state.failures_reported_at IS NULL OR subscription_state.failures_reported_at <= @cutoff
    RETURNING id`,
  // Every queued report of the subscription, each taken by one transaction only.
  takeFailureReports: `DELETE FROM failure_reports WHERE subscription_id = @id RETURNING delivery_id, failed_at`,
  failedDelivery: `SELECT id, event_id, event_type, attempts, last_status_code, last_error FROM deliveries WHERE id = @id`,
  ...backlogChecks(),
  announceBacklog: `INSERT INTO subscription_state (id, backlog_announced, failure_streak, updated_at)
    VALUES (@id, 1, 0, @now)
    ON CONFLICT (id) DO UPDATE SET backlog_announced = 1
    WHERE subscription_state.backlog_announced = 0
    RETURNING id`,
} as const;

/**
 * The backlog checks. `notLeased(column)`: a condition leaving out deliveries a store leases in
 * memory (SQLite): their rows still say waiting, but they are delivering.
 */
export function backlogChecks(notLeased: (idColumn: string) => string = () => '') {
  return {
    // Waiting deliveries per subscription; only ordinary ones decide whether it is late.
    lateBacklogs: `SELECT subscription_id, count(*) AS backlog,
      min(CASE WHEN event_type NOT LIKE 'hookrelay.%' THEN created_at END) AS oldest
    FROM deliveries WHERE status IN ('pending', 'retrying') ${notLeased('id')}
    GROUP BY subscription_id
    HAVING min(CASE WHEN event_type NOT LIKE 'hookrelay.%' THEN created_at END) <= @cutoff`,
    // Once nothing ordinary older than the age waits, the next late backlog is a new occurrence.
    settleBacklogs: `UPDATE subscription_state SET backlog_announced = 0
    WHERE backlog_announced = 1 AND NOT EXISTS (SELECT 1 FROM deliveries d
      WHERE d.subscription_id = subscription_state.id AND d.status IN ('pending', 'retrying') ${notLeased('d.id')}
        AND d.created_at <= @cutoff AND d.event_type NOT LIKE 'hookrelay.%')`,
  };
}

/** A row of OPERATIONAL_SQL.failedDelivery. */
export interface FailedDeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  attempts: number | string;
  last_status_code: number | null;
  last_error: string | null;
}

/** A row of OPERATIONAL_SQL.takeFailureReports. */
export interface FailureReportRow {
  delivery_id: string;
  failed_at: number | string;
}

/** The queued reports a `delivery.failed` lists: the first FAILED_LISTED, oldest first. */
export function listedReports(rows: FailureReportRow[]): string[] {
  return [...rows]
    .sort((a, b) => Number(a.failed_at) - Number(b.failed_at) || (a.delivery_id < b.delivery_id ? -1 : 1))
    .slice(0, FAILED_LISTED)
    .map((r) => r.delivery_id);
}

/** The `delivery.failed` occurrence of taken reports and the listed deliveries' rows. */
export function failedOccurrence(subscriptionId: string, count: number, rows: (FailedDeliveryRow | undefined)[]): OperationalOccurrence {
  const deliveries: FailedDeliveryFacts[] = rows
    .filter((r): r is FailedDeliveryRow => r !== undefined)
    .map((r) => ({
      id: r.id,
      eventId: r.event_id,
      eventType: r.event_type,
      attempts: Number(r.attempts),
      lastStatus: r.last_status_code === null ? null : Number(r.last_status_code),
      lastError: r.last_error,
    }));
  return { type: 'hookrelay.delivery.failed', subscriptionId, count, deliveries };
}
