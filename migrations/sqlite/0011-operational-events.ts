import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Operational events (SPEC 12). Numbered 0011: 0008-0010 belong to branches built alongside.
 *
 * subscription_state gains the flags that make each occurrence happen once, however many writers:
 * every emission is decided by a guarded update of one of them (`… WHERE failing_announced = 0`).
 * - failing_announced: a `hookrelay.subscription.failing` was sent and no success followed yet.
 * - backlog_announced: a `hookrelay.backlog.delayed` was sent and the backlog has not caught up since.
 * - failures_reported_at: when the last `hookrelay.delivery.failed` went out (one a minute at most).
 * failure_reports holds deliveries that failed for good and were not reported yet (a delivery
 * failing again before its report is kept once).
 */
const statements = [
  `ALTER TABLE subscription_state ADD COLUMN failing_announced INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE subscription_state ADD COLUMN backlog_announced INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE subscription_state ADD COLUMN failures_reported_at INTEGER`,
  `CREATE TABLE failure_reports (
    delivery_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    failed_at INTEGER NOT NULL
  ) STRICT`,
  `CREATE INDEX failure_reports_subscription ON failure_reports (subscription_id, failed_at)`,
  // A subscription deleted or erased with its state leaves no report behind (nor a state row made again by one).
  `CREATE TRIGGER subscription_state_forget_reports AFTER DELETE ON subscription_state
    BEGIN DELETE FROM failure_reports WHERE subscription_id = OLD.id; END`,
];

/** Flags and the pending-report table of operational events. */
export const operationalEvents: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of [
      'DROP TRIGGER IF EXISTS subscription_state_forget_reports',
      'DROP TABLE IF EXISTS failure_reports',
      'ALTER TABLE subscription_state DROP COLUMN failures_reported_at',
      'ALTER TABLE subscription_state DROP COLUMN backlog_announced',
      'ALTER TABLE subscription_state DROP COLUMN failing_announced',
    ]) {
      await sql.raw(statement).execute(db);
    }
  },
};
